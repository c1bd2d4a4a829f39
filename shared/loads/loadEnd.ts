/**
 * The end of a load, done once: whoever sees every row accounted for claims the end with the record's ETag,
 * writes the failed-rows file, moves the source to `processed/` or `failed/`, then sets the final status and, in
 * that same ETag-guarded write, records the end event to publish (transactional outbox, events/eventOutbox.ts).
 * It then publishes the event and marks it published. Each step is idempotent, so the sweeper can redo an end
 * whose finalizer crashed, and publishes an event a crash left pending: no event is lost, and one is repeated only
 * when a process dies between the send and the mark (with the same eventId, for consumers to dedupe).
 */
import { z } from 'zod';
import { writeFailedRows, type FailedRowEntry } from '../ingestion/failedRowsWriter';
import { openFile, type FileShape } from '../ingestion/readers/fileReader';
import type { SourceRowResult } from '../ingestion/readers/readerTypes';
import {
  DEFAULT_EVENT_GRACE_MS,
  deliverPendingEvent,
  readPendingEvent,
  recordPendingEvent,
  sweepPendingEvent,
  type OutboxSweepOutcome,
} from '../events/eventOutbox';
import type { JobEventInput } from '../events/jobEvents';
import { runBindPass } from './bindPass';
import { isoAt, notifyPlan, statusUrlOf, type LoadContext } from './loadContext';
import {
  isComplete,
  isTerminal,
  outcomeOf,
  waitsForPlanBinds,
  type FailedRowRecord,
  type LoadRecord,
} from './loadRecord';
import type { PlannedLoad } from './plannedLoad';

const extensionOf: Record<FileShape['format'], string> = { csv: 'csv', json: 'json', ndjson: 'ndjson', xlsx: 'csv' };
export const contentTypeOf: Record<FileShape['format'], string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  xlsx: 'text/csv; charset=utf-8',
};

export const failedRowsBlobName = (loadId: string, format: FileShape['format']) =>
  `${loadId}/failed-rows.${extensionOf[format]}`;
export const resultsPrefixOf = (loadId: string) => `${loadId}/results/`;

/** Where a finished source goes: `processed/<table>/<name>` or `failed/<table>/<name>` (outside the trigger's folders). */
export function movedName(record: Pick<LoadRecord, 'blobName'>, folder: 'processed' | 'failed'): string {
  return `${folder}/${record.blobName}`;
}

/** The row as the chunk kept it (`rowJson`): its text, and its cells or values when it was read that far. */
const keptRowSchema = z.object({
  raw: z.string().optional().catch(undefined),
  cells: z.array(z.string()).optional().catch(undefined),
  values: z.record(z.string(), z.json()).optional().catch(undefined),
});

export function rowOfFailedRecord(record: FailedRowRecord): SourceRowResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.rowJson);
  } catch {
    parsed = {};
  }
  const kept = keptRowSchema.safeParse(parsed).data ?? {};
  return {
    ok: false,
    rowNumber: record.rowNumber,
    line: record.line,
    byteStart: 0,
    byteEnd: 0,
    raw: kept.raw ?? '',
    message: record.message,
    ...(kept.cells ? { cells: kept.cells } : {}),
    ...(kept.values ? { values: kept.values } : {}),
  };
}

async function* failedRowEntries(
  ctx: LoadContext,
  record: LoadRecord,
  { shape, blobEtag }: PlannedLoad,
): AsyncGenerator<FailedRowEntry> {
  for await (const failed of ctx.store.listFailedRows(record.id))
    yield { row: rowOfFailedRecord(failed), error: failed.message };
  // ContinueOnError=false: the rows after the stop were never sent; they go in the file too, so fixing the
  // failed row and dropping the file again loads everything that is missing.
  if (record.stoppedAtRow === undefined || record.notProcessed === 0) return;
  const file = await openFile(ctx.blobs.read({ container: record.container, name: record.blobName, etag: blobEtag }), {
    format: shape.format,
    ...(shape.header ? { delimiter: shape.header.delimiter } : {}),
    ...(shape.sheet ? { sheet: shape.sheet } : {}),
    fileName: record.blobName,
  });
  try {
    for await (const row of file.rows) {
      if (row.rowNumber <= record.stoppedAtRow) continue;
      yield {
        row,
        error: `not processed: the load stopped at the fault of row ${record.stoppedAtRow} (continueOnError is false)`,
      };
    }
  } finally {
    await file.close();
  }
}

