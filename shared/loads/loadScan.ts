/**
 * A file arrived under `incoming/{table}/`. `acceptLoad` (the blob trigger) creates (or finds) the load,
 * resolves its profile, reads the table's metadata, plans the columns from the file's start and queues a scan
 * message; `scanLoad` (that message) reads the file once as a stream, cutting it into chunks of byte ranges that
 * go out as small queue messages while the scan goes on. `startLoad` does both in one call. Anything wrong with the file
 * itself ends the load as failed with a message for the user; only infrastructure errors are thrown (so the
 * trigger retries them). A re-delivered blob is the same load (its id comes from path + ETag) and re-scans:
 * chunk messages may repeat, chunk work is idempotent.
 */
import { uuidV5 } from '../ingestion/recordId';
import { ChunkPlanner } from '../ingestion/chunkPlanning';
import { formatBytes, IngestionError } from '../ingestion/ingestionError';
import { planLoad } from '../ingestion/loadPlan';
import {
  parseProfileJson,
  resolveLoadProfile,
  type LoadProfile,
  type LoadProfileInput,
} from '../ingestion/loadProfile';
import { openFile, type FileShape } from '../ingestion/readers/fileReader';
import { BlobChangedError, type BlobFile } from './blobSource';
import { indexLoad, isoAt, type LoadContext } from './loadContext';
import { fileProblemOf } from './fileProblem';
import { inFileLookups, InFileReferenceScan } from './inFileBinds';
import { executionModeFor } from './chunkExecution';
import { failLoad, tryFinalize } from './loadEnd';
import { isTerminal, newLoadRecord, type ChunkMessage, type LoadRecord, type ScanMessage } from './loadRecord';
import type { PlannedLoad } from './plannedLoad';
import { retryProfileOf } from './loadRetry';
import { loadMetricsFields } from '../observability/loadMetrics';
import { addLogFields } from '../observability/logScope';
import { loadIdPattern } from '../security/inputChecks';

export const profileFileName = '_profile.json';
const ignoredFolders = new Set(['processed', 'failed']);

export type StartLoadResult =
  | { kind: 'ignored'; reason: string }
  | { kind: 'gone' }
  | { kind: 'finished'; record: LoadRecord }
  | { kind: 'failed'; record: LoadRecord }
  | { kind: 'scanned'; record: LoadRecord }
  /** Checked and recorded; a scan message is queued. */
  | { kind: 'accepted'; record: LoadRecord };

/** Why a blob under the container is not a file to load, or undefined when it is. */
export function ignoredReason(blobName: string): string | undefined {
  const parts = blobName.split('/');
  if (parts.length < 2) return 'not in a table folder (drop files as <table>/<file>)';
  if (parts.some((p) => ignoredFolders.has(p))) return 'under processed/ or failed/';
  if (parts.at(-1) === profileFileName) return 'a load profile, not data';
  if (parts.at(-1)!.startsWith('.')) return 'a hidden file';
  return undefined;
}

/** The load id of a dropped blob: set by the HTTP API in metadata, else derived from path + ETag. */
export function loadIdFor(file: Pick<BlobFile, 'container' | 'name' | 'etag' | 'metadata'>): string {
  const given = file.metadata.loadid;
  if (given && loadIdPattern.test(given)) return given;
  return uuidV5(`${file.container}/${file.name}@${file.etag}`);
}

async function folderProfile(
  ctx: LoadContext,
  container: string,
  blobName: string,
): Promise<LoadProfileInput | undefined> {
  const folder = blobName.slice(0, blobName.lastIndexOf('/'));
  const text = await ctx.blobs.readText(container, `${folder}/${profileFileName}`);
  return text === undefined ? undefined : parseProfileJson(text, `${folder}/${profileFileName}`);
}

