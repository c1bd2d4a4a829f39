/** GET /api/loads/{id}/failed-rows: the failed-rows file in the load's input format, streamed as a download. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { answerHttp } from '../shared/errors';
import { downloadFailedRows } from '../shared/loads/loadRowsApi';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function loadsHttpFailedRows(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, (log) =>
    answerHttp(log, async () => {
      const file = await downloadFailedRows(getApp().loads, request.params.id ?? '');
      return {
        status: 200,
        headers: {
          'content-type': file.contentType,
          'content-disposition': `attachment; filename="${file.fileName}"`,
        },
        body: file.body,
      };
    }),
  );
}

app.http('loadsHttpFailedRows', {
  methods: ['GET'],
  route: 'loads/{id}/failed-rows',
  authLevel: 'function',
  handler: loadsHttpFailedRows,
});
