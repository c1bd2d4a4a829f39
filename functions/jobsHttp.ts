/** GET /api/jobs?state=&pageSize=&continuationToken=: loads and jobs, newest first, paged. */
import './telemetry'; // first: OpenTelemetry starts before @azure/functions loads
import './httpSetup'; // before any registration: every HTTP function streams
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { answerHttp } from '../shared/errors';
import { listJobsPage } from '../shared/jobs/jobTriggers';
import { withInvocationLog } from '../shared/observability/invocationLog';

export function jobsHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return withInvocationLog(context, (log) =>
    answerHttp(log, async () => ({
      status: 200,
      jsonBody: await listJobsPage(getApp().jobs, Object.fromEntries(request.query.entries()), request.url),
    })),
  );
}

app.http('jobsHttp', { methods: ['GET'], route: 'jobs', authLevel: 'function', handler: jobsHttp });
