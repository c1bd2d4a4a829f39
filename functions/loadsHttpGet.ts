/** GET /api/loads/{id}: the load record with counts, status, timings, throttling counts and links. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { answerHttp } from '../shared/errors';
import { getLoad } from '../shared/loads/loadApi';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function loadsHttpGet(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, async (log) => {
    return answerHttp(log, async () => ({
      status: 200,
      jsonBody: await getLoad(getApp().loads, request.params.id ?? ''),
    }));
  });
}

app.http('loadsHttpGet', { methods: ['GET'], route: 'loads/{id}', authLevel: 'function', handler: loadsHttpGet });
