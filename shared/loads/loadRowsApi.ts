/**
 * Failed rows over HTTP: `GET /api/loads/{id}/rows` (a page of `loadrows`), `GET /api/loads/{id}/errors`
 * (failures grouped by code and column) and `GET /api/loads/{id}/failed-rows` (the failed-rows file in the
 * load's input format, streamed: the finished load's file, or written from `loadrows` while the load runs).
 */
import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '../errors';
import { writeFailedRows } from '../ingestion/failedRowsWriter';
import type { LoadContext } from './loadContext';
import { contentTypeOf, failedRowsBlobName, rowOfFailedRecord } from './loadEnd';
import type { FailedRowRecord, LoadRecord } from './loadRecord';
import { requireLoad } from './loadApi';

export const maxRowsPageSize = 1000;
const pageSizeLimit = `an integer from 1 to ${maxRowsPageSize}`;

export const rowsQuerySchema = z.strictObject({
  state: z.enum(['failed'], "'failed' (the only state kept per row)").optional(),
  pageSize: z
    .string()
    .regex(/^\d{1,9}$/, pageSizeLimit)
    .transform(Number)
    .pipe(z.number().int().min(1, pageSizeLimit).max(maxRowsPageSize, pageSizeLimit))
    .optional(),
  continuationToken: z
    .string()
    .max(2048)
    .regex(/^[A-Za-z0-9+/=_\-.:~]*$/, 'the continuationToken of a previous page')
    .optional(),
});

export interface FailedRowView {
  rowNumber: number;
  line: number;
  column?: string;
  value?: string;
  code: string;
  message: string;
  dataverse?: { code: string; message: string };
  key: Record<string, z.infer<ReturnType<typeof z.json>>> | null;
  row: Record<string, unknown>;
}

const keySchema = z.record(z.string(), z.json());

function keyOf(failed: FailedRowRecord): FailedRowView['key'] {
  if (!failed.keyJson) return null;
  try {
    return keySchema.safeParse(JSON.parse(failed.keyJson)).data ?? null;
  } catch {
    return null;
  }
}

/** The row as read: CSV cells under their header names, a JSON row's values, or its text when unread. */
export function rowObjectOf(record: Pick<LoadRecord, 'plan'>, failed: FailedRowRecord): Record<string, unknown> {
  const row = rowOfFailedRecord(failed);
  const columns =
    record.plan?.shape.header?.columns ?? (record.plan?.shape.format === 'xlsx' ? record.plan.columns : undefined);
  if (row.cells && columns)
    return Object.fromEntries(row.cells.map((cell, i) => [columns[i] ?? `_${i + 1}`, cell] as const));
  if (row.values) return row.values;
  return { _raw: row.raw };
}

export function failedRowView(record: Pick<LoadRecord, 'plan'>, failed: FailedRowRecord): FailedRowView {
  return {
    rowNumber: failed.rowNumber,
    line: failed.line,
    ...(failed.column !== undefined ? { column: failed.column } : {}),
    ...(failed.value !== undefined ? { value: failed.value } : {}),
    code: failed.code,
    message: failed.message,
    ...(failed.dataverseCode !== undefined
      ? { dataverse: { code: failed.dataverseCode, message: failed.dataverseMessage ?? '' } }
      : {}),
    key: keyOf(failed),
    row: rowObjectOf(record, failed),
  };
}

function parseRowsQuery(query: Record<string, string>) {
  const parsed = rowsQuerySchema.safeParse(query);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0]!;
  if (first.code === 'unrecognized_keys')
    throw new InvalidRequestError(
      'InvalidQuery',
      `unknown query parameter(s) ${first.keys.join(', ')} (known: state, pageSize, continuationToken)`,
    );
  if (first.path[0] === 'pageSize')
    throw new InvalidRequestError(
      'InvalidPageSize',
      `pageSize: ${pageSizeLimit} (got '${query.pageSize?.slice(0, 20) ?? ''}')`,
      { details: { maxPageSize: maxRowsPageSize } },
    );
  throw new InvalidRequestError('InvalidQuery', `${first.path.join('.')}: ${first.message}`);
}

