/** POST /api/imports: a solution zip, or JSON (blob reference, one operation or a list) → 202 { id, statusUrl }. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { answerHttp } from '../shared/errors';
import { correlationIdOf, uploadOf } from './httpUpload';
import { submitImport } from '../shared/jobs/jobTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function importsHttpPost(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, (log) =>
    answerHttp(log, async () => {
      const accepted = await submitImport(getApp().jobs, {
        ...uploadOf(request),
        query: Object.fromEntries(request.query.entries()),
        origin: new URL(request.url).origin,
        ...correlationIdOf(request),
      });
      return { status: 202, headers: { location: accepted.statusUrl }, jsonBody: accepted };
    }),
  );
}

app.http('importsHttpPost', { methods: ['POST'], route: 'imports', authLevel: 'function', handler: importsHttpPost });
