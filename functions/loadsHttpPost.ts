/**
 * POST /api/loads/{table}: the body is the file (Content-Type or ?format= picks the format), the query sets
 * operation, key, continueOnError, returnResponses → 202 { id, statusUrl }. The file goes where a drop would
 * (incoming/{table}/<id>.<ext>), so both start the same way.
 */
import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { LoadRequestError, submitLoad } from '../shared/loads/loadApi';
import { getLoadContext } from '../shared/loads/loadRuntime';

function errorResponse(error: unknown): HttpResponseInit {
  if (error instanceof LoadRequestError) return { status: error.status, jsonBody: { error: { code: error.code, message: error.message } } };
  throw error;
}

export async function loadsHttpPost(request: HttpRequest): Promise<HttpResponseInit> {
  try {
    const body = Buffer.from(await request.arrayBuffer());
    const query = Object.fromEntries(request.query.entries());
    const accepted = await submitLoad(getLoadContext(), {
      table: request.params.table ?? '',
      query,
      body,
      ...(request.headers.get('content-type') ? { contentType: request.headers.get('content-type')! } : {}),
      ...(request.headers.get('content-encoding') ? { contentEncoding: request.headers.get('content-encoding')! } : {}),
    });
    return { status: 202, headers: { location: accepted.statusUrl }, jsonBody: accepted };
  } catch (error) {
    return errorResponse(error);
  }
}

app.http('loadsHttpPost', { methods: ['POST'], route: 'loads/{table}', authLevel: 'function', handler: loadsHttpPost });
