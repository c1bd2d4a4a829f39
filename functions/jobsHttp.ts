/** GET /api/jobs?state=&pageSize=&continuationToken=: loads and jobs, newest first, paged. */
import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { getJobRuntime } from '../shared/jobs/jobRuntimeFromSettings';

export async function jobsHttp(request: HttpRequest): Promise<HttpResponseInit> {
  const pageSizeText = request.query.get('pageSize');
  const pageSize = pageSizeText ? Number(pageSizeText) : 50;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    return { status: 400, jsonBody: { error: { code: 'InvalidPageSize', message: 'pageSize: expected an integer from 1 to 1000' } } };
  }
  const state = request.query.get('state') ?? undefined;
  const continuationToken = request.query.get('continuationToken') ?? undefined;
  const page = await getJobRuntime().listJobs({ pageSize, ...(state ? { state } : {}), ...(continuationToken ? { continuationToken } : {}) });
  const next = page.continuationToken ? new URL(request.url) : undefined;
  next?.searchParams.set('continuationToken', page.continuationToken!);
  return { status: 200, jsonBody: { items: page.items, ...(page.continuationToken ? { continuationToken: page.continuationToken, nextLink: next!.toString() } : {}) } };
}

app.http('jobsHttp', { methods: ['GET'], route: 'jobs', authLevel: 'function', handler: jobsHttp });
