/**
 * POST /api/plans: the body is a plan, a zip of files (one per table, optional plan.json) or an .xlsx workbook
 * (one sheet per table); Content-Type or ?format=zip|xlsx says which → 202 { id, statusUrl }. The body streams to
 * incoming/_plans/<id>.<ext>, where a dropped plan goes, so both start the same way.
 */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { answerHttp } from '../shared/errors';
import { uploadOf } from './httpUpload';
import { submitPlan } from '../shared/planLoads/planApi';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function plansHttpPost(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, async (log) =>
    answerHttp(log, async () => {
      const accepted = await submitPlan(getApp().plans, {
        query: Object.fromEntries(request.query.entries()),
        ...uploadOf(request),
      });
      return { status: 202, headers: { location: accepted.statusUrl }, jsonBody: accepted };
    }),
  );
}

app.http('plansHttpPost', { methods: ['POST'], route: 'plans', authLevel: 'function', handler: plansHttpPost });
