/**
 * CreateMultiple / UpdateMultiple / UpsertMultiple: one request per chunk of rows, `{"Targets":[…]}` with
 * `@odata.type` per target. Falls back to `$batch` for tables without the messages (remembered per table),
 * and, because a bulk request is all-or-nothing on standard tables, reruns a failed chunk as `$batch` with
 * continue-on-error so the good rows land and each bad row gets its own fault.
 */
import type { CallOptions } from './callOptions';
import { DataverseError, type OrganizationServiceFault } from './dataverseError';
import { executeMultiple } from './executeMultiple';
import { entityReference, type Attributes, type OrganizationRequest, type RecordKey } from './organizationRequest';
import { sendWebApiRequest, type WebApiContext } from './webApi';

export type BulkMessage = 'CreateMultiple' | 'UpdateMultiple' | 'UpsertMultiple';

export interface BulkOptions extends CallOptions {
  /** Primary id column; defaults to `<logicalName>id` (wrong for activities: pass `activityid`). */
  primaryIdAttribute?: string;
  /** Rows per bulk request (default 1000, Microsoft's suggested start for small rows without plug-ins). */
  chunkSize?: number;
  /**
   * Send the rows as this many requests at once (each at least minParallelPartRows rows): request slots that would
   * otherwise idle at a load's tail share its last chunks. Default 1: one request per `chunkSize` rows, in turn.
   */
  parallelRequests?: number;
}

export interface UpdateTarget {
  id: string;
  attributes: Attributes;
}

export interface UpsertTarget {
  /** Primary id or alternate key; key columns are sent in `@odata.id` only, never repeated in the body. */
  key: RecordKey;
  attributes: Attributes;
}

export interface BulkRowResult {
  /** Position of the row in the targets given. */
  index: number;
  /** Record id: always for creates (client-generated) and updates; for upserts when keyed by id or reported. */
  id?: string;
  fault?: OrganizationServiceFault;
  /** How the row was written: `bulk` (the message), `batch` (fallback or isolation). */
  via: 'bulk' | 'batch';
}

export interface BulkResult {
  isFaulted: boolean;
  results: BulkRowResult[];
}

/** Which (entity set, message) pairs Dataverse said it doesn't support; shared client-wide. */
export type BulkSupport = Set<string>;

interface Row {
  index: number;
  bulkTarget: Record<string, unknown>;
  request: OrganizationRequest;
  id?: string;
}

/** The error Dataverse gives for a table without the message. */
export function isUnsupportedBulkError(error: DataverseError, message: BulkMessage): boolean {
  if (error.status === undefined || ![400, 404, 405, 501].includes(error.status)) return false;
  return (
    /does not support entities of type/i.test(error.message) ||
    (error.message.includes(message) &&
      /not (yet )?(been )?(supported|implemented|enabled|found)|Resource not found/i.test(error.message))
  );
}

function keyColumns(key: RecordKey): string[] {
  return typeof key === 'string' ? [] : Object.keys(key);
}

function withoutColumns(attributes: Attributes, columns: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(attributes).filter(([name]) => !columns.includes(name)));
}

export function createRows(
  context: WebApiContext,
  entitySetName: string,
  logicalName: string,
  targets: Attributes[],
  primaryIdAttribute: string,
): Row[] {
  return targets.map((attributes, index) => {
    const existing = attributes[primaryIdAttribute];
    const id = typeof existing === 'string' ? existing : context.newId();
    // Rows converted with their deterministic id already hold it: no copy then.
    const body = attributes[primaryIdAttribute] === id ? attributes : { ...attributes, [primaryIdAttribute]: id };
    return {
      index,
      id,
      bulkTarget: { '@odata.type': `Microsoft.Dynamics.CRM.${logicalName}`, ...body },
      request: { kind: 'create', entitySetName, primaryIdAttribute, id, attributes: body },
    };
  });
}

export function updateRows(
  entitySetName: string,
  logicalName: string,
  targets: UpdateTarget[],
  primaryIdAttribute: string,
): Row[] {
  return targets.map((target, index) => ({
    index,
    id: target.id,
    bulkTarget: {
      '@odata.type': `Microsoft.Dynamics.CRM.${logicalName}`,
      ...target.attributes,
      [primaryIdAttribute]: target.id,
    },
    request: { kind: 'update', entitySetName, key: target.id, attributes: target.attributes },
  }));
}

export function upsertRows(entitySetName: string, logicalName: string, targets: UpsertTarget[]): Row[] {
  return targets.map((target, index) => {
    // UpsertMultiple fails its create path (0x80040216) when key columns are also in the body.
    const attributes = withoutColumns(target.attributes, keyColumns(target.key));
    const row: Row = {
      index,
      bulkTarget: {
        '@odata.type': `Microsoft.Dynamics.CRM.${logicalName}`,
        ...attributes,
        // A body reference, in the form Microsoft's UpsertMultiple example shows (not percent-encoded).
        '@odata.id': entityReference(entitySetName, target.key),
      },
      request: { kind: 'upsert', entitySetName, key: target.key, attributes },
    };
    if (typeof target.key === 'string') row.id = target.key;
    return row;
  });
}

