/** GET /api/plans/{id}: the plan's status, the order chosen and why, and its tables' loads with their counts. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { answerHttp } from '../shared/errors';
import { getPlan } from '../shared/planLoads/planApi';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function plansHttpGet(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, async (log) =>
    answerHttp(log, async () => ({ status: 200, jsonBody: await getPlan(getApp().plans, request.params.id ?? '') })),
  );
}

app.http('plansHttpGet', { methods: ['GET'], route: 'plans/{id}', authLevel: 'function', handler: plansHttpGet });
