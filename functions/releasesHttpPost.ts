/** POST /api/releases: a zip of solution zips, or JSON naming blobs → 202 { id, statusUrl, childIds }. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { answerHttp } from '../shared/errors';
import { correlationIdOf, uploadOf } from './httpUpload';
import { submitRelease } from '../shared/jobs/releaseTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function releasesHttpPost(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, (log) =>
    answerHttp(log, async () => {
      const accepted = await submitRelease(getApp().jobs, {
        ...uploadOf(request),
        query: Object.fromEntries(request.query.entries()),
        origin: new URL(request.url).origin,
        ...correlationIdOf(request),
      });
      return { status: 202, headers: { location: accepted.statusUrl }, jsonBody: accepted };
    }),
  );
}

app.http('releasesHttpPost', {
  methods: ['POST'],
  route: 'releases',
  authLevel: 'function',
  handler: releasesHttpPost,
});
