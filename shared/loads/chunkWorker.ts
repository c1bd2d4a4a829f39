/**
 * `processChunk`: one chunk message, an idempotent unit. Done already → nothing (but keep the chain going).
 * Else: range-read the rows, convert them (a row that can't be converted fails alone, naming row, column and
 * value), send the rest, record failed rows (upserts keyed by row number) and the chunk's response items, then
 * ONE transaction inserts the chunk's completion and adds its counts to the load record. ContinueOnError=false
 * loads run their chunks in order: this chunk enqueues the next only when it had no fault; a fault stops the
 * load and every later row is `notProcessed`. The last chunk to complete ends the load.
 */
import { convertRow, type ConvertedRow, type FailedRow } from '../ingestion/rowConversion';
import { planLoad, keyColumns, type LoadPlan } from '../ingestion/loadPlan';
import { readChunk, type ChunkDescriptor } from '../ingestion/chunkPlanning';
import type { SourceRowResult } from '../ingestion/readers/readerTypes';
import { callOptionsOf, executeRows, executionModeFor, type RowOutcome } from './chunkExecution';
import { chunkGateOf, tailParallelRequests } from './chunkGate';
import { fileProblemOf } from './fileProblem';
import { deferChunkBinds, keepChunkBinds } from './inFileBinds';
import { crossTableColumns } from './planBinds';
import { isoAt, type LoadContext } from './loadContext';
import { failLoad, resultsPrefixOf, tryFinalize } from './loadEnd';
import {
  isTerminal,
  type ChunkMessage,
  type ChunkResultItem,
  type FailedRowRecord,
  type LoadRecord,
} from './loadRecord';
import { plannedColumns, type PlannedLoad } from './plannedLoad';
import { failedRowFields } from './rowFailureMessage';
import { keepFirstFileId, retryRecordIds } from './loadRetry';
import { chunkMetricsFields, loadMetricsFields } from '../observability/loadMetrics';
import { addLogFields } from '../observability/logScope';
import { recordChunkOutcome } from '../observability/telemetry';

export interface ChunkAttempt {
  /** 1 for the first delivery of the message. */
  attempt: number;
  /** Deliveries before the host poisons the message: on the last one, rows that still fail are reported as failed rows instead. */
  maxAttempts: number;
}

export type ChunkResult =
  | { kind: 'skipped'; reason: string }
  | { kind: 'alreadyDone' }
  | { kind: 'completed'; succeeded: number; failed: number; notProcessed: number };

/** One chunk's work, as one value: the load as recorded, what its scan planned, the message, the delivery. */
interface ChunkWork {
  record: LoadRecord;
  planned: PlannedLoad;
  chunk: ChunkMessage;
  attempt: ChunkAttempt;
}

/** How long a chunk waits in its invocation for the daily request budget, and when its message comes back after. */
const budgetWaitMs = 4 * 60_000;
const budgetRetrySeconds = 60;

/** Table string properties hold 32K characters; a longer row is kept cut, marked as such. */
const maxRowJson = 30_000;

function rowJsonOf(row: SourceRowResult): string {
  const kept = {
    raw: row.raw,
    ...(row.cells ? { cells: row.cells } : {}),
    ...(row.ok || row.values ? { values: row.values } : {}),
  };
  const text = JSON.stringify(kept);
  if (text.length <= maxRowJson) return text;
  return JSON.stringify({ raw: `${row.raw.slice(0, maxRowJson - 200)}… (row cut: ${row.raw.length} characters)` });
}

function keyJsonOf(plan: LoadPlan, row: SourceRowResult, converted?: ConvertedRow): string | undefined {
  if (converted?.recordId) return JSON.stringify({ [plan.table.primaryIdAttribute]: converted.recordId });
  if (!plan.key || !row.values) return undefined;
  // Under the key's attribute names (what Dataverse calls them), with the values as the file wrote them.
  const attributes = plan.key.kind === 'primaryId' ? [plan.key.attribute] : plan.key.attributes;
  const columns = keyColumns(plan.key);
  return JSON.stringify(Object.fromEntries(attributes.map((a, i) => [a, row.values?.[columns[i]!] ?? null])));
}

interface RowState {
  row: SourceRowResult;
  converted?: ConvertedRow;
  outcome?: RowOutcome;
}

function conversionFailure(failed: FailedRow): RowOutcome {
  const first = failed.faults[0];
  return {
    status: 'failed',
    code: 'ConversionFailed',
    message: failed.faults.map((f) => f.message).join('; '),
    ...(first ? { column: first.column, value: first.value } : {}),
  };
}

