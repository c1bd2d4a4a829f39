/** What the load engine's parts share: storage seams, the Dataverse client, events, settings, clock. */
import type { DataverseClient } from '../dataverse/index';
import type { JobEventPublisher } from '../events/jobEvents';
import type { JobIndex } from '../storage/jobIndex';
import type { RequestBudget } from '../storage/requestMeter';
import type { BlobSource } from './blobSource';
import type { InFileBindStore } from './inFileBinds';
import type { LoadQueueMessage, LoadRecord } from './loadRecord';
import type { LoadStore } from './loadStore';
import type { TableMetadataSource } from './tableMetadataSource';

export interface LoadLogger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  /** shared/observability Logger has it; small test loggers may not. */
  error?(message: string, data?: Record<string, unknown>): void;
}

export interface ChunkQueue {
  /** `visibilityDelaySeconds`: the message shows up that much later (a chunk waiting for the daily budget). */
  send(message: LoadQueueMessage, options?: { visibilityDelaySeconds?: number }): Promise<void>;
}

/** What a plan (shared/planLoads) is told about its loads. */
export interface PlanHooks {
  /** A load of the plan is written: terminal, or complete and waiting for the plan to release its cross-table binds. */
  loadWritten(record: LoadRecord): Promise<void>;
  /** A plan file dropped at `_plans/<file>`: the plan engine accepts it (the blob trigger is the loads'). */
  planDropped?(blob: { container: string; name: string }): Promise<PlanDropped>;
}

export type PlanDropped = { kind: 'plan'; planId: string; status: string } | { kind: 'gone' };

export interface LoadContext {
  store: LoadStore;
  blobs: BlobSource;
  client: DataverseClient;
  metadata: TableMetadataSource;
  chunkQueue: ChunkQueue;
  events: JobEventPublisher;
  index: JobIndex;
  /** The second pass of files whose rows name rows of the same file (inFileBinds.ts); without it, none is made. */
  inFileBinds?: InFileBindStore;
  /** Plans of several tables: told when a load of a plan is written, so the plan advances. */
  planHooks?: PlanHooks;
  /** LOAD_CONTAINER and LOAD_RESULTS_CONTAINER. */
  container: string;
  resultsContainer: string;
  /** Rows per chunk (≤ 1000: one ExecuteMultiple). */
  chunkSize: number;
  maxFileBytes: number;
  /** A dropped file up to this size is scanned by the blob trigger itself, larger ones by a scan message. */
  inlineScanMaxBytes: number;
  /** A running load without progress for this long is resumed by the sweeper. */
  stallMs: number;
  now: () => number;
  /** 429s and retries of the client since the last call (see createThrottleTap). */
  takeThrottleCounts: () => { throttled: number; retries: number };
  /** The environment's daily request budget: while it is used up, chunks wait instead of sending. */
  requestBudget?: RequestBudget;
  log?: LoadLogger;
}

/** The folder of plan files (shared/planLoads): `_plans/<file>` is a plan, `_plans/<planId>/…` its staged files. */
export const PLANS_FOLDER = '_plans';

export const isoAt = (ms: number) => new Date(ms).toISOString();
export const statusUrlOf = (loadId: string) => `/api/loads/${encodeURIComponent(loadId)}`;

/** Lists a new load in the job index (GET /api/jobs). */
export function indexLoad(ctx: Pick<LoadContext, 'index'>, record: LoadRecord): Promise<void> {
  return ctx.index.recordJob({
    id: record.id,
    kind: 'load',
    state: record.status,
    createdAt: record.createdAt,
    name: `${record.container}/${record.blobName}`,
    statusUrl: statusUrlOf(record.id),
  });
}

/**
 * Tells the load's plan (if any) that the load is written. The plan's own sweep redoes the advance, so a failure
 * here is logged, never thrown: the load's end stands whatever the plan does with it.
 */
export async function notifyPlan(ctx: Pick<LoadContext, 'planHooks' | 'log'>, record: LoadRecord): Promise<void> {
  if (!record.planId || !ctx.planHooks) return;
  try {
    await ctx.planHooks.loadWritten(record);
  } catch (error) {
    ctx.log?.warn('Plan not advanced yet; the plan sweep will', {
      loadId: record.id,
      planId: record.planId,
      error: String(error),
    });
  }
}

/**
 * Throttling seen by this process's Dataverse client since the last call: each 429 and retry is attributed once,
 * to the chunk that finishes next (exact per process; approximate per load when loads run side by side).
 */
export function createThrottleTap(
  client: Pick<DataverseClient, 'metrics'>,
): () => { throttled: number; retries: number } {
  let seen = { throttled: client.metrics().throttled.total, retries: client.metrics().retries };
  return () => {
    const m = client.metrics();
    const delta = { throttled: m.throttled.total - seen.throttled, retries: m.retries - seen.retries };
    seen = { throttled: m.throttled.total, retries: m.retries };
    return delta;
  };
}