async function viaBatch(
  context: WebApiContext,
  rows: Row[],
  options: CallOptions,
  maybeExecutedBefore: boolean,
): Promise<BulkRowResult[]> {
  const outcome = await executeMultiple(
    context,
    rows.map((row) => row.request),
    { continueOnError: true, returnResponses: true },
    options,
    { maybeExecutedBefore },
  );
  return outcome.responses.map((item) => {
    const row = rows[item.requestIndex]!;
    const result: BulkRowResult = { index: row.index, via: 'batch' };
    const id = row.id ?? item.response?.id;
    if (id) result.id = id;
    if (item.fault) result.fault = item.fault;
    return result;
  });
}

/** Rows of a request split to run side by side (smaller ones cost more in per-request overhead than they win). */
export const minParallelPartRows = 100;

/**
 * The rows' requests: pieces of `chunkSize` rows (the last one shorter); when `parallelRequests` asks for more
 * pieces than that, as many nearly equal ones, none under minParallelPartRows, so they can go out at once.
 */
export function bulkPieces<T>(rows: T[], chunkSize: number, parallelRequests = 1): T[][] {
  const bySize = Math.ceil(rows.length / chunkSize);
  const byParallel = Math.min(Math.max(1, Math.floor(parallelRequests)), Math.floor(rows.length / minParallelPartRows));
  const pieces: T[][] = [];
  if (byParallel <= bySize) {
    for (let start = 0; start < rows.length; start += chunkSize) pieces.push(rows.slice(start, start + chunkSize));
    return pieces;
  }
  for (let i = 0; i < byParallel; i++)
    pieces.push(
      rows.slice(Math.floor((i * rows.length) / byParallel), Math.floor(((i + 1) * rows.length) / byParallel)),
    );
  return pieces;
}

export async function runBulk(
  context: WebApiContext,
  support: BulkSupport,
  message: BulkMessage,
  entitySetName: string,
  rows: Row[],
  options: BulkOptions,
): Promise<BulkResult> {
  const { chunkSize: requested = 1000, parallelRequests = 1, ...rest } = options;
  const callOptions: CallOptions = { ...rest };
  delete (callOptions as BulkOptions).primaryIdAttribute;
  // DATAVERSE_MAX_BATCH_SIZE (and any smaller limit Dataverse reported) caps bulk requests too, not only $batch.
  const chunkSize = Math.max(1, Math.min(requested, context.batchLimit.current));
  const supportKey = `${entitySetName}/${message}`;
  const sendPiece = async (chunk: Row[]): Promise<BulkRowResult[]> => {
    if (support.has(supportKey)) return viaBatch(context, chunk, callOptions, false);
    context.transport.recordBulkSize(chunk.length);
    try {
      const response = await sendWebApiRequest(
        context,
        {
          method: 'POST',
          path: `${entitySetName}/Microsoft.Dynamics.CRM.${message}`,
          body: { Targets: chunk.map((row) => row.bulkTarget) },
          // Creates carry client-generated ids, updates and upserts are idempotent.
          retrySafe: true,
          // Each target counts toward the daily entitlement (bulk-operations.md, "How are API limits applied?").
          operations: chunk.length,
        },
        callOptions,
      );
      const ids = (response.body as { Ids?: unknown } | undefined)?.Ids;
      return chunk.map((row, position) => {
        const result: BulkRowResult = { index: row.index, via: 'bulk' };
        const candidate: unknown = Array.isArray(ids) && ids.length === chunk.length ? ids[position] : undefined;
        const reported = typeof candidate === 'string' ? candidate : undefined;
        const id = row.id ?? reported;
        if (id) result.id = id;
        return result;
      });
    } catch (error) {
      if (!(error instanceof DataverseError) || error.status === undefined || [401, 403, 429].includes(error.status))
        throw error;
      if (isUnsupportedBulkError(error, message)) {
        support.add(supportKey);
        context.logger?.info(`${message} is not supported for ${entitySetName}; using $batch`, { code: error.code });
      } else {
        context.logger?.warn(`${message} failed; isolating the bad rows with $batch`, {
          code: error.code,
          status: error.status,
          rows: chunk.length,
        });
      }
      // Nothing of the chunk was written (all-or-nothing), so rerunning it row by row is safe.
      return viaBatch(context, chunk, callOptions, error.afterResend || error.status >= 500);
    }
  };
  const pieces = bulkPieces(rows, chunkSize, parallelRequests);
  const results: BulkRowResult[] = [];
  if (parallelRequests > 1 && pieces.length > 1) {
    // Side by side: every piece settles before an error goes up, so none is still running when the chunk retries.
    const settled = await Promise.allSettled(pieces.map(sendPiece));
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) throw failure.reason;
    for (const s of settled) if (s.status === 'fulfilled') results.push(...s.value);
  } else for (const piece of pieces) results.push(...(await sendPiece(piece)));
  results.sort((a, b) => a.index - b.index);
  return { isFaulted: results.some((result) => result.fault), results };
}
