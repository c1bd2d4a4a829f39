/** GET /api/loads/{id}: the load record with counts, status, timings, throttling counts and links. */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getLoad, LoadRequestError } from '../shared/loads/loadApi';
import { getLoadContext } from '../shared/loads/loadRuntime';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function loadsHttpGet(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, async () => {
    try {
      return { status: 200, jsonBody: await getLoad(getLoadContext(), request.params.id ?? '') };
    } catch (error) {
      if (error instanceof LoadRequestError)
        return { status: error.status, jsonBody: { error: { code: error.code, message: error.message } } };
      throw error;
    }
  });
}

app.http('loadsHttpGet', { methods: ['GET'], route: 'loads/{id}', authLevel: 'function', handler: loadsHttpGet });
