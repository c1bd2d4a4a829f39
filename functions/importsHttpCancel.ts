/** POST /api/imports/{id}/cancel: queued → canceled here; submitted/running → canceled in Dataverse (statuscode 32). */
import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { jobView } from '../shared/jobs/importRequest';
import { getJobRuntime } from '../shared/jobs/jobRuntimeFromSettings';

export async function importsHttpCancel(request: HttpRequest): Promise<HttpResponseInit> {
  const result = await getJobRuntime().cancel(request.params.id ?? '');
  switch (result.kind) {
    case 'notFound':
      return { status: 404, jsonBody: { error: { code: 'JobNotFound', message: `No job '${request.params.id}'.` } } };
    case 'alreadyEnded':
      return { status: 409, jsonBody: { error: { code: 'JobEnded', message: `The job has ended (${result.job.state}).` }, job: jobView(result.job) } };
    case 'canceled':
      return { status: 200, jsonBody: jobView(result.job) };
    case 'cancelRequested':
      return { status: 202, jsonBody: jobView(result.job) };
  }
}

app.http('importsHttpCancel', { methods: ['POST'], route: 'imports/{id}/cancel', authLevel: 'function', handler: importsHttpCancel });
