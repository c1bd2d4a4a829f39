/**
 * What the job functions call with their trigger input: POST /api/imports bodies, GET/cancel by id, the job
 * list's query, `dataverse-async` queue items, dropped solution zips. Inputs are checked here (sizes, ids,
 * blob names, schemas) so the function files are binding glue only.
 */
import { z } from 'zod';
import {
  ConflictError,
  InvalidRequestError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '../errors';
import { decodeQueueMessage } from '../events/jobEvents';
import { addLogFields } from '../observability/logScope';
import { readBounded, type RequestBody } from '../security/bodyLimit';
import {
  checkBlobName,
  checkQueueMessageSize,
  excerpt,
  InputRejectedError,
  jobIdSchema,
} from '../security/inputChecks';
import {
  classifyImportBody,
  correlationIdSchema,
  httpUploadPrefix,
  isDroppedSolution,
  jobView,
  optionsFromStrings,
  type JobView,
} from './importRequest';
import { advanceLane } from './jobLane';
import { receiveDroppedRelease, releaseDropPrefix } from './releaseTriggers';
import { SolutionPackageError } from './solutionPackage';
import type { AcceptResult } from './jobAcceptance';
import type { JobRuntime } from './jobRuntime';

export interface ImportSubmission {
  contentType?: string;
  /**
   * The body: whole, or its pieces as they arrive (the HTTP request's stream). Pieces are read only after the
   * announced length passed the limit, and reading stops as soon as the body passes IMPORTS_MAX_BODY_BYTES.
   */
  body: RequestBody;
  /** Content-Length: a body announced over IMPORTS_MAX_BODY_BYTES is refused before it is read. */
  declaredLength?: number;
  query: Record<string, string>;
  /** x-correlation-id header. */
  correlationId?: string;
  /** Origin of the request URL, for the absolute status URL. */
  origin: string;
  newId?: () => string;
}

export type ImportSubmissionResult = { id: string; statusUrl: string; childIds?: string[] };

/**
 * POST /api/imports: stores an uploaded zip, records the job (so the status URL answers at once), queues it.
 * A request that cannot be accepted throws an error of the family (400, 413, 415).
 */
export async function submitImport(runtime: JobRuntime, request: ImportSubmission): Promise<ImportSubmissionResult> {
  if (request.correlationId !== undefined && !correlationIdSchema.safeParse(request.correlationId).success) {
    throw new InvalidRequestError(
      'InvalidImportRequest',
      'x-correlation-id: expected at most 200 printable ASCII characters',
    );
  }
  const max = runtime.maxImportBodyBytes;
  if (request.declaredLength !== undefined && request.declaredLength > max)
    throw new PayloadTooLargeError(
      'InvalidImportRequest',
      `The body is ${request.declaredLength} bytes, over the limit of ${max} (IMPORTS_MAX_BODY_BYTES).`,
    );
  // Held in memory (bounded by the limit): the body is classified (zip or JSON) and JSON parsed from its bytes.
  const bytes = await readBounded(
    request.body,
    max,
    () =>
      new PayloadTooLargeError(
        'InvalidImportRequest',
        `The body is larger than the limit of ${max} bytes (IMPORTS_MAX_BODY_BYTES).`,
      ),
  );
  const body = classifyImportBody(request.contentType, bytes, request.query, max);
  if (body.kind === 'invalid') {
    if (body.status === 413)
      throw new PayloadTooLargeError('InvalidImportRequest', `${body.reason} (IMPORTS_MAX_BODY_BYTES)`);
    if (body.status === 415) throw new UnsupportedMediaTypeError('InvalidImportRequest', body.reason);
    throw new InvalidRequestError('InvalidImportRequest', body.reason);
  }
  const id = (request.newId ?? runtime.context.newId)();
  addLogFields({ jobId: id });
  let message: Record<string, unknown>;
  if (body.kind === 'zip') {
    const name = `${httpUploadPrefix}${id}.zip`;
    await runtime.solutions.upload(name, body.bytes);
    message = {
      kind: 'ImportSolution',
      solution: { container: runtime.names.solutionsContainer, name },
      ...body.options,
    };
  } else {
    message = body.message;
  }
  message.jobId = id;
  const statusUrl = `${request.origin}/api/imports/${id}`;
  // An invalid request is refused here rather than queued; the rejected job stays readable at its status URL.
  const accepted = await runtime.accept(
    message,
    { defaultJobId: id, source: 'http', ...(request.correlationId ? { correlationId: request.correlationId } : {}) },
    { advance: false },
  );
  if (accepted.state === 'rejected')
    throw new InvalidRequestError(
      'InvalidImportRequest',
      `${accepted.reason ?? 'rejected'} (recorded as rejected job ${id}: ${statusUrl})`,
      { details: { id, statusUrl } },
    );
  await runtime.queueJobMessage(message);
  runtime.context.log?.info('Import accepted', {
    jobId: id,
    kind: typeof message.kind === 'string' ? message.kind : 'Batch',
    correlationId: request.correlationId,
  });
  return { id, statusUrl, ...(accepted.childIds ? { childIds: accepted.childIds } : {}) };
}

function checkJobId(id: string): void {
  if (!jobIdSchema.safeParse(id).success)
    throw new InvalidRequestError(
      'InvalidJobId',
      `${excerpt(id)} is not a job id (letters, digits, '.', '_' and '-', at most 100)`,
    );
}

/** GET /api/imports/{id}: the job, or a 400 / 404 error. */
export async function getImport(runtime: JobRuntime, id: string): Promise<JobView> {
  checkJobId(id);
  const job = await runtime.getJob(id);
  if (!job) throw new NotFoundError('JobNotFound', `No job '${id}'.`);
  return jobView(job);
}

/** POST /api/imports/{id}/cancel: 200 canceled here, 202 cancel requested in Dataverse; 400 / 404 / 409 errors. */
export async function cancelImport(runtime: JobRuntime, id: string): Promise<{ status: 200 | 202; job: JobView }> {
  checkJobId(id);
  addLogFields({ jobId: id });
  const result = await runtime.cancel(id);
  switch (result.kind) {
    case 'notFound':
      throw new NotFoundError('JobNotFound', `No job '${id}'.`);
    case 'alreadyEnded':
      throw new ConflictError('JobEnded', `The job has ended (${result.job.state}).`);
    case 'canceled':
      return { status: 200, job: jobView(result.job) };
    case 'cancelRequested':
      return { status: 202, job: jobView(result.job) };
  }
}

export const jobListQuerySchema = z.strictObject({
  pageSize: z
    .string()
    .regex(/^\d{1,4}$/, 'an integer from 1 to 1000')
    .transform(Number)
    .pipe(z.number().int().min(1, 'an integer from 1 to 1000').max(1000, 'an integer from 1 to 1000'))
    .optional(),
  state: z
    .string()
    .regex(/^[A-Za-z]{1,20}$/, 'a job state (letters)')
    .optional(),
  continuationToken: z
    .string()
    .max(2048)
    .regex(/^[A-Za-z0-9+/=_\-.:~]*$/, 'the continuationToken of a previous page')
    .optional(),
});

/** GET /api/jobs?state=&pageSize=&continuationToken= */
export async function listJobsPage(runtime: JobRuntime, query: Record<string, string>, url: string) {
  const parsed = jobListQuerySchema.safeParse(query);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    const message =
      first.code === 'unrecognized_keys'
        ? `unknown query parameter(s) ${first.keys.join(', ')} (known: state, pageSize, continuationToken)`
        : `${first.path.join('.')}: ${first.message}`;
    throw new InvalidRequestError(first.path[0] === 'pageSize' ? 'InvalidPageSize' : 'InvalidQuery', message);
  }
  const { pageSize = 50, state, continuationToken } = parsed.data;
  const page = await runtime.listJobs({
    pageSize,
    ...(state ? { state } : {}),
    ...(continuationToken ? { continuationToken } : {}),
  });
  if (!page.continuationToken) return { items: page.items };
  const next = new URL(url);
  next.searchParams.set('continuationToken', page.continuationToken);
  return { items: page.items, continuationToken: page.continuationToken, nextLink: next.toString() };
}

