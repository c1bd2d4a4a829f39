/**
 * `POST /api/loads/{id}/retry`: a new load of the first load's failed (and unprocessed) rows, or of a corrected
 * failed-rows file sent as the body, on the same table with the same profile; the new record says `retryOf`.
 * Without a body the new file's rows keep the record ids of the rows they came from (a map of row numbers to
 * the first load's file, kept beside the results), so a create retried twice, or one an earlier attempt wrote
 * after all, meets its own id and counts as done: rows already in Dataverse are never created again.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ConflictError, UnsupportedMediaTypeError } from '../errors';
import type { LoadPlan } from '../ingestion/loadPlan';
import type { LoadProfile } from '../ingestion/loadProfile';
import type { ConvertedRow } from '../ingestion/rowConversion';
import { recordIdFor } from '../ingestion/recordId';
import type { RequestBody } from '../security/bodyLimit';
import { addLogFields } from '../observability/logScope';
import { bodyFormatOf, requireLoad, storeUpload, type BodyFormat, type SubmitLoadRequest } from './loadApi';
import { statusUrlOf, type LoadContext } from './loadContext';
import { isTerminal, type LoadRecord } from './loadRecord';
import type { PlannedLoad } from './plannedLoad';
import { downloadFailedRows } from './loadRowsApi';

export interface RetryLoadRequest extends Partial<Omit<SubmitLoadRequest, 'table' | 'query' | 'body'>> {
  /** A corrected failed-rows file, or undefined to retry the load's failed rows as they are. */
  body?: RequestBody;
}

/** Row i (1-based) of a retry file is row `rows[i - 1]` of the file with `fileKey`, the seed of its record ids. */
export const retryRowsSchema = z.strictObject({
  fileKey: z.string().min(1),
  rows: z.array(z.number().int().min(1)),
});
export type RetryRows = z.infer<typeof retryRowsSchema>;

export const retryRowsBlobName = (loadId: string) => `${loadId}/retry-rows.json`;

async function readRetryRows(ctx: LoadContext, name: string): Promise<RetryRows | undefined> {
  const text = await ctx.blobs.readText(ctx.resultsContainer, name);
  return text === undefined ? undefined : retryRowsSchema.parse(JSON.parse(text));
}

/** The rows of `record`'s failed-rows file in order, as rows of the first file (through earlier retries). */
async function rowsOfFailedRowsFile(ctx: LoadContext, record: LoadRecord): Promise<RetryRows> {
  const own: number[] = [];
  for await (const failed of ctx.store.listFailedRows(record.id)) own.push(failed.rowNumber);
  // ContinueOnError=false: the file goes on with every row after the stop (loadEnd.ts failedRowEntries).
  if (record.stoppedAtRow !== undefined && record.notProcessed > 0 && record.total !== undefined)
    for (let row = record.stoppedAtRow + 1; row <= record.total; row++) own.push(row);
  const earlier = record.retryRowsBlob ? await readRetryRows(ctx, record.retryRowsBlob) : undefined;
  if (earlier) return { fileKey: earlier.fileKey, rows: own.map((row) => earlier.rows[row - 1] ?? row) };
  return { fileKey: record.plan!.fileKey, rows: own };
}

const shapeFormat = (format: BodyFormat) => (format === 'tsv' ? 'csv' : format);
/** A workbook's failed rows come back as CSV (loadEnd.ts), so its retry is a CSV file, or a corrected workbook. */
const retryFormatOf = (format: PlannedLoad['shape']['format']) => (format === 'xlsx' ? 'csv' : format);