async function writeFailedRowsFile(ctx: LoadContext, record: LoadRecord): Promise<string | undefined> {
  if (record.failed + record.notProcessed === 0 || !record.plan) return undefined;
  const { shape } = record.plan;
  const name = failedRowsBlobName(record.id, shape.format);
  const pieces = writeFailedRows(failedRowEntries(ctx, record, record.plan), {
    format: shape.format,
    ...(shape.header ? { columns: shape.header.columns, delimiter: shape.header.delimiter } : {}),
    ...(shape.format === 'xlsx' ? { columns: record.plan.columns } : {}),
  });
  await ctx.blobs.writeStream(ctx.resultsContainer, name, pieces, contentTypeOf[shape.format]);
  return name;
}

/** The end event of a finished load, from its final record. */
export function loadEndEvent(record: LoadRecord, resultsContainer: string): JobEventInput {
  return {
    id: record.id,
    kind: 'load',
    outcome: record.status as 'succeeded' | 'partiallySucceeded' | 'failed',
    counts: {
      total: record.total ?? 0,
      succeeded: record.succeeded,
      failed: record.failed,
      notProcessed: record.notProcessed,
    },
    ...(record.message ? { message: record.message } : {}),
    links: {
      status: statusUrlOf(record.id),
      ...(record.failedRowsBlob ? { failedRows: `${resultsContainer}/${record.failedRowsBlob}` } : {}),
    },
    finishedAt: record.finishedAt ?? record.updatedAt,
  };
}

/** The final-status patch plus its outbox entry: both go in one ETag-guarded write. */
function withPendingEvent(ctx: LoadContext, current: LoadRecord, patch: Partial<LoadRecord>): Partial<LoadRecord> {
  const after = { ...current, ...patch };
  return {
    ...patch,
    eventPublished: false,
    pendingEventJson: recordPendingEvent(loadEndEvent(after, ctx.resultsContainer), ctx.now()),
  };
}

const markPublished = (ctx: LoadContext, loadId: string) => async () => {
  await ctx.store.mutate(loadId, (r) => (r.eventPublished ? undefined : { eventPublished: true }));
};

/**
 * The writer of the final status publishes its event at once (the job index first, so a consumer reacting to
 * the event finds the load listed as ended). A failure here is left to the sweeper: the event stays pending.
 */
export async function announceLoad(ctx: LoadContext, record: LoadRecord): Promise<void> {
  if (record.eventPublished || !isTerminal(record)) return;
  try {
    await ctx.index.updateJobState(record.id, record.status, { at: record.finishedAt ?? isoAt(ctx.now()) });
    const event = readPendingEvent(record.pendingEventJson)?.event ?? loadEndEvent(record, ctx.resultsContainer);
    await deliverPendingEvent(ctx.events, event, markPublished(ctx, record.id));
  } catch (error) {
    ctx.log?.warn('Load event not published yet; the sweeper will publish it', {
      loadId: record.id,
      error: String(error),
    });
  }
}

/** The sweeper's turn at a finished load whose event is still pending (ETag-claimed, so one sweeper sends it). */
export async function publishPendingLoadEvent(
  ctx: LoadContext,
  record: LoadRecord,
  graceMs = Math.min(ctx.stallMs, DEFAULT_EVENT_GRACE_MS),
): Promise<OutboxSweepOutcome> {
  if (record.eventPublished || !isTerminal(record)) return 'claimedElsewhere';
  const pending = readPendingEvent(record.pendingEventJson);
  const due = pending ?? { attemptAt: record.finishedAt ?? record.updatedAt };
  if (ctx.now() - Date.parse(due.attemptAt) < graceMs) return 'notDue';
  await ctx.index.updateJobState(record.id, record.status, { at: record.finishedAt ?? isoAt(ctx.now()) });
  return sweepPendingEvent(
    ctx.events,
    {
      pending,
      rebuild: () => loadEndEvent(record, ctx.resultsContainer),
      claim: async (json) =>
        (
          await ctx.store.mutate(record.id, (r) =>
            !r.eventPublished && (r.pendingEventJson ?? '') === (record.pendingEventJson ?? '')
              ? { pendingEventJson: json }
              : undefined,
          )
        ).changed,
      markPublished: markPublished(ctx, record.id),
    },
    { nowMs: ctx.now(), graceMs },
  );
}

