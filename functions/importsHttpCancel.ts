/** POST /api/imports/{id}/cancel: queued → canceled here; submitted/running → canceled in Dataverse (statuscode 32). */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getJobRuntime } from '../shared/jobs/jobRuntimeFromSettings';
import { cancelImport } from '../shared/jobs/jobTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function importsHttpCancel(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, async () => {
    const result = await cancelImport(getJobRuntime(), request.params.id ?? '');
    if ('error' in result) {
      return {
        status: result.status,
        jsonBody: {
          error: { code: result.error.code, message: result.error.message },
          ...('job' in result ? { job: result.job } : {}),
        },
      };
    }
    return { status: result.status, jsonBody: result.job };
  });
}

app.http('importsHttpCancel', {
  methods: ['POST'],
  route: 'imports/{id}/cancel',
  authLevel: 'function',
  handler: importsHttpCancel,
});
