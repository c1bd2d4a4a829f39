/**
 * POST /api/loads/{id}/retry: a new load (retryOf the first) of the load's failed rows, or of the corrected
 * failed-rows file sent as the body → 202 { id, statusUrl }.
 */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { answerHttp } from '../shared/errors';
import { contentEncodingOf, uploadOf } from './httpUpload';
import { retryLoad } from '../shared/loads/loadRetry';
import { withInvocationLog } from '../shared/observability/invocationLog';

/** A body is sent when it has a length or comes chunked; a Content-Type alone (an empty POST) is no body. */
function hasBody(request: HttpRequest): boolean {
  const length = request.headers.get('content-length');
  return (length !== null && Number(length) > 0) || request.headers.has('transfer-encoding');
}

export function loadsHttpRetry(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, async (log) =>
    answerHttp(log, async () => {
      const { body, ...headers } = uploadOf(request);
      const accepted = await retryLoad(getApp().loads, request.params.id ?? '', {
        ...(hasBody(request) ? { body } : {}),
        ...headers,
        ...contentEncodingOf(request),
      });
      return { status: 202, headers: { location: accepted.statusUrl }, jsonBody: accepted };
    }),
  );
}

app.http('loadsHttpRetry', {
  methods: ['POST'],
  route: 'loads/{id}/retry',
  authLevel: 'function',
  handler: loadsHttpRetry,
});