/** Rows of the chunk → states with read/convert failures filled in. */
function convertChunk(
  plan: LoadPlan,
  rows: SourceRowResult[],
  fileKey: string | undefined,
  accountUrl: string,
  firstFileIdOf?: (rowNumber: number) => string | undefined,
): RowState[] {
  return rows.map((row) => {
    if (!row.ok)
      return {
        row,
        outcome: { status: 'failed', code: 'InvalidRow', message: `row ${row.rowNumber}: ${row.message}` },
      };
    const converted = convertRow(plan, row, fileKey !== undefined ? { fileKey, accountUrl } : { accountUrl });
    if (!converted.ok) return { row, outcome: conversionFailure(converted) };
    return { row, converted: firstFileIdOf ? keepFirstFileId(plan, converted, fileKey, firstFileIdOf) : converted };
  });
}

async function readRows(ctx: LoadContext, { record, planned, chunk: message }: ChunkWork): Promise<SourceRowResult[]> {
  const file = { container: record.container, name: record.blobName, etag: planned.blobEtag };
  const descriptor: ChunkDescriptor = {
    loadId: message.loadId,
    chunkIndex: message.chunkIndex,
    firstRow: message.firstRow,
    lastRow: message.firstRow + message.rowCount - 1,
    firstLine: message.firstLine,
    ...(message.byteStart !== undefined && message.byteEnd !== undefined
      ? { byteRange: { start: message.byteStart, end: message.byteEnd } }
      : {}),
  };
  const source = ctx.blobs.read(
    file,
    descriptor.byteRange ? { start: descriptor.byteRange.start, end: descriptor.byteRange.end } : undefined,
  );
  return readChunk(source, planned.shape, descriptor, {
    ...(planned.profile.limits ? { limits: planned.profile.limits } : {}),
    open: { fileName: record.blobName },
  });
}

/** The file's columns and any a JSON row of the chunk adds. */
function chunkColumns(planned: PlannedLoad, rows: SourceRowResult[]): string[] {
  const columns = new Set(plannedColumns(planned));
  for (const row of rows) if (row.ok) for (const column in row.values) columns.add(column);
  return [...columns];
}

async function runChunk(ctx: LoadContext, work: ChunkWork): Promise<RowState[]> {
  const { profile } = work.planned;
  const metadata = await ctx.metadata.get(work.record.table);
  const plan = planLoad(metadata, profile, plannedColumns(work.planned));
  // Rows are read only once the chunk can be sent soon (see chunkGate.ts): memory follows Dataverse's pace.
  const leave = await chunkGateOf(ctx.client).enter();
  let states: RowState[];
  try {
    const rows = await readRows(ctx, work);
    // File and image cells name blobs of the load's own storage account (the URL of a blob, less its path).
    const accountUrl = ctx.blobs.url(work.record.container, 'x').replace(/\/[^/]+\/x$/, '');
    const firstFileIdOf = work.planned.retryRowsBlob
      ? await retryRecordIds(ctx, work.planned.retryRowsBlob)
      : undefined;
    states = convertChunk(plan, rows, work.planned.fileKey, accountUrl, firstFileIdOf);
    // Binds that wait for the end of the load: in-file references, a plan's cross-table lookups (none: no work here).
    const { inFileBinds, crossTableBinds } = work.planned;
    const binds = (inFileBinds || crossTableBinds) && ctx.inFileBinds;
    const deferral = binds && {
      inFile: inFileBinds === true,
      crossTable: crossTableBinds ? crossTableColumns(plan, chunkColumns(work.planned, rows), crossTableBinds) : [],
    };
    const held = deferral
      ? await deferChunkBinds(binds, work.record.id, work.chunk.chunkIndex, plan, states, deferral)
      : undefined;
    // ContinueOnError=false: nothing after the first row that can't be sent is sent.
    const firstBad = profile.continueOnError ? -1 : states.findIndex((s) => s.outcome);
    const sendable = states.filter((s, i) => s.converted && (firstBad < 0 || i < firstBad));
    const mode = executionModeFor(plan, profile);
    const outcomes = await executeRows(
      {
        client: ctx.client,
        plan,
        mode,
        continueOnError: profile.continueOnError,
        callOptions: callOptionsOf(profile),
        batchSize: profile.batchSize,
        isRetry: work.attempt.attempt > 1,
        loadId: work.record.id,
        blobs: ctx.blobs,
        returnResponses: profile.returnResponses,
        // Only bulk messages split a chunk's rows; a `$batch` chunk need not read its load's record for it.
        parallelRequests:
          mode === 'bulk'
            ? await tailParallelRequests(work.record, () => ctx.store.get(work.record.id), ctx.client)
            : 1,
      },
      sendable.map((s) => s.converted!),
    );
    sendable.forEach((s, i) => (s.outcome = outcomes[i]));
    if (binds && held?.size)
      await keepChunkBinds(binds, work.record.id, work.chunk.chunkIndex, held, states, rowJsonOf);
  } finally {
    leave();
  }
  if (!profile.continueOnError) {
    const stop = states.findIndex((s) => s.outcome?.status === 'failed');
    states.forEach((s, i) => {
      if (stop >= 0 && i > stop) s.outcome = { status: 'notProcessed' };
    });
  }
  for (const s of states) s.outcome ??= { status: 'notProcessed' };
  await recordFailedRows(ctx, work, plan, states, metadata.keys);
  await writeResults(ctx, work, states);
  return states;
}

