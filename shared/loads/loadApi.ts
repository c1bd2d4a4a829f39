/**
 * The HTTP face of loads: `POST /api/loads/{table}` puts the body where a drop would go
 * (`incoming/{table}/<id>.<ext>`, the query as blob metadata) after creating the load record `queued`, so an
 * upload and a drop are one path; `GET /api/loads/{id}` shows the load record.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { InvalidRequestError, NotFoundError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors';
import { formatBytes } from '../ingestion/ingestionError';
import { queryToBlobMetadata } from '../ingestion/loadProfile';
import { addLogFields } from '../observability/logScope';
import { limitBytes, type RequestBody } from '../security/bodyLimit';
import { excerpt, loadIdSchema, logicalNamePattern } from '../security/inputChecks';
import { indexLoad, isoAt, PLANS_FOLDER, statusUrlOf, type LoadContext } from './loadContext';
import { isComplete, isTerminal, newLoadRecord, waitsForPlanBinds, type LoadRecord } from './loadRecord';
import { progressOf, type ProgressView } from './loadProgress';

const tableNameSchema = z.string().regex(logicalNamePattern, 'a table logical name (letters, digits, underscores)');

export const submitQuerySchema = z.strictObject({
  operation: z.string().optional(),
  key: z.string().optional(),
  alternateKey: z.string().optional(),
  continueOnError: z.string().optional(),
  returnResponses: z.string().optional(),
  format: z.enum(['csv', 'tsv', 'json', 'ndjson', 'xlsx']).optional(),
  /** A whole load profile as JSON (what `_profile.json` holds); the scalar parameters above win over it. */
  profile: z.string().optional(),
});

const formatOfContentType: Record<string, BodyFormat> = {
  'text/csv': 'csv',
  'application/csv': 'csv',
  'text/tab-separated-values': 'tsv',
  'application/json': 'json',
  'text/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'application/x-jsonlines': 'ndjson',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
};
const contentTypeOfFormat = {
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
} as const;

export interface SubmitLoadRequest {
  table: string;
  query: Record<string, string>;
  contentType?: string;
  contentEncoding?: string;
  /**
   * The file: whole, or its pieces as they arrive (the HTTP request's stream). Pieces are read only once the
   * request has passed every other check, and stream into the blob: reading stops at LOAD_MAX_FILE_BYTES.
   */
  body: RequestBody;
  /** Content-Length: a body announced over LOAD_MAX_FILE_BYTES is refused before it is read. */
  declaredLength?: number;
}

function tooLarge(bytes: number, max: number, whole: boolean): PayloadTooLargeError {
  // A streamed body is refused as soon as it passes the limit, so its whole size is never known.
  const message = whole
    ? `the file is ${formatBytes(bytes)}, over the ${formatBytes(max)} limit (LOAD_MAX_FILE_BYTES)`
    : `the file is larger than the ${formatBytes(max)} limit (LOAD_MAX_FILE_BYTES)`;
  return new PayloadTooLargeError('FileTooLarge', message, { details: { maxBytes: max } });
}

export async function submitLoad(
  ctx: LoadContext,
  request: SubmitLoadRequest,
): Promise<{ id: string; statusUrl: string }> {
  const table = tableNameSchema.safeParse(request.table);
  if (!table.success)
    throw new InvalidRequestError('InvalidTable', `${excerpt(request.table)} is not ${table.error.issues[0]!.message}`);
  if (table.data === PLANS_FOLDER)
    throw new InvalidRequestError(
      'InvalidTable',
      `'${PLANS_FOLDER}' is the folder of plans: post a plan to /api/plans`,
    );
  const query = submitQuerySchema.safeParse(request.query);
  if (!query.success) {
    throw new InvalidRequestError(
      'InvalidQuery',
      query.error.issues
        .map((i) =>
          i.code === 'unrecognized_keys'
            ? `unknown query parameter(s) ${i.keys.join(', ')} (known: operation, key, continueOnError, returnResponses, format, profile)`
            : `${i.path.join('.')}: ${i.message}`,
        )
        .join('; '),
    );
  }
  const { format: formatParameter, ...profileQuery } = query.data;
  const metadata = queryToBlobMetadata(profileQuery); // an IngestionError (400) names the bad parameter
  const { format, gzip } = bodyFormatOf(request, formatParameter);
  const id = randomUUID();
  addLogFields({ loadId: id });
  await storeUpload(ctx, request, { id, table: table.data, format, gzip, metadata, source: 'http' });
  return { id, statusUrl: statusUrlOf(id) };
}

export type BodyFormat = 'csv' | 'tsv' | 'json' | 'ndjson' | 'xlsx';

