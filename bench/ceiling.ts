/**
 * The throughput ceiling the emulator's service protection limits allow, from its settings alone (pure).
 *
 * All figures are in real rows per second, as a client measures them against the emulator:
 * - requests:      a window of `windowSeconds / timeScale` real seconds admits `requestsPerWindow` requests;
 * - executionTime: a request "executes" `baseMs + perOperationMs × rows` real ms (dev/emulator/latency.ts),
 *                  accrued × timeScale against `executionMsPerWindow` per scaled window, so the budget is
 *                  `executionMsPerWindow / windowSeconds` real ms of execution per real second whatever the scale;
 * - concurrency:   `concurrency` requests in flight, each lasting its execution time.
 * The ceiling is the smallest of the three: a steady-state rate, reached once a run spans many windows
 * (the first window's burst allowance is not counted).
 */
export interface CeilingLimits {
  requestsPerWindow: number;
  executionMsPerWindow: number;
  windowSeconds: number;
  concurrency: number;
  timeScale: number;
}

export interface CeilingLatency {
  baseMs: number;
  perOperationMs: number;
  /** Per entity-set overrides, as in the emulator's latency model. */
  perTable?: Record<string, { baseMs?: number; perOperationMs?: number; create?: number; update?: number; delete?: number; retrieve?: number }>;
}

export type OperationKindForCeiling = 'create' | 'update' | 'delete' | 'retrieve';

export interface CeilingInput {
  limits: CeilingLimits;
  latency: CeilingLatency;
  /** Rows per request (`$batch` parts or bulk targets). */
  batchSize: number;
  /** Entity set the rows go to (selects per-table latency overrides). */
  table?: string;
  operation?: OperationKindForCeiling;
}

export type CeilingBound = 'requests' | 'executionTime' | 'concurrency';

export interface Ceiling {
  /** min over the three limits; Infinity when none binds (zero latency and no request limit cannot happen: requests always bind). */
  rowsPerSecond: number;
  bound: CeilingBound;
  byLimit: Record<CeilingBound, number>;
  /** Real ms one request of `batchSize` rows executes. */
  requestMs: number;
}

/** Real execution ms of one request carrying `batchSize` operations (dev/emulator/latency.ts executionMs). */
export function requestExecutionMs(latency: CeilingLatency, batchSize: number, table?: string, operation: OperationKindForCeiling = 'create'): number {
  const t = table !== undefined ? latency.perTable?.[table] : undefined;
  const base = t?.baseMs ?? latency.baseMs;
  const perOp = t?.[operation] ?? t?.perOperationMs ?? latency.perOperationMs;
  return base + perOp * batchSize;
}

export function throughputCeiling(input: CeilingInput): Ceiling {
  const { limits, batchSize } = input;
  if (!(batchSize >= 1)) throw new RangeError(`batchSize must be at least 1 (got ${batchSize})`);
  for (const [name, value] of Object.entries(limits)) {
    if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`limits.${name} must be a positive number (got ${value})`);
  }
  const requestMs = requestExecutionMs(input.latency, batchSize, input.table, input.operation);
  const realWindowSeconds = limits.windowSeconds / limits.timeScale;
  const requests = (limits.requestsPerWindow * batchSize) / realWindowSeconds;
  // Real execution ms allowed per real second: (executionMsPerWindow / timeScale) per (windowSeconds / timeScale).
  const executionBudgetMsPerSecond = limits.executionMsPerWindow / limits.windowSeconds;
  const executionTime = requestMs > 0 ? (executionBudgetMsPerSecond * batchSize) / requestMs : Infinity;
  const concurrency = requestMs > 0 ? (limits.concurrency * batchSize * 1000) / requestMs : Infinity;
  const byLimit: Record<CeilingBound, number> = { requests, executionTime, concurrency };
  let bound: CeilingBound = 'requests';
  for (const key of ['executionTime', 'concurrency'] as const) if (byLimit[key] < byLimit[bound]) bound = key;
  return { rowsPerSecond: byLimit[bound], bound, byLimit, requestMs };
}

/** The best ceiling over batch sizes 1..maxBatchSize (what a loader free to pick its batch size can reach). */
export function bestThroughputCeiling(input: Omit<CeilingInput, 'batchSize'> & { maxBatchSize: number }): Ceiling & { batchSize: number } {
  let best: Ceiling & { batchSize: number } = { ...throughputCeiling({ ...input, batchSize: 1 }), batchSize: 1 };
  for (let size = 2; size <= input.maxBatchSize; size++) {
    const c = throughputCeiling({ ...input, batchSize: size });
    if (c.rowsPerSecond > best.rowsPerSecond) best = { ...c, batchSize: size };
  }
  return best;
}
