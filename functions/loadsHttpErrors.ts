/** GET /api/loads/{id}/errors: the load's failures grouped by code and column, largest group first. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { answerHttp } from '../shared/errors';
import { loadErrors } from '../shared/loads/loadRowsApi';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function loadsHttpErrors(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, (log) =>
    answerHttp(log, async () => ({ status: 200, jsonBody: await loadErrors(getApp().loads, request.params.id ?? '') })),
  );
}

app.http('loadsHttpErrors', {
  methods: ['GET'],
  route: 'loads/{id}/errors',
  authLevel: 'function',
  handler: loadsHttpErrors,
});
