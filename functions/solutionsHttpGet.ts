/** GET /api/solutions/{uniqueName}: the installed solution (version, managed), its holding solution, a half-done upgrade. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { answerHttp } from '../shared/errors';
import { getSolution } from '../shared/jobs/releaseTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function solutionsHttpGet(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, (log) =>
    answerHttp(log, async () => ({
      status: 200,
      jsonBody: await getSolution(getApp().jobs, request.params.uniqueName ?? ''),
    })),
  );
}

app.http('solutionsHttpGet', {
  methods: ['GET'],
  route: 'solutions/{uniqueName}',
  authLevel: 'function',
  handler: solutionsHttpGet,
});
