/** GET /api/loads/{id}: the load record with counts, status, timings, throttling counts and links. */
import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { getLoad, LoadRequestError } from '../shared/loads/loadApi';
import { getLoadContext } from '../shared/loads/loadRuntime';

function errorResponse(error: unknown): HttpResponseInit {
  if (error instanceof LoadRequestError) return { status: error.status, jsonBody: { error: { code: error.code, message: error.message } } };
  throw error;
}

export async function loadsHttpGet(request: HttpRequest): Promise<HttpResponseInit> {
  try {
    return { status: 200, jsonBody: await getLoad(getLoadContext(), request.params.id ?? '') };
  } catch (error) {
    return errorResponse(error);
  }
}

app.http('loadsHttpGet', { methods: ['GET'], route: 'loads/{id}', authLevel: 'function', handler: loadsHttpGet });
