/** GET /api/imports/{id}: the job, with asyncOperationId, state, statusCode (30/31/32 once known) and message. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { answerHttp } from '../shared/errors';
import { getImport } from '../shared/jobs/jobTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function importsHttpGet(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, (log) =>
    answerHttp(log, async () => ({ status: 200, jsonBody: await getImport(getApp().jobs, request.params.id ?? '') })),
  );
}

app.http('importsHttpGet', { methods: ['GET'], route: 'imports/{id}', authLevel: 'function', handler: importsHttpGet });