/** GET /api/loads/{id}/rows?state=failed&pageSize=&continuationToken= */
export async function listLoadRows(
  ctx: LoadContext,
  id: string,
  query: Record<string, string>,
  url: string,
): Promise<{ items: FailedRowView[]; continuationToken?: string; nextLink?: string }> {
  const options = parseRowsQuery(query);
  const record = await requireLoad(ctx, id);
  const page = await ctx.store.failedRowsPage(record.id, {
    pageSize: options.pageSize ?? 100,
    ...(options.continuationToken ? { continuationToken: options.continuationToken } : {}),
  });
  const items = page.items.map((failed) => failedRowView(record, failed));
  if (!page.continuationToken) return { items };
  const next = new URL(url);
  next.searchParams.set('continuationToken', page.continuationToken);
  return { items, continuationToken: page.continuationToken, nextLink: next.toString() };
}

export interface ErrorGroup {
  code: string;
  column?: string;
  count: number;
  sample: Pick<FailedRowView, 'rowNumber' | 'line' | 'value' | 'message' | 'dataverse'>;
}

/** Failures grouped by code and column: largest group first, then by code and column. */
export async function groupFailures(rows: AsyncIterable<FailedRowRecord>): Promise<ErrorGroup[]> {
  const groups = new Map<string, ErrorGroup>();
  for await (const failed of rows) {
    const key = JSON.stringify([failed.code, failed.column ?? null]);
    const group = groups.get(key);
    if (group) {
      group.count++;
      continue;
    }
    groups.set(key, {
      code: failed.code,
      ...(failed.column !== undefined ? { column: failed.column } : {}),
      count: 1,
      sample: {
        rowNumber: failed.rowNumber,
        line: failed.line,
        ...(failed.value !== undefined ? { value: failed.value } : {}),
        message: failed.message,
        ...(failed.dataverseCode !== undefined
          ? { dataverse: { code: failed.dataverseCode, message: failed.dataverseMessage ?? '' } }
          : {}),
      },
    });
  }
  return [...groups.values()].sort(
    (a, b) =>
      b.count - a.count ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) ||
      (a.column ?? '').localeCompare(b.column ?? ''),
  );
}

/** GET /api/loads/{id}/errors */
export async function loadErrors(ctx: LoadContext, id: string): Promise<{ total: number; groups: ErrorGroup[] }> {
  const record = await requireLoad(ctx, id);
  const groups = await groupFailures(ctx.store.listFailedRows(record.id));
  return { total: groups.reduce((sum, g) => sum + g.count, 0), groups };
}

export interface FailedRowsDownload {
  contentType: string;
  fileName: string;
  body: AsyncIterable<Uint8Array>;
}

/** `<source name>.failed-rows.<ext>`, in characters any browser and shell keeps. */
export function failedRowsFileName(record: Pick<LoadRecord, 'blobName'>, extension: string): string {
  const base = record.blobName
    .split('/')
    .pop()!
    .replace(/\.gz$/i, '')
    .replace(/\.[^.]*$/, '');
  const safe = base.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || 'load';
  return `${safe}.failed-rows.${extension}`;
}

async function* utf8(pieces: AsyncIterable<string>): AsyncGenerator<Uint8Array> {
  for await (const piece of pieces) yield Buffer.from(piece, 'utf8');
}

/** GET /api/loads/{id}/failed-rows */
export async function downloadFailedRows(ctx: LoadContext, id: string): Promise<FailedRowsDownload> {
  const record = await requireLoad(ctx, id);
  const plan = record.plan;
  if (!plan)
    throw new NotFoundError(
      'FailedRowsNotAvailable',
      `load '${record.id}' has no failed-rows file: its file was never read${record.message ? ` (${record.message})` : ''}`,
    );
  const { format } = plan.shape;
  const name = failedRowsBlobName(record.id, format);
  const fileName = failedRowsFileName(record, name.split('.').pop()!);
  const contentType = contentTypeOf[format];
  // The finished load's file also holds the rows a stop left unprocessed; while it runs, write from loadrows.
  const stored = record.failedRowsBlob
    ? await ctx.blobs.properties(ctx.resultsContainer, record.failedRowsBlob)
    : undefined;
  if (record.failedRowsBlob && stored)
    return {
      contentType,
      fileName,
      body: ctx.blobs.read({ container: ctx.resultsContainer, name: record.failedRowsBlob, etag: stored.etag }),
    };
  async function* entries() {
    for await (const failed of ctx.store.listFailedRows(record.id))
      yield { row: rowOfFailedRecord(failed), error: failed.message };
  }
  const pieces = writeFailedRows(entries(), {
    format,
    ...(plan.shape.header ? { columns: plan.shape.header.columns, delimiter: plan.shape.header.delimiter } : {}),
    ...(plan.shape.format === 'xlsx' ? { columns: plan.columns } : {}),
  });
  return { contentType, fileName, body: utf8(pieces) };
}