export async function retryLoad(
  ctx: LoadContext,
  id: string,
  request: RetryLoadRequest,
): Promise<{ id: string; statusUrl: string }> {
  const record = await requireLoad(ctx, id);
  if (!isTerminal(record))
    throw new ConflictError(
      'LoadRunning',
      `load '${record.id}' is still ${record.status}: retry its failed rows once it has ended`,
    );
  const plan = record.plan;
  if (!plan)
    throw new ConflictError(
      'NothingToRetry',
      `load '${record.id}' never read its file${record.message ? ` (${record.message})` : ''}: fix the file and load it again`,
    );
  const newId = randomUUID();
  addLogFields({ loadId: newId, retryOf: record.id });
  const common = { id: newId, table: record.table, metadata: {}, source: 'retry' as const };

  if (request.body !== undefined) {
    const { format, gzip } = bodyFormatOf(request);
    const accepted = new Set([plan.shape.format, retryFormatOf(plan.shape.format)]);
    if (!accepted.has(shapeFormat(format)))
      throw new UnsupportedMediaTypeError(
        'FormatMismatch',
        `the retry body is ${format.toUpperCase()} but load '${record.id}' read ${plan.shape.format.toUpperCase()}: send the corrected failed-rows file in the load's format`,
      );
    await storeUpload(
      ctx,
      {
        body: request.body,
        ...(request.declaredLength !== undefined ? { declaredLength: request.declaredLength } : {}),
      },
      {
        ...common,
        format,
        gzip,
        record: { retryOf: record.id },
      },
    );
    return { id: newId, statusUrl: statusUrlOf(newId) };
  }

  if (record.failed + record.notProcessed === 0)
    throw new ConflictError('NothingToRetry', `load '${record.id}' has no failed or unprocessed rows to retry`);
  const rows = await rowsOfFailedRowsFile(ctx, record);
  const file = await downloadFailedRows(ctx, record.id);
  const rowsBlob = retryRowsBlobName(newId);
  await storeUpload(
    ctx,
    { body: file.body },
    {
      ...common,
      format: retryFormatOf(plan.shape.format),
      gzip: false,
      record: { retryOf: record.id, retryRowsBlob: rowsBlob },
      beforeRecord: () => ctx.blobs.writeText(ctx.resultsContainer, rowsBlob, JSON.stringify(rows), 'application/json'),
    },
  );
  return { id: newId, statusUrl: statusUrlOf(newId) };
}

/** For the scan of a retry: the first load's profile (a retry loads the same way whatever `_profile.json` says now). */
export async function retryProfileOf(
  ctx: Pick<LoadContext, 'store'>,
  loadId: string,
): Promise<{ profile: LoadProfile; retryRowsBlob?: string } | undefined> {
  const record = await ctx.store.get(loadId);
  if (!record?.retryOf) return undefined;
  const first = await ctx.store.get(record.retryOf);
  if (!first?.plan) return undefined;
  return { profile: first.plan.profile, ...(record.retryRowsBlob ? { retryRowsBlob: record.retryRowsBlob } : {}) };
}

const retryRowsCache = new Map<string, Promise<RetryRows | undefined>>();

/**
 * The record id of a create in a retry file: the id its row had in the first file. Cached per blob (a retry's
 * chunks all read the same map); a bounded cache, since every process sees few retries at a time.
 */
export async function retryRecordIds(
  ctx: LoadContext,
  rowsBlob: string,
): Promise<(rowNumber: number) => string | undefined> {
  let pending = retryRowsCache.get(rowsBlob);
  if (!pending) {
    if (retryRowsCache.size > 20) retryRowsCache.clear();
    pending = readRetryRows(ctx, rowsBlob);
    retryRowsCache.set(rowsBlob, pending);
    pending.catch(() => retryRowsCache.delete(rowsBlob));
  }
  const rows = await pending;
  return (rowNumber) => {
    const first = rows?.rows[rowNumber - 1];
    return rows && first !== undefined ? recordIdFor(rows.fileKey, first) : undefined;
  };
}

/** A retry's create keeps the id its row got in the first file (unless the row sets the id itself). */
export function keepFirstFileId(
  plan: LoadPlan,
  converted: ConvertedRow,
  fileKey: string | undefined,
  firstFileIdOf: (rowNumber: number) => string | undefined,
): ConvertedRow {
  const id = firstFileIdOf(converted.rowNumber);
  const generated = fileKey !== undefined && converted.recordId === recordIdFor(fileKey, converted.rowNumber);
  if (converted.operation !== 'create' || !id || !generated) return converted;
  return { ...converted, recordId: id, body: { ...converted.body, [plan.table.primaryIdAttribute]: id } };
}
