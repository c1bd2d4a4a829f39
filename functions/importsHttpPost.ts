/** POST /api/imports: a solution zip, or JSON (blob reference, one operation or a list) → 202 { id, statusUrl }. */
import { randomUUID } from 'node:crypto';
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { encodeQueueMessage } from '../shared/events/jobEvents';
import { classifyImportBody, httpUploadPrefix } from '../shared/jobs/importRequest';
import { getJobRuntime } from '../shared/jobs/jobRuntimeFromSettings';

const maxBodyBytes = Number(process.env.IMPORTS_MAX_BODY_BYTES || 100 * 1024 * 1024);

export async function importsHttpPost(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const runtime = getJobRuntime();
  const bytes = new Uint8Array(await request.arrayBuffer());
  const body = classifyImportBody(request.headers.get('content-type') ?? undefined, bytes, Object.fromEntries(request.query.entries()), maxBodyBytes);
  if (body.kind === 'invalid') return { status: body.status, jsonBody: { error: { code: 'InvalidImportRequest', message: body.reason } } };
  const id = randomUUID();
  let message: Record<string, unknown>;
  if (body.kind === 'zip') {
    const name = `${httpUploadPrefix}${id}.zip`;
    await runtime.solutionsContainer().getBlockBlobClient(name).uploadData(body.bytes, { blobHTTPHeaders: { blobContentType: 'application/zip' } });
    message = { kind: 'ImportSolution', solution: { container: runtime.names.solutionsContainer, name }, ...body.options };
  } else {
    message = body.message;
  }
  message.jobId = id;
  // Recorded now so the status URL answers at once; an invalid request is refused here rather than queued.
  const accepted = await runtime.accept(message, { defaultJobId: id, source: 'http', correlationId: request.headers.get('x-correlation-id') ?? undefined }, { advance: false });
  const statusUrl = `${new URL(request.url).origin}/api/imports/${id}`;
  if (accepted.state === 'rejected') return { status: 400, jsonBody: { id, statusUrl, error: { code: 'InvalidImportRequest', message: accepted.reason } } };
  await runtime.asyncQueue().sendMessage(encodeQueueMessage(message));
  context.log(`import ${id} accepted`);
  return { status: 202, headers: { location: statusUrl }, jsonBody: { id, statusUrl, ...(accepted.childIds ? { childIds: accepted.childIds } : {}) } };
}

app.http('importsHttpPost', { methods: ['POST'], route: 'imports', authLevel: 'function', handler: importsHttpPost });
