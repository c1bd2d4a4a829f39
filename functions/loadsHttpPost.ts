/**
 * POST /api/loads/{table}: the body is the file (Content-Type or ?format= picks the format), the query sets
 * operation, key, continueOnError, returnResponses → 202 { id, statusUrl }. The file goes where a drop would
 * (incoming/{table}/<id>.<ext>), so both start the same way.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { LoadRequestError, submitLoad } from '../shared/loads/loadApi';
import { getLoadContext } from '../shared/loads/loadRuntime';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function loadsHttpPost(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, async () => {
    try {
      const accepted = await submitLoad(getLoadContext(), {
        table: request.params.table ?? '',
        query: Object.fromEntries(request.query.entries()),
        body: async () => Buffer.from(await request.arrayBuffer()),
        ...(request.headers.get('content-length')
          ? { declaredLength: Number(request.headers.get('content-length')) }
          : {}),
        ...(request.headers.get('content-type') ? { contentType: request.headers.get('content-type')! } : {}),
        ...(request.headers.get('content-encoding')
          ? { contentEncoding: request.headers.get('content-encoding')! }
          : {}),
      });
      return { status: 202, headers: { location: accepted.statusUrl }, jsonBody: accepted };
    } catch (error) {
      if (error instanceof LoadRequestError)
        return { status: error.status, jsonBody: { error: { code: error.code, message: error.message } } };
      throw error;
    }
  });
}

app.http('loadsHttpPost', { methods: ['POST'], route: 'loads/{table}', authLevel: 'function', handler: loadsHttpPost });