function toMessage(
  loadId: string,
  c: {
    chunkIndex: number;
    firstRow: number;
    lastRow: number;
    firstLine: number;
    byteRange?: { start: number; end: number };
  },
): ChunkMessage {
  return {
    loadId,
    chunkIndex: c.chunkIndex,
    firstRow: c.firstRow,
    rowCount: c.lastRow - c.firstRow + 1,
    firstLine: c.firstLine,
    ...(c.byteRange ? { byteStart: c.byteRange.start, byteEnd: c.byteRange.end } : {}),
  };
}

type Recorded = { kind: 'recorded'; loadId: string; table: string; file: BlobFile };

/** Creates (or finds) the load of a dropped blob; a result when there is nothing left to start. */
async function recordLoad(
  ctx: LoadContext,
  blob: { container: string; name: string },
): Promise<StartLoadResult | Recorded> {
  const ignored = ignoredReason(blob.name);
  if (ignored) return { kind: 'ignored', reason: ignored };
  const table = blob.name.split('/')[0]!;
  // Planning needs the table's metadata (two rounds of Dataverse reads): fetch it while the load is recorded.
  // The source caches the promise, so the plan step awaits this same read; its failure surfaces there.
  ctx.metadata.get(table).catch(() => undefined);
  const file = await ctx.blobs.properties(blob.container, blob.name);
  if (!file) return { kind: 'gone' };
  const loadId = loadIdFor(file);
  addLogFields({ loadId });
  const now = isoAt(ctx.now());
  const { created, record: existing } = await ctx.store.createIfAbsent(
    newLoadRecord(
      {
        id: loadId,
        status: 'running',
        table,
        container: file.container,
        blobName: file.name,
        blobEtag: file.etag,
        startedAt: now,
        source: 'blob',
      },
      now,
    ),
  );
  if (created) await indexLoad(ctx, existing);
  if (isTerminal(existing)) return { kind: 'finished', record: existing };
  if (existing.scanComplete) return { kind: 'scanned', record: existing };
  if (existing.status === 'queued') {
    await ctx.store.mutate(loadId, (r) =>
      r.status === 'queued'
        ? { status: 'running', startedAt: now, updatedAt: now, blobEtag: file.etag, blobName: file.name }
        : undefined,
    );
    await ctx.index.updateJobState(loadId, 'running');
  }
  return { kind: 'recorded', loadId, table, file };
}

/** Runs `work`; a problem with the file itself (not infrastructure) ends the load as failed. */
async function failingOnFileProblems(
  ctx: LoadContext,
  loadId: string,
  table: string,
  work: () => Promise<StartLoadResult>,
): Promise<StartLoadResult> {
  try {
    return await work();
  } catch (error) {
    const problem = fileProblemOf(error);
    if (!problem) throw error;
    ctx.log?.warn('Load cannot proceed', {
      loadId,
      table,
      code: problem.code,
      requestId: (error as { requestId?: string }).requestId,
    });
    return { kind: 'failed', record: await failLoad(ctx, loadId, problem) };
  }
}

/** Records the load and scans the file in this call (the sweeper's resume, tests). */
export async function startLoad(ctx: LoadContext, blob: { container: string; name: string }): Promise<StartLoadResult> {
  const recorded = await recordLoad(ctx, blob);
  if (recorded.kind !== 'recorded') return recorded;
  const { loadId, table, file } = recorded;
  return failingOnFileProblems(ctx, loadId, table, () => scan(ctx, loadId, table, file, 'scan'));
}

/**
 * What the blob trigger does: records the load and checks what can be checked from the file's start (size,
 * profile, table, header against the metadata). A small file (≤ `inlineScanMaxBytes`) is then scanned here: one
 * queue hop less before its first chunk. A larger one gets a scan message, so the trigger returns within a
 * second whatever the file's size and the scan runs in a queue invocation (`scanLoad`) with the queue's retries.
 * A re-delivered blob scans or queues again; a scan of a scanned load does nothing, chunk work is idempotent.
 */