async function recordFailedRows(
  ctx: LoadContext,
  { record, chunk: message }: ChunkWork,
  plan: LoadPlan | undefined,
  states: RowState[],
  keys: { logicalName: string; attributes: string[] }[] = [],
): Promise<void> {
  const failed: FailedRowRecord[] = [];
  for (const s of states) {
    if (s.outcome?.status !== 'failed') continue;
    const keyJson = plan ? keyJsonOf(plan, s.row, s.converted) : undefined;
    failed.push({
      rowNumber: s.row.rowNumber,
      line: s.row.line,
      chunkIndex: message.chunkIndex,
      code: s.outcome.code,
      ...(plan ? failedRowFields(plan, keys, s.row, s.outcome) : { message: s.outcome.message }),
      ...(keyJson ? { keyJson } : {}),
      rowJson: rowJsonOf(s.row),
    });
  }
  if (failed.length > 0) await ctx.store.putFailedRows(record.id, failed);
}

/** The chunk's ExecuteMultiple-style response items: faults always, successes only with ReturnResponses. */
async function writeResults(ctx: LoadContext, { record, planned, chunk: message }: ChunkWork, states: RowState[]) {
  const items: ChunkResultItem[] = [];
  states.forEach((s, requestIndex) => {
    const o = s.outcome!;
    if (o.status === 'failed')
      items.push({
        requestIndex,
        rowNumber: s.row.rowNumber,
        fault: { code: o.code, message: o.message, ...(o.httpStatus ? { status: o.httpStatus } : {}) },
      });
    else if (o.status === 'succeeded' && planned.profile.returnResponses)
      items.push({
        requestIndex,
        rowNumber: s.row.rowNumber,
        ...(o.id ? { id: o.id } : {}),
        ...(o.operation ? { operation: o.operation } : {}),
      });
  });
  if (items.length === 0) return;
  const name = `${resultsPrefixOf(record.id)}chunk-${String(message.chunkIndex).padStart(6, '0')}.json`;
  await ctx.blobs.writeText(
    ctx.resultsContainer,
    name,
    JSON.stringify({ loadId: record.id, chunkIndex: message.chunkIndex, firstRow: message.firstRow, items }),
    'application/json',
  );
}

/** The last delivery failed too: the chunk's rows are reported failed with the reason, so the load can end. */
async function giveUp(ctx: LoadContext, work: ChunkWork, error: unknown): Promise<RowState[]> {
  const message = work.chunk;
  const reason = `the chunk of rows ${message.firstRow}-${message.firstRow + message.rowCount - 1} failed on every attempt: ${error instanceof Error ? error.message : String(error)}`;
  const states: RowState[] = Array.from({ length: message.rowCount }, (_, i) => ({
    row: { ok: false, rowNumber: message.firstRow + i, line: 0, byteStart: 0, byteEnd: 0, raw: '', message: reason },
    outcome: { status: 'failed', code: 'ChunkFailed', message: reason },
  }));
  await recordFailedRows(ctx, work, undefined, states);
  return states;
}

async function enqueueNext(ctx: LoadContext, record: LoadRecord, chunkIndex: number): Promise<void> {
  if (record.continueOnError !== false || record.stoppedAtRow !== undefined) return;
  if (record.chunkCount === undefined || chunkIndex + 1 >= record.chunkCount) return;
  const next = await ctx.store.getPlan(record.id, chunkIndex + 1);
  if (next) await ctx.chunkQueue.send(next);
}