/** The body's format from `?format=` or its Content-Type (415 when neither says it), and whether it is gzip. */
export function bodyFormatOf(
  request: Pick<SubmitLoadRequest, 'contentType' | 'contentEncoding'>,
  formatParameter?: BodyFormat,
): { format: BodyFormat; gzip: boolean } {
  const mediaType = (request.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const gzip =
    mediaType === 'application/gzip' ||
    mediaType === 'application/x-gzip' ||
    /gzip/i.test(request.contentEncoding ?? '');
  const format = formatParameter ?? formatOfContentType[mediaType];
  if (!format) {
    throw new UnsupportedMediaTypeError(
      'UnsupportedMediaType',
      `Content-Type '${mediaType || '(none)'}' doesn't say the format: send text/csv, text/tab-separated-values, application/json, application/x-ndjson or an .xlsx workbook's type, or add ?format=csv|tsv|json|ndjson|xlsx`,
    );
  }
  return { format, gzip };
}

export interface UploadTarget {
  id: string;
  table: string;
  format: BodyFormat;
  gzip: boolean;
  metadata: Record<string, string>;
  source: 'http' | 'retry';
  /** More to record on the new load (a retry's link), and work to do before the blob appears. */
  record?: Partial<Pick<LoadRecord, 'retryOf' | 'retryRowsBlob'>>;
  beforeRecord?: () => Promise<void>;
}

/**
 * Streams a body into `incoming/{table}/<id>.<ext>` as staged blocks; the load is recorded and the blob
 * committed only once all of it has arrived within the limit, so a refused or broken upload leaves no load and
 * no blob behind.
 */
export async function storeUpload(
  ctx: LoadContext,
  request: Pick<SubmitLoadRequest, 'body' | 'declaredLength'>,
  target: UploadTarget,
): Promise<void> {
  if (request.declaredLength !== undefined && request.declaredLength > ctx.maxFileBytes)
    throw tooLarge(request.declaredLength, ctx.maxFileBytes, true);
  const whole = request.body instanceof Uint8Array;
  const { id, table, format, gzip } = target;
  const blobName = `${table}/${id}.${format}${gzip ? '.gz' : ''}`;
  const { bytes } = await ctx.blobs.uploadStream(
    ctx.container,
    blobName,
    limitBytes(request.body, ctx.maxFileBytes, (seen) => tooLarge(seen, ctx.maxFileBytes, whole)),
    {
      contentType: gzip ? 'application/gzip' : contentTypeOfFormat[format],
      metadata: { ...target.metadata, loadid: id },
      beforeCommit: async (received) => {
        if (received === 0)
          throw new InvalidRequestError('EmptyFile', 'the body is empty: send the file to load as the request body');
        await target.beforeRecord?.();
        const record: LoadRecord = {
          ...newLoadRecord(
            { id, status: 'queued', table, container: ctx.container, blobName, source: target.source },
            isoAt(ctx.now()),
          ),
          ...target.record,
        };
        await ctx.store.createIfAbsent(record);
        await indexLoad(ctx, record);
      },
    },
  );
  ctx.log?.info('Load accepted', { loadId: id, table, bytes, format, gzip, source: target.source });
}

export interface LoadView {
  id: string;
  status: LoadRecord['status'];
  table: string;
  file: string;
  operation?: string;
  format?: string;
  continueOnError?: boolean;
  returnResponses?: boolean;
  executionMode?: string;
  counts: { total?: number; succeeded: number; failed: number; notProcessed: number; processed: number };
  chunks: { total?: number; done: number };
  stoppedAtRow?: number;
  throttling: { throttled: number; retries: number };
  /**
   * What a running load waits for: `daily request budget` (DATAVERSE_DAILY_REQUEST_BUDGET used up), or, every row
   * written, `plan binds` (a plan's load whose cross-table lookups are bound once its plan releases them).
   */
  waiting?: string;
  /** The environment's rolling 24 h request count against DATAVERSE_DAILY_REQUEST_BUDGET. */
  dailyRequests?: { used: number; budget?: number };
  message?: string;
  errorCode?: string;
  timings: {
    createdAt: string;
    startedAt?: string;
    scanCompletedAt?: string;
    finishedAt?: string;
    updatedAt: string;
    durationSeconds?: number;
    rowsPerSecond?: number;
  };
  /** A retry: the load whose failed rows this one loads. */
  retryOf?: string;
  /** Live progress, from the first planned chunk on (loadProgress.ts). */
  progress?: ProgressView;
  links: {
    self: string;
    rows: string;
    errors: string;
    failedRowsFile: string;
    retry: string;
    failedRows?: { container: string; name: string; url: string };
    results?: { container: string; prefix: string };
    source?: string;
  };
}

export function loadView(ctx: Pick<LoadContext, 'resultsContainer' | 'blobs'>, r: LoadRecord): LoadView {
  const started = r.startedAt ? Date.parse(r.startedAt) : undefined;
  const finished = r.finishedAt ? Date.parse(r.finishedAt) : undefined;
  const durationSeconds =
    started !== undefined && finished !== undefined ? Math.max(0, (finished - started) / 1000) : undefined;
  const processed = r.succeeded + r.failed;
  return {
    id: r.id,
    status: r.status,
    table: r.table,
    file: `${r.container}/${r.blobName}`,
    ...(r.operation ? { operation: r.operation } : {}),
    ...(r.format ? { format: r.format } : {}),
    ...(r.continueOnError !== undefined ? { continueOnError: r.continueOnError } : {}),
    ...(r.returnResponses !== undefined ? { returnResponses: r.returnResponses } : {}),
    ...(r.executionMode ? { executionMode: r.executionMode } : {}),
    counts: {
      ...(r.total !== undefined ? { total: r.total } : {}),
      succeeded: r.succeeded,
      failed: r.failed,
      notProcessed: r.notProcessed,
      processed,
    },
    chunks: { ...(r.chunkCount !== undefined ? { total: r.chunkCount } : {}), done: r.chunksDone },
    ...(r.stoppedAtRow !== undefined ? { stoppedAtRow: r.stoppedAtRow } : {}),
    ...(!isTerminal(r) && isComplete(r) && waitsForPlanBinds(r) ? { waiting: 'plan binds' } : {}),
    throttling: { throttled: r.throttled, retries: r.retries },
    ...(r.message ? { message: r.message } : {}),
    ...(r.errorCode ? { errorCode: r.errorCode } : {}),
    timings: {
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      ...(r.startedAt ? { startedAt: r.startedAt } : {}),
      ...(r.scanCompletedAt ? { scanCompletedAt: r.scanCompletedAt } : {}),
      ...(r.finishedAt ? { finishedAt: r.finishedAt } : {}),
      ...(durationSeconds !== undefined
        ? {
            durationSeconds,
            ...(durationSeconds > 0 ? { rowsPerSecond: Math.round(processed / durationSeconds) } : {}),
          }
        : {}),
    },
    ...(r.retryOf ? { retryOf: r.retryOf } : {}),
    links: {
      self: statusUrlOf(r.id),
      rows: `${statusUrlOf(r.id)}/rows?state=failed`,
      errors: `${statusUrlOf(r.id)}/errors`,
      failedRowsFile: `${statusUrlOf(r.id)}/failed-rows`,
      retry: `${statusUrlOf(r.id)}/retry`,
      ...(r.failedRowsBlob
        ? {
            failedRows: {
              container: ctx.resultsContainer,
              name: r.failedRowsBlob,
              url: ctx.blobs.url(ctx.resultsContainer, r.failedRowsBlob),
            },
          }
        : {}),
      ...(r.resultsPrefix ? { results: { container: ctx.resultsContainer, prefix: r.resultsPrefix } } : {}),
      ...(r.movedTo ? { source: r.movedTo } : {}),
    },
  };
}

/** The load record of a route's `{id}`: 400 when it is no load id, 404 when there is no such load. */
export async function requireLoad(ctx: Pick<LoadContext, 'store'>, id: string): Promise<LoadRecord> {
  const parsed = loadIdSchema.safeParse(id);
  if (!parsed.success)
    throw new InvalidRequestError(
      'InvalidLoadId',
      `${excerpt(id)} is not a load id (letters, digits and hyphens, at most 100)`,
    );
  const record = await ctx.store.get(parsed.data);
  if (!record) throw new NotFoundError('LoadNotFound', `no load with id '${parsed.data}'`);
  return record;
}

/** The daily request budget's part of a running load's view: `waiting` while it is used up. */
async function budgetFields(
  ctx: LoadContext,
  record: LoadRecord,
): Promise<Pick<LoadView, 'waiting' | 'dailyRequests'>> {
  if (!ctx.requestBudget || isTerminal(record)) return {};
  const budget = await ctx.requestBudget.state();
  return {
    ...(budget.level === 'exhausted' ? { waiting: 'daily request budget' } : {}),
    dailyRequests: { used: budget.used, ...(budget.budget !== undefined ? { budget: budget.budget } : {}) },
  };
}

export async function getLoad(ctx: LoadContext, id: string): Promise<LoadView> {
  const record = await requireLoad(ctx, id);
  const view = { ...loadView(ctx, record), ...(await budgetFields(ctx, record)) };
  const chunks = await ctx.store.chunkProgress(record.id);
  if (chunks.length === 0) return view;
  const finishedAt = record.finishedAt ? Date.parse(record.finishedAt) : undefined;
  const progress = progressOf({
    chunks,
    at: finishedAt ?? ctx.now(),
    ...(record.startedAt ? { startedAt: Date.parse(record.startedAt) } : {}),
    ...(record.total !== undefined ? { total: record.total } : {}),
    processed: record.succeeded + record.failed + record.notProcessed,
    running: !isTerminal(record),
  });
  return { ...view, progress };
}
