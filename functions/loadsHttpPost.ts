/**
 * POST /api/loads/{table}: the body is the file (Content-Type or ?format= picks the format), the query sets
 * operation, key, continueOnError, returnResponses → 202 { id, statusUrl }. The file goes where a drop would
 * (incoming/{table}/<id>.<ext>), so both start the same way. The body streams into the blob as it arrives.
 */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { answerHttp } from '../shared/errors';
import { contentEncodingOf, uploadOf } from './httpUpload';
import { submitLoad } from '../shared/loads/loadApi';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function loadsHttpPost(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, async (log) =>
    answerHttp(log, async () => {
      const accepted = await submitLoad(getApp().loads, {
        table: request.params.table ?? '',
        query: Object.fromEntries(request.query.entries()),
        ...uploadOf(request),
        ...contentEncodingOf(request),
      });
      return { status: 202, headers: { location: accepted.statusUrl }, jsonBody: accepted };
    }),
  );
}

app.http('loadsHttpPost', { methods: ['POST'], route: 'loads/{table}', authLevel: 'function', handler: loadsHttpPost });