export async function acceptLoad(
  ctx: LoadContext,
  blob: { container: string; name: string },
  options: AcceptOptions = {},
): Promise<StartLoadResult> {
  const recorded = await recordLoad(ctx, blob);
  if (recorded.kind !== 'recorded') return recorded;
  const { loadId, table, file } = recorded;
  const mode = file.contentLength <= ctx.inlineScanMaxBytes ? 'scan' : 'check';
  return failingOnFileProblems(ctx, loadId, table, () => scan(ctx, loadId, table, file, mode, options.queueScan));
}

export interface AcceptOptions {
  /**
   * Delivers the scan message instead of ctx.chunkQueue: the blob trigger hands it to its queue output binding,
   * which the host writes only if the invocation succeeds and which wakes the host's listener on that queue at once
   * (a message sent with the SDK waits for the listener's next poll, up to maxPollingInterval).
   */
  queueScan?: (message: ScanMessage) => void;
}

/**
 * A scan message: scans the load's file (pinned to the ETag the load recorded) unless the load is already
 * scanned or over. Delivered twice, the second finds the scan complete, or (if both run at once) plans the
 * same chunks again: chunk work is idempotent.
 */
export async function scanLoad(ctx: LoadContext, loadId: string): Promise<StartLoadResult> {
  addLogFields({ loadId });
  const record = await ctx.store.get(loadId);
  if (!record) return { kind: 'gone' };
  if (isTerminal(record)) return { kind: 'finished', record };
  if (record.scanComplete) return { kind: 'scanned', record };
  return failingOnFileProblems(ctx, loadId, record.table, async () => {
    const file = await ctx.blobs.properties(record.container, record.blobName);
    const where = `${record.container}/${record.blobName}`;
    if (!file) throw new BlobChangedError(`${where} was deleted before it was read`);
    if (record.blobEtag && file.etag !== record.blobEtag)
      throw new BlobChangedError(`${where} was replaced before it was read`);
    return scan(ctx, loadId, record.table, file, 'scan');
  });
}

