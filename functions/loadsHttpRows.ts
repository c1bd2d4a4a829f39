/** GET /api/loads/{id}/rows?state=failed&pageSize=&continuationToken=: a page of the load's failed rows. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { answerHttp } from '../shared/errors';
import { listLoadRows } from '../shared/loads/loadRowsApi';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function loadsHttpRows(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, (log) =>
    answerHttp(log, async () => ({
      status: 200,
      jsonBody: await listLoadRows(
        getApp().loads,
        request.params.id ?? '',
        Object.fromEntries(request.query.entries()),
        request.url,
      ),
    })),
  );
}

app.http('loadsHttpRows', {
  methods: ['GET'],
  route: 'loads/{id}/rows',
  authLevel: 'function',
  handler: loadsHttpRows,
});