async function moveSource(ctx: LoadContext, record: LoadRecord, folder: 'processed' | 'failed'): Promise<string> {
  const to = movedName(record, folder);
  await ctx.blobs.move(record.container, record.blobName, to);
  return `${record.container}/${to}`;
}

/** Ends a load whose rows are all accounted for; a no-op when it isn't complete or someone else is ending it. */
export async function tryFinalize(
  ctx: LoadContext,
  loadId: string,
  options: { force?: boolean; bindPassDone?: boolean } = {},
): Promise<LoadRecord | undefined> {
  let bindPassOf: LoadRecord | undefined;
  let waiting: LoadRecord | undefined;
  const claimed = await ctx.store.mutate(loadId, (r) => {
    if (isTerminal(r) || !isComplete(r)) return undefined;
    // A plan's load ends once its plan released its cross-table binds (planBinds.ts): until then, tell the plan.
    if (waitsForPlanBinds(r)) {
      waiting = r;
      return undefined;
    }
    const claimedAt = r.finalizingSince ? Date.parse(r.finalizingSince) : undefined;
    if (claimedAt !== undefined && !options.force && ctx.now() - claimedAt < ctx.stallMs) return undefined;
    // Rows waiting for a row of their own file or of their plan are bound first (idempotent; counts change once).
    if ((r.plan?.inFileBinds || r.plan?.crossTableBinds) && !options.bindPassDone) {
      bindPassOf = r;
      return undefined;
    }
    return { finalizingSince: isoAt(ctx.now()) };
  });
  if (waiting) {
    await notifyPlan(ctx, waiting);
    return undefined;
  }
  if (bindPassOf) {
    // Every row is written: a plan starts its next tables while this pass binds (notifyPlan never throws).
    await Promise.all([notifyPlan(ctx, bindPassOf), runBindPass(ctx, bindPassOf)]);
    return tryFinalize(ctx, loadId, { ...options, bindPassDone: true });
  }
  if (!claimed.changed) return undefined;
  const record = claimed.record;
  const status = record.errorCode ? 'failed' : outcomeOf(record);
  const failedRowsBlob = await writeFailedRowsFile(ctx, record);
  const movedTo = await moveSource(ctx, record, status === 'failed' ? 'failed' : 'processed');
  const done = await ctx.store.mutate(loadId, (r) =>
    isTerminal(r)
      ? undefined
      : withPendingEvent(ctx, r, {
          status,
          finishedAt: isoAt(ctx.now()),
          updatedAt: isoAt(ctx.now()),
          movedTo,
          resultsPrefix: resultsPrefixOf(loadId),
          ...(failedRowsBlob ? { failedRowsBlob } : {}),
        }),
  );
  if (!done.changed) return undefined;
  await announceLoad(ctx, done.record);
  ctx.log?.info('Load finished', {
    loadId,
    status,
    succeeded: record.succeeded,
    failed: record.failed,
    notProcessed: record.notProcessed,
  });
  await notifyPlan(ctx, done.record);
  return done.record;
}

/** A load that can't start (plan error, unreadable file): failed with the user's message, source to `failed/`. */
export async function failLoad(
  ctx: LoadContext,
  loadId: string,
  error: { code: string; message: string },
): Promise<LoadRecord> {
  const failed = await ctx.store.mutate(loadId, (r) =>
    isTerminal(r)
      ? undefined
      : withPendingEvent(ctx, r, {
          status: 'failed',
          errorCode: error.code,
          message: error.message,
          total: r.total ?? 0,
          scanComplete: true,
          finishedAt: isoAt(ctx.now()),
          updatedAt: isoAt(ctx.now()),
        }),
  );
  if (!failed.changed) return failed.record;
  const movedTo = await moveSource(ctx, failed.record, 'failed');
  const moved = await ctx.store.mutate(loadId, () => ({ movedTo }));
  ctx.log?.warn('Load failed', { loadId, code: error.code, message: error.message });
  await announceLoad(ctx, moved.record);
  await notifyPlan(ctx, moved.record);
  return moved.record;
}
