/** GET /api/imports/{id}: the job, with asyncOperationId, state, statusCode (30/31/32 once known) and message. */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getJobRuntime } from '../shared/jobs/jobRuntimeFromSettings';
import { getImport } from '../shared/jobs/jobTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function importsHttpGet(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, async () => {
    const result = await getImport(getJobRuntime(), request.params.id ?? '');
    if (result.kind === 'error')
      return {
        status: result.error.status,
        jsonBody: { error: { code: result.error.code, message: result.error.message } },
      };
    return { status: 200, jsonBody: result.job };
  });
}

app.http('importsHttpGet', { methods: ['GET'], route: 'imports/{id}', authLevel: 'function', handler: importsHttpGet });
