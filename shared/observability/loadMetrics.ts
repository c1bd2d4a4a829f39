/**
 * The figures an operator needs per chunk and per load, as log fields: rows/s, 429s, retries, batch sizes
 * used. Pure: the chunk worker hands in the client's metrics before and after the chunk and the load record.
 */
import type { LogFields } from './logger';

export interface ClientCounters {
  requests: number;
  throttled: { total: number; byCode: Record<string, number> };
  retries: number;
  batchSizes: Record<string, number>;
  bulkSizes: Record<string, number>;
  maxBatchSize?: number;
}

/** What changed in a size histogram: `{ "1000": 2, "250": 1 }` (sizes with no new request left out). */
export function histogramDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [size, count] of Object.entries(after)) {
    const added = count - (before[size] ?? 0);
    if (added > 0) delta[size] = added;
  }
  return delta;
}

/**
 * One chunk's figures. Counters come from the worker's shared client, so with chunks running side by side in
 * one worker they are attributed to the chunk that reads them (exact in total, approximate per chunk).
 */
export function chunkMetricsFields(input: {
  loadId: string;
  chunkIndex: number;
  rows: number;
  succeeded: number;
  failed: number;
  notProcessed: number;
  durationMs: number;
  throttle: { throttled: number; retries: number };
  before: ClientCounters;
  after: ClientCounters;
  attempt: number;
}): LogFields {
  const seconds = input.durationMs / 1000;
  return {
    loadId: input.loadId,
    chunkIndex: input.chunkIndex,
    attempt: input.attempt,
    rows: input.rows,
    succeeded: input.succeeded,
    failed: input.failed,
    notProcessed: input.notProcessed,
    durationMs: Math.round(input.durationMs),
    rowsPerSecond: seconds > 0 ? Math.round((input.succeeded + input.failed) / seconds) : undefined,
    requests: input.after.requests - input.before.requests,
    throttled: input.throttle.throttled,
    throttledByCode: histogramDelta(input.before.throttled.byCode, input.after.throttled.byCode),
    retries: input.throttle.retries,
    batchSizes: histogramDelta(input.before.batchSizes, input.after.batchSizes),
    bulkSizes: histogramDelta(input.before.bulkSizes, input.after.bulkSizes),
    maxBatchSize: input.after.maxBatchSize,
  };
}

/** A finished load's figures, from its record. */
export function loadMetricsFields(record: {
  id: string;
  table: string;
  status: string;
  total?: number;
  succeeded: number;
  failed: number;
  notProcessed: number;
  throttled: number;
  retries: number;
  chunkCount?: number;
  startedAt?: string;
  finishedAt?: string;
  createdAt: string;
}): LogFields {
  const started = Date.parse(record.startedAt ?? record.createdAt);
  const finished = record.finishedAt ? Date.parse(record.finishedAt) : undefined;
  const seconds =
    finished !== undefined && Number.isFinite(started) ? Math.max(0, (finished - started) / 1000) : undefined;
  const processed = record.succeeded + record.failed;
  return {
    loadId: record.id,
    table: record.table,
    status: record.status,
    total: record.total,
    succeeded: record.succeeded,
    failed: record.failed,
    notProcessed: record.notProcessed,
    chunks: record.chunkCount,
    durationSeconds: seconds,
    rowsPerSecond: seconds !== undefined && seconds > 0 ? Math.round(processed / seconds) : undefined,
    throttled: record.throttled,
    retries: record.retries,
  };
}