/**
 * One `dataverse-async` delivery: records the job(s) (idempotent; a storage failure throws so the message is
 * retried), then submits when the lane is free. An invalid message is recorded as a rejected job with the reason.
 */
export async function receiveAsyncOperationMessage(
  runtime: JobRuntime,
  item: unknown,
  meta: { messageId: string },
): Promise<AcceptResult> {
  try {
    checkQueueMessageSize(item, 'dataverse-async');
  } catch (error) {
    // Not recorded: nothing in it can be trusted, not even a job id. Dropped with the reason.
    const reason = (error as Error).message;
    runtime.context.log?.error?.('Queue message rejected and dropped', {
      code: 'MessageTooLarge',
      messageId: meta.messageId,
      reason,
    });
    return { jobId: meta.messageId, state: 'rejected', created: false, reason };
  }
  let raw: unknown = item;
  if (typeof item === 'string') {
    try {
      raw = decodeQueueMessage(item);
    } catch {
      raw = item; // not JSON: recorded as rejected with the reason
    }
  }
  const result = await runtime.accept(raw, { defaultJobId: meta.messageId, source: 'queue' }, { advance: false });
  addLogFields({ jobId: result.jobId });
  runtime.context.log?.info(`Job ${result.state}`, {
    jobId: result.jobId,
    created: result.created,
    reason: result.reason,
    childIds: result.childIds,
  });
  // The job is recorded: a failed submit must not burn the message's dequeue count; the poller tries again.
  await advanceLane(runtime.context).catch((error: unknown) =>
    runtime.context.log?.warn('Submission deferred to the poller', { jobId: result.jobId, error }),
  );
  return result;
}

