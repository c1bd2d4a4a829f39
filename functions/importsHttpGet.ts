/** GET /api/imports/{id}: the job, with asyncOperationId, state, statusCode (30/31/32 once known) and message. */
import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { jobView } from '../shared/jobs/importRequest';
import { getJobRuntime } from '../shared/jobs/jobRuntimeFromSettings';

export async function importsHttpGet(request: HttpRequest): Promise<HttpResponseInit> {
  const job = await getJobRuntime().getJob(request.params.id ?? '');
  if (!job) return { status: 404, jsonBody: { error: { code: 'JobNotFound', message: `No job '${request.params.id}'.` } } };
  return { status: 200, jsonBody: jobView(job) };
}

app.http('importsHttpGet', { methods: ['GET'], route: 'imports/{id}', authLevel: 'function', handler: importsHttpGet });