async function scan(
  ctx: LoadContext,
  loadId: string,
  table: string,
  file: BlobFile,
  mode: 'check' | 'scan',
  queueScan?: AcceptOptions['queueScan'],
): Promise<StartLoadResult> {
  if (file.contentLength > ctx.maxFileBytes) {
    throw new IngestionError(
      'RecordTooLarge',
      `file is ${formatBytes(file.contentLength)}, over the ${formatBytes(ctx.maxFileBytes)} limit (LOAD_MAX_FILE_BYTES): split it into smaller files`,
    );
  }
  const retry = await retryProfileOf(ctx, loadId);
  const profile: LoadProfile =
    retry?.profile ??
    resolveLoadProfile({
      folderProfile: await folderProfile(ctx, file.container, file.name),
      blobMetadata: file.metadata,
    });
  const metadata = await ctx.metadata.get(table);
  const opened = await openFile(ctx.blobs.read(file), {
    fileName: file.name,
    ...(file.contentType ? { contentType: file.contentType } : {}),
    ...(profile.delimiter ? { delimiter: profile.delimiter } : {}),
    ...(profile.limits ? { limits: profile.limits } : {}),
  });
  let rowsSeen = 0;
  const sequential = !profile.continueOnError;
  try {
    const plan = planLoad(metadata, profile, opened.columns);
    const shape: FileShape = {
      format: opened.format,
      encoding: opened.encoding,
      compressed: opened.compressed,
      byteOffsetsAreBlobOffsets: opened.byteOffsetsAreBlobOffsets,
      ...(opened.header ? { header: opened.header } : {}),
      ...(opened.sheet ? { sheet: opened.sheet } : {}),
    };
    const chunkSize = Math.min(1000, ctx.chunkSize, profile.batchSize);
    // Rows naming rows of this file: chunk messages wait until the whole file is seen (see inFileBinds.ts).
    const lookups = ctx.inFileBinds ? inFileLookups(plan) : [];
    const references = lookups.length > 0 ? new InFileReferenceScan(lookups) : undefined;
    const held: ChunkMessage[] = [];
    const planned: PlannedLoad = {
      shape,
      ...(opened.header ? {} : { columns: opened.columns }),
      profile,
      blobEtag: file.etag,
      fileKey: `${file.container}/${file.name}@${file.etag}`,
      chunkSize,
      ...(retry?.retryRowsBlob ? { retryRowsBlob: retry.retryRowsBlob } : {}),
      ...(references ? { inFileBinds: true as const } : {}),
    };
    const described = await ctx.store.mutate(loadId, (r) => ({
      operation: plan.operation,
      format: opened.format,
      continueOnError: profile.continueOnError,
      returnResponses: profile.returnResponses,
      executionMode: profile.executionMode,
      // A plan's load: the lookups its plan binds later (planBinds.ts), as the plan engine recorded them.
      plan: r.crossTableBinds ? { ...planned, crossTableBinds: r.crossTableBinds } : planned,
      blobEtag: file.etag,
      updatedAt: isoAt(ctx.now()),
    }));

    if (mode === 'check') {
      const message: ScanMessage = { kind: 'scan', loadId };
      if (queueScan) queueScan(message);
      else await ctx.chunkQueue.send(message);
      return { kind: 'accepted', record: described.record };
    }

    const planner = new ChunkPlanner({
      loadId,
      chunkSize,
      byteRanges: opened.byteOffsetsAreBlobOffsets,
    });
    const emit = async (descriptor: Parameters<typeof toMessage>[1] | undefined) => {
      if (!descriptor) return;
      const message = toMessage(loadId, descriptor);
      await ctx.store.savePlan([message]);
      if (references) held.push(message);
      else if (!sequential) await ctx.chunkQueue.send(message);
    };
    let scanError: { code: string; message: string } | undefined;
    try {
      for await (const row of opened.rows) {
        if (row.byteEnd > ctx.maxFileBytes) {
          throw new IngestionError(
            'RecordTooLarge',
            `file is over the ${formatBytes(ctx.maxFileBytes)} limit (LOAD_MAX_FILE_BYTES) once decompressed: split it into smaller files`,
          );
        }
        rowsSeen++;
        references?.add(row);
        await emit(
          planner.add({ rowNumber: row.rowNumber, line: row.line, byteStart: row.byteStart, byteEnd: row.byteEnd }),
        );
      }
    } catch (error) {
      const problem = fileProblemOf(error);
      if (!problem || rowsSeen === 0) throw error;
      // The file breaks after some rows: those rows are loaded and counted, the load ends failed with the reason.
      scanError = {
        code: problem.code,
        message: `${problem.message} (the file could not be read past row ${rowsSeen}; rows 1-${rowsSeen} were processed)`,
      };
    }
    await emit(planner.finish());
    if (references) {
      const inOrderWithinChunk = executionModeFor(plan, profile) === 'batch';
      await ctx.inFileBinds!.saveChunkDeferrals(loadId, references.finish({ chunkSize, inOrderWithinChunk }));
      // Sent before the scan is marked complete: a crash before then re-scans and sends them again.
      if (!sequential) for (const message of held) await ctx.chunkQueue.send(message);
    }
    const chunkCount = Math.ceil(rowsSeen / chunkSize);
    const { record } = await ctx.store.mutate(loadId, () => ({
      total: rowsSeen,
      chunkCount,
      scanComplete: true,
      scanCompletedAt: isoAt(ctx.now()),
      updatedAt: isoAt(ctx.now()),
      ...(scanError ? { errorCode: scanError.code, message: scanError.message } : {}),
    }));
    if (sequential) {
      const first = await ctx.store.getPlan(loadId, 0);
      if (first) await ctx.chunkQueue.send(first);
    }
    // Chunks may all have finished while the scan ran (they don't end a load whose scan is open).
    const finished = await tryFinalize(ctx, loadId);
    ctx.log?.info('Load scanned', { loadId, table, rows: rowsSeen, chunks: chunkCount, sequential });
    if (finished) ctx.log?.info('Load metrics', loadMetricsFields(finished));
    return { kind: 'scanned', record: finished ?? record };
  } finally {
    await opened.close();
  }
}
