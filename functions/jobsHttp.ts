/** GET /api/jobs?state=&pageSize=&continuationToken=: loads and jobs, newest first, paged. */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getJobRuntime } from '../shared/jobs/jobRuntimeFromSettings';
import { listJobsPage } from '../shared/jobs/jobTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function jobsHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, async () => {
    const result = await listJobsPage(getJobRuntime(), Object.fromEntries(request.query.entries()), request.url);
    if (result.kind === 'error')
      return {
        status: result.error.status,
        jsonBody: { error: { code: result.error.code, message: result.error.message } },
      };
    return { status: 200, jsonBody: result.body };
  });
}

app.http('jobsHttp', { methods: ['GET'], route: 'jobs', authLevel: 'function', handler: jobsHttp });
