/**
 * What the load functions call with their trigger input, undecoded: a dropped blob's path parts, a chunk
 * queue item. Every input is checked here (names, sizes, schema) before it reaches storage or Dataverse; a
 * rejected input is answered with a reason and never retried (retrying cannot make it valid).
 */
import { decodeQueueMessage } from '../events/jobEvents';
import { addLogFields } from '../observability/logScope';
import {
  checkBlobName,
  checkBlobSegment,
  checkLogicalName,
  checkQueueMessageSize,
  InputRejectedError,
} from '../security/inputChecks';
import { processChunk, type ChunkAttempt, type ChunkResult } from './chunkWorker';
import { PLANS_FOLDER, type LoadContext, type PlanDropped } from './loadContext';
import { isScanMessage, parseLoadQueueMessage, type LoadQueueMessage } from './loadRecord';
import { acceptLoad, scanLoad, type AcceptOptions, type StartLoadResult } from './loadScan';

export type Rejected = { kind: 'rejected'; code: string; reason: string };

/** Blob names under a table folder: `<file>` or a few sub-folders deep (`processed/…`, `failed/…`). */
const maxNameSegments = 8;

export interface DroppedFile {
  container: string;
  /** `{table}` of `incoming/{table}/{name}`. */
  table: string;
  /** `{name}`: the rest of the path. */
  name: string;
}

/** A plan file: the plan engine takes it; the files a plan stages below it are loaded by the plan, not by the drop. */
async function receivePlanFile(ctx: LoadContext, drop: DroppedFile): Promise<PlanDropped | Rejected | Ignored> {
  if (drop.name.includes('/')) return { kind: 'ignored', reason: 'a file staged by a plan (the plan loads it)' };
  try {
    checkBlobName(drop.name, 'the plan file name', { maxSegments: 1 });
  } catch (error) {
    if (!(error instanceof InputRejectedError)) throw error;
    ctx.log?.warn('Dropped plan rejected', { container: drop.container, code: error.code, reason: error.message });
    return { kind: 'rejected', code: error.code, reason: error.message };
  }
  if (!ctx.planHooks?.planDropped) return { kind: 'ignored', reason: 'plans are not enabled' };
  const result = await ctx.planHooks.planDropped({ container: drop.container, name: `${PLANS_FOLDER}/${drop.name}` });
  ctx.log?.info('Dropped plan handled', {
    blob: `${drop.container}/${PLANS_FOLDER}/${drop.name}`,
    ...(result.kind === 'plan' ? { planId: result.planId, status: result.status } : { result: result.kind }),
  });
  return result;
}

type Ignored = { kind: 'ignored'; reason: string };

export async function receiveDroppedFile(
  ctx: LoadContext,
  drop: DroppedFile,
  options: AcceptOptions = {},
): Promise<StartLoadResult | PlanDropped | Rejected> {
  if (drop.table === PLANS_FOLDER) return receivePlanFile(ctx, drop);
  try {
    checkBlobSegment(drop.table, 'the table folder');
    checkLogicalName(drop.table, 'table');
    checkBlobName(drop.name, 'the file name', { maxSegments: maxNameSegments });
  } catch (error) {
    if (!(error instanceof InputRejectedError)) throw error;
    ctx.log?.warn('Dropped file rejected', { container: drop.container, code: error.code, reason: error.message });
    return { kind: 'rejected', code: error.code, reason: error.message };
  }
  const result = await acceptLoad(ctx, { container: drop.container, name: `${drop.table}/${drop.name}` }, options);
  if (result.kind === 'ignored')
    ctx.log?.info('Dropped file ignored', {
      container: drop.container,
      blob: `${drop.table}/${drop.name}`,
      reason: result.reason,
    });
  else if ('record' in result)
    ctx.log?.info('Dropped file handled', {
      loadId: result.record.id,
      blob: `${drop.container}/${drop.table}/${drop.name}`,
      result: result.kind,
      status: result.record.status,
    });
  return result;
}

/** A load-chunks queue item as the host hands it over (base64-decoded text, or the JSON it parsed) → a scan or chunk message. */
export function decodeLoadQueueMessage(
  item: unknown,
): { ok: true; message: LoadQueueMessage } | { ok: false; reason: string } {
  try {
    checkQueueMessageSize(item, 'load-chunks');
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  let raw: unknown = item;
  if (typeof item === 'string') {
    try {
      raw = decodeQueueMessage(item);
    } catch {
      return { ok: false, reason: 'not JSON (nor base64 JSON)' };
    }
  }
  const parsed = parseLoadQueueMessage(raw);
  if (!parsed.success)
    return {
      ok: false,
      reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; '),
    };
  return { ok: true, message: parsed.data };
}

/**
 * One delivery of a load-chunks message: a scan message scans the load's file, a chunk message processes its
 * rows. A message that can never be processed is dropped with a log line rather than retried into the poison
 * queue; infrastructure errors are thrown so the host retries.
 */
export async function receiveLoadQueueMessage(
  ctx: LoadContext,
  item: unknown,
  attempt: ChunkAttempt,
): Promise<ChunkResult | StartLoadResult | Rejected> {
  const decoded = decodeLoadQueueMessage(item);
  if (!decoded.ok) {
    ctx.log?.error?.('Chunk message rejected and dropped', { code: 'InvalidChunkMessage', reason: decoded.reason });
    return { kind: 'rejected', code: 'InvalidChunkMessage', reason: decoded.reason };
  }
  const { message } = decoded;
  if (isScanMessage(message)) {
    const result = await scanLoad(ctx, message.loadId);
    ctx.log?.info('Scan message handled', {
      loadId: message.loadId,
      attempt: attempt.attempt,
      result: result.kind,
      ...('record' in result ? { status: result.record.status } : {}),
    });
    return result;
  }
  addLogFields({ loadId: message.loadId, chunkIndex: message.chunkIndex });
  const result = await processChunk(ctx, message, attempt);
  if (result.kind !== 'completed')
    ctx.log?.info(`Chunk ${result.kind}`, {
      loadId: message.loadId,
      chunkIndex: message.chunkIndex,
      attempt: attempt.attempt,
      ...('reason' in result ? { reason: result.reason } : {}),
    });
  return result;
}
