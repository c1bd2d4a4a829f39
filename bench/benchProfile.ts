/**
 * The emulator settings every throughput loader runs against, and how they are time-scaled.
 *
 * Dataverse model (emulated time): the default service protection limits (6,000 requests and 1,200 s of
 * execution per 5-minute window, 52 concurrent), and a latency model of 100 ms per HTTP request plus 10 ms per
 * create (dataverse-wire.md §3; anchors.md §5: ExecuteMultiple ran 500 creates in 14 s in 2013, today's
 * simple-table creates take a few ms to tens of ms). A target of a bulk message (CreateMultiple/UpsertMultiple)
 * costs 0.25 of that (`bulkOperationFactor`): the only published figure is Microsoft's BulkOperations sample
 * output, 100 creates by CreateMultiple in 1 s against 4 s by ExecuteMultiple (dataverse-wire.md §2.3,
 * anchors.md §5), and optimize-performance-create-update.md calls bulk messages the "highest possible throughput".
 *
 * Speed-up k = 2.5 (was 10 while bulk cost the same as `$batch`): the bulk ceiling is 1,538 Dataverse rows/s, so
 * k = 2.5 puts it at 3,846 real rows/s: a third of what the pipeline pushes here with no limits (~10,800 rows/s)
 * and a tenth of the emulator's own bulk rate, so the figure stays about Dataverse's limits, not this machine.
 *
 * Scaling, so a 100k-row run takes seconds to minutes instead of an hour:
 * - speed-up k: the emulator's `timeScale` = k and every latency ÷ k. Latency, windows and Retry-After all run k
 *   times faster; the execution budget (execution ms per second) is unchanged, so every ceiling is exactly k
 *   times its Dataverse value (test/bench/ceiling.test.ts proves it), and rows/s ÷ ceiling does not move.
 * - window shrink s: windowSeconds, requestsPerWindow and executionMsPerWindow ÷ s. The per-second budgets stay
 *   those of Dataverse (the ceiling does not change) but the first window's burst allowance is s times smaller,
 *   so a run of a few seconds spans many windows and measures the steady state the ceiling describes, not the burst.
 * What does not scale: CPU (parsing, encoding, the emulator's own work) and the 1-second floor of Retry-After.
 * Both make the figures conservative for fast loaders (CPU is a larger share of each request) and penalise
 * loaders that trip the limits (a 1 s real wait is k emulated seconds).
 */
import type { EmulatorOptions, EmulatorStats } from '../dev/emulator/index';
import {
  bestThroughputCeiling,
  throughputCeiling,
  type BestCeiling,
  type Ceiling,
  type CeilingLatency,
  type CeilingLimits,
  type RequestShape,
} from './ceiling';

export interface BenchProfile {
  /** Dataverse-time latency model. */
  dataverseLatency: { baseMs: number; perOperationMs: number; bulkOperationFactor: number };
  speedUp: number;
  windowShrink: number;
  dopHint: number;
}

export const defaultBenchProfile: BenchProfile = {
  dataverseLatency: { baseMs: 100, perOperationMs: 10, bulkOperationFactor: 0.25 },
  speedUp: 2.5,
  windowShrink: 10,
  dopHint: 4,
};

const DATAVERSE_LIMITS = {
  requestsPerWindow: 6000,
  executionMsPerWindow: 1_200_000,
  windowSeconds: 300,
  concurrency: 52,
};

export function scaledLimits(profile: BenchProfile): CeilingLimits {
  const s = profile.windowShrink;
  return {
    requestsPerWindow: Math.round(DATAVERSE_LIMITS.requestsPerWindow / s),
    executionMsPerWindow: DATAVERSE_LIMITS.executionMsPerWindow / s,
    windowSeconds: DATAVERSE_LIMITS.windowSeconds / s,
    concurrency: DATAVERSE_LIMITS.concurrency,
    timeScale: profile.speedUp,
  };
}

export function scaledLatency(profile: BenchProfile): CeilingLatency {
  // The bulk factor is a ratio of two latencies: it does not scale.
  const { baseMs, perOperationMs, bulkOperationFactor } = profile.dataverseLatency;
  return { baseMs: baseMs / profile.speedUp, perOperationMs: perOperationMs / profile.speedUp, bulkOperationFactor };
}

export function emulatorOptionsFor(profile: BenchProfile): EmulatorOptions {
  return {
    port: 0,
    limits: scaledLimits(profile),
    latency: { ...scaledLatency(profile), perTable: {} },
    dopHint: profile.dopHint,
  };
}

/** Ceiling at a loader's batch size and request shape, in real rows/s against the scaled emulator. */
export function ceilingFor(profile: BenchProfile, batchSize: number, shape: RequestShape): Ceiling {
  return throughputCeiling({ limits: scaledLimits(profile), latency: scaledLatency(profile), batchSize, shape });
}

/**
 * The best ceiling the limits allow for any batch size up to 1000 and either shape (the one every loader is
 * compared with); `shapes: ['batch']` gives the best a `$batch`-only loader could reach.
 */
export function bestCeilingFor(profile: BenchProfile, shapes?: readonly RequestShape[]): BestCeiling {
  return bestThroughputCeiling({
    limits: scaledLimits(profile),
    latency: scaledLatency(profile),
    maxBatchSize: 1000,
    ...(shapes ? { shapes } : {}),
  });
}

export function describeProfile(profile: BenchProfile): Record<string, unknown> {
  const limits = scaledLimits(profile);
  return {
    dataverseLatency: profile.dataverseLatency,
    speedUp: profile.speedUp,
    windowShrink: profile.windowShrink,
    emulatorLimits: limits,
    emulatorLatency: scaledLatency(profile),
    bestCeiling: bestCeilingFor(profile),
    bestBatchCeiling: bestCeilingFor(profile, ['batch']),
    realWindowSeconds: limits.windowSeconds / limits.timeScale,
    dopHint: profile.dopHint,
  };
}

/** What the emulator counted over one loader run, and the rate of created accounts in real and Dataverse time. */
export interface EmulatorRunCounts {
  rowsPerSecond: number;
  /** Emulated (Dataverse-time) rows/s = real ÷ speed-up. */
  dataverseRowsPerSecond: number;
  seconds: number;
  rowsCreated: number;
  requests: number;
  /** Of `requests`: `$batch` requests, as the emulator counted them (the rest are bulk messages and metadata GETs). */
  batchRequests: number;
  /** Execution ms the emulator accrued (its latency model), in real ms: shows whether the bulk factor applied. */
  executionMs: number;
  throttled: number;
}

/** The counts of a run that took `seconds`, from the emulator's stats at its end (the loaders create accounts). */
export function emulatorRunCounts(stats: EmulatorStats, seconds: number, profile: BenchProfile): EmulatorRunCounts {
  const rowsCreated = stats.recordsPerTable['account'] ?? 0;
  const rowsPerSecond = rowsCreated / seconds;
  return {
    rowsPerSecond,
    dataverseRowsPerSecond: rowsPerSecond / profile.speedUp,
    seconds,
    rowsCreated,
    requests: stats.requests,
    batchRequests: stats.batches,
    executionMs: stats.executionMs,
    throttled: Object.values(stats.throttled).reduce((a, b) => a + b, 0),
  };
}
