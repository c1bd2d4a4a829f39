/** POST /api/imports/{id}/cancel: queued → canceled here; submitted/running → canceled in Dataverse (statuscode 32). */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { answerHttp } from '../shared/errors';
import { cancelImport } from '../shared/jobs/jobTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function importsHttpCancel(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, (log) =>
    answerHttp(log, async () => {
      const result = await cancelImport(getApp().jobs, request.params.id ?? '');
      return { status: result.status, jsonBody: result.job };
    }),
  );
}

app.http('importsHttpCancel', {
  methods: ['POST'],
  route: 'imports/{id}/cancel',
  authLevel: 'function',
  handler: importsHttpCancel,
});