export type DroppedSolutionResult =
  | { kind: 'ignored'; reason: string }
  | { kind: 'rejected'; code: string; reason: string }
  | { kind: 'queued'; name: string };

/** Sidecar options JSON: at most 1 MiB. */
const maxSidecarBytes = 1024 * 1024;

/**
 * A zip dropped in `solutions/`: options from blob metadata (keys named like the message fields, any case) or
 * from a sidecar `<name>.json` (which wins), then an ImportSolution message. The message is validated when
 * the queue trigger records it; blob metadata and the sidecar are only read here.
 */
export async function receiveDroppedSolution(runtime: JobRuntime, name: string): Promise<DroppedSolutionResult> {
  try {
    checkBlobName(name, 'the solution blob name', { maxSegments: 8 });
  } catch (error) {
    if (!(error instanceof InputRejectedError)) throw error;
    runtime.context.log?.warn('Dropped solution rejected', { code: error.code, reason: error.message });
    return { kind: 'rejected', code: error.code, reason: error.message };
  }
  if (name.startsWith(releaseDropPrefix)) {
    const release = await receiveDroppedRelease(runtime, name);
    if (release.kind === 'ignored') return { kind: 'ignored', reason: 'not a release (.zip or .json)' };
    return release.kind === 'rejected'
      ? { kind: 'rejected', code: 'ReleaseRejected', reason: release.reason ?? 'rejected' }
      : { kind: 'queued', name };
  }
  if (!isDroppedSolution(name)) return { kind: 'ignored', reason: 'not a .zip, or uploaded by POST /api/imports' };
  const metadata = blobMetadataSchema.safeParse(await runtime.solutions.metadata(name));
  if (!metadata.success) {
    const reason = `blob metadata: ${metadata.error.issues[0]!.message}`;
    runtime.context.log?.warn('Dropped solution rejected', { code: 'InvalidBlobMetadata', blob: name, reason });
    return { kind: 'rejected', code: 'InvalidBlobMetadata', reason };
  }
  let sidecar: Record<string, unknown> = {};
  let parsed: unknown;
  try {
    const bytes = await runtime.solutions.readIfExists(`${name.replace(/\.zip$/i, '')}.json`, maxSidecarBytes);
    if (bytes)
      parsed = JSON.parse(
        Buffer.from(bytes)
          .toString('utf8')
          .replace(/^\uFEFF/, ''),
      );
  } catch (error) {
    if (!(error instanceof SyntaxError || error instanceof SolutionPackageError)) throw error;
    const reason = `the sidecar options file cannot be used: ${error.message}`;
    runtime.context.log?.warn('Dropped solution rejected', { code: 'InvalidSidecar', blob: name, reason });
    return { kind: 'rejected', code: 'InvalidSidecar', reason };
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
    sidecar = parsed as Record<string, unknown>;
  const message = {
    kind: 'ImportSolution',
    ...optionsFromStrings(metadata.data),
    ...sidecar,
    solution: { container: runtime.names.solutionsContainer, name },
  };
  await runtime.queueJobMessage(message);
  runtime.context.log?.info('Dropped solution queued for import', { blob: name });
  return { kind: 'queued', name };
}

/** Blob metadata of a dropped zip: at most 64 pairs (Azure caps metadata at 8 KiB), short printable values. */
export const blobMetadataSchema = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'keys are C# identifiers of at most 64 characters'),
    z
      .string()
      .max(1024, 'values are at most 1024 characters')
      // eslint-disable-next-line no-control-regex -- the point is to refuse control characters
      .regex(/^[^\u0000-\u001f]*$/, 'values have no control characters'),
  )
  .refine((m) => Object.keys(m).length <= 64, 'at most 64 metadata entries');
