/**
 * The emulator settings every throughput loader runs against, and how they are time-scaled.
 *
 * Dataverse model (emulated time): the default service protection limits (6,000 requests and 1,200 s of
 * execution per 5-minute window, 52 concurrent), and a latency model of 100 ms per HTTP request plus 10 ms per
 * create (dataverse-wire.md §3; anchors.md §5: ExecuteMultiple ran 500 creates in 14 s in 2013, today's
 * simple-table creates take a few ms to tens of ms).
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
import type { EmulatorOptions } from '../dev/emulator/index';
import { bestThroughputCeiling, throughputCeiling, type Ceiling, type CeilingLatency, type CeilingLimits } from './ceiling';

export interface BenchProfile {
  /** Dataverse-time latency model. */
  dataverseLatency: { baseMs: number; perOperationMs: number };
  speedUp: number;
  windowShrink: number;
  dopHint: number;
}

export const defaultBenchProfile: BenchProfile = {
  dataverseLatency: { baseMs: 100, perOperationMs: 10 },
  speedUp: 10,
  windowShrink: 10,
  dopHint: 4,
};

const DATAVERSE_LIMITS = { requestsPerWindow: 6000, executionMsPerWindow: 1_200_000, windowSeconds: 300, concurrency: 52 };

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
  return { baseMs: profile.dataverseLatency.baseMs / profile.speedUp, perOperationMs: profile.dataverseLatency.perOperationMs / profile.speedUp };
}

export function emulatorOptionsFor(profile: BenchProfile): EmulatorOptions {
  return { port: 0, limits: scaledLimits(profile), latency: { ...scaledLatency(profile), perTable: {} }, dopHint: profile.dopHint };
}

/** Ceiling at a loader's batch size, in real rows/s against the scaled emulator. */
export function ceilingFor(profile: BenchProfile, batchSize: number): Ceiling {
  return throughputCeiling({ limits: scaledLimits(profile), latency: scaledLatency(profile), batchSize });
}

export function bestCeilingFor(profile: BenchProfile): Ceiling & { batchSize: number } {
  return bestThroughputCeiling({ limits: scaledLimits(profile), latency: scaledLatency(profile), maxBatchSize: 1000 });
}

export function describeProfile(profile: BenchProfile): Record<string, unknown> {
  const limits = scaledLimits(profile);
  return {
    dataverseLatency: profile.dataverseLatency,
    speedUp: profile.speedUp,
    windowShrink: profile.windowShrink,
    emulatorLimits: limits,
    emulatorLatency: scaledLatency(profile),
    realWindowSeconds: limits.windowSeconds / limits.timeScale,
    dopHint: profile.dopHint,
  };
}