export async function processChunk(
  ctx: LoadContext,
  message: ChunkMessage,
  attempt: ChunkAttempt = { attempt: 1, maxAttempts: 5 },
): Promise<ChunkResult> {
  const record = await ctx.store.get(message.loadId);
  if (!record) return { kind: 'skipped', reason: 'unknown load' };
  addLogFields({ table: record.table });
  if (isTerminal(record)) return { kind: 'skipped', reason: `load is ${record.status}` };
  const planned = record.plan;
  if (!planned) return { kind: 'skipped', reason: 'load not planned yet' };
  if (await ctx.store.isChunkDone(record.id, message.chunkIndex)) {
    await enqueueNext(ctx, record, message.chunkIndex);
    await tryFinalize(ctx, record.id);
    return { kind: 'alreadyDone' };
  }
  if (record.stoppedAtRow !== undefined) return { kind: 'skipped', reason: 'load stopped at its first fault' };
  // The daily request budget is used up: wait (the load shows `waiting: daily request budget`); past a few minutes
  // the message comes back later instead, so an invocation never outlives its timeout nor burns a delivery.
  if (ctx.requestBudget && !(await ctx.requestBudget.waitForRoom({ maxWaitMs: budgetWaitMs }))) {
    await ctx.chunkQueue.send(message, { visibilityDelaySeconds: budgetRetrySeconds });
    return { kind: 'skipped', reason: 'waiting: daily request budget' };
  }

  const startedAt = ctx.now();
  await ctx.store.markChunkStarted(record.id, message.chunkIndex, isoAt(startedAt));
  const before = ctx.client.metrics();
  const work: ChunkWork = { record, planned, chunk: message, attempt };
  let states: RowState[];
  try {
    states = await runChunk(ctx, work);
  } catch (error) {
    // The file changed, no longer matches its plan, or its table went away: no retry can help.
    const problem = fileProblemOf(error);
    if (problem) {
      await failLoad(ctx, record.id, problem);
      return { kind: 'skipped', reason: problem.message };
    }
    if (attempt.attempt < attempt.maxAttempts) throw error;
    ctx.log?.warn('Chunk failed on its last attempt; its rows are reported as failed', {
      loadId: record.id,
      chunkIndex: message.chunkIndex,
      attempt: attempt.attempt,
      error,
    });
    states = await giveUp(ctx, work, error);
  }

  const count = (status: RowOutcome['status']) => states.filter((s) => s.outcome!.status === status).length;
  const succeeded = count('succeeded');
  const failed = count('failed');
  let notProcessed = count('notProcessed');
  const stopRow =
    record.continueOnError === false ? states.find((s) => s.outcome!.status === 'failed')?.row.rowNumber : undefined;
  const throttle = ctx.takeThrottleCounts();
  const lastRow = message.firstRow + message.rowCount - 1;
  const { applied, record: after } = await ctx.store.completeChunk(
    record.id,
    message.chunkIndex,
    (r) => {
      // A stop also accounts for every row of the chunks that will never run.
      const later = stopRow !== undefined && r.total !== undefined ? Math.max(0, r.total - lastRow) : 0;
      return {
        succeeded: r.succeeded + succeeded,
        failed: r.failed + failed,
        notProcessed: r.notProcessed + notProcessed + later,
        chunksDone: r.chunksDone + 1,
        throttled: r.throttled + throttle.throttled,
        retries: r.retries + throttle.retries,
        updatedAt: isoAt(ctx.now()),
        ...(stopRow !== undefined ? { stoppedAtRow: stopRow } : {}),
      };
    },
    {
      at: isoAt(ctx.now()),
      succeeded,
      failed,
      notProcessed,
      throttled: throttle.throttled,
      concurrency: ctx.client.metrics().concurrency.limit,
    },
  );
  if (!applied) notProcessed = 0;
  else
    recordChunkOutcome({
      table: record.table,
      succeeded,
      failedCodes: states.flatMap((s) => (s.outcome!.status === 'failed' ? [s.outcome!.code] : [])),
      notProcessed,
      durationMs: ctx.now() - startedAt,
    });
  ctx.log?.info(
    applied ? 'Chunk completed' : 'Chunk completed by another delivery meanwhile',
    chunkMetricsFields({
      loadId: record.id,
      chunkIndex: message.chunkIndex,
      rows: message.rowCount,
      succeeded,
      failed,
      notProcessed,
      durationMs: ctx.now() - startedAt,
      throttle,
      before,
      after: ctx.client.metrics(),
      attempt: attempt.attempt,
    }),
  );
  if (applied && stopRow === undefined) await enqueueNext(ctx, after, message.chunkIndex);
  const ended = await tryFinalize(ctx, record.id);
  if (ended) ctx.log?.info('Load metrics', loadMetricsFields(ended));
  return applied ? { kind: 'completed', succeeded, failed, notProcessed } : { kind: 'alreadyDone' };
}
