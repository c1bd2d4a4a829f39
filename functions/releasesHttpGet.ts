/** GET /api/releases/{id}: the release, each solution's decision, state, times and failure reason. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { answerHttp } from '../shared/errors';
import { getRelease } from '../shared/jobs/releaseTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function releasesHttpGet(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, (log) =>
    answerHttp(log, async () => ({ status: 200, jsonBody: await getRelease(getApp().jobs, request.params.id ?? '') })),
  );
}

app.http('releasesHttpGet', {
  methods: ['GET'],
  route: 'releases/{id}',
  authLevel: 'function',
  handler: releasesHttpGet,
});
