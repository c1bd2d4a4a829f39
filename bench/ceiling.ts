/**
 * The throughput ceiling the emulator's service protection limits allow, from its settings alone (pure).
 *
 * All figures are in real rows per second, as a client measures them against the emulator:
 * - requests:      a window of `windowSeconds / timeScale` real seconds admits `requestsPerWindow` requests;
 * - executionTime: a request "executes" `baseMs + perOperationMs × rows` real ms (dev/emulator/latency.ts), or
 *                  `baseMs + bulkOperationFactor × perOperationMs × rows` for a bulk message (CreateMultiple...),
 *                  accrued × timeScale against `executionMsPerWindow` per scaled window, so the budget is
 *                  `executionMsPerWindow / windowSeconds` real ms of execution per real second whatever the scale;
 * - concurrency:   `concurrency` requests in flight, each lasting its execution time.
 * The ceiling is the smallest of the three: a steady-state rate, reached once a run spans many windows
 * (the first window's burst allowance is not counted).
 */

/** How the rows travel: `$batch` parts (ExecuteMultiple semantics) or the targets of one bulk message. */
export type RequestShape = 'batch' | 'bulk';
export const REQUEST_SHAPES: readonly RequestShape[] = ['batch', 'bulk'];
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
  /** Cost of one bulk target relative to the same operation in a `$batch` (the emulator's option; default 1). */
  bulkOperationFactor?: number;
  /** Per entity-set overrides, as in the emulator's latency model. */
  perTable?: Record<
    string,
    { baseMs?: number; perOperationMs?: number; create?: number; update?: number; delete?: number; retrieve?: number }
  >;
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
  /** Default `batch`. */
  shape?: RequestShape;
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
export function requestExecutionMs(
  latency: CeilingLatency,
  batchSize: number,
  table?: string,
  operation: OperationKindForCeiling = 'create',
  shape: RequestShape = 'batch',
): number {
  const t = table !== undefined ? latency.perTable?.[table] : undefined;
  const base = t?.baseMs ?? latency.baseMs;
  const perOp = t?.[operation] ?? t?.perOperationMs ?? latency.perOperationMs;
  const factor = shape === 'bulk' ? (latency.bulkOperationFactor ?? 1) : 1;
  return base + perOp * factor * batchSize;
}

export function throughputCeiling(input: CeilingInput): Ceiling {
  const { limits, batchSize } = input;
  if (!(batchSize >= 1)) throw new RangeError(`batchSize must be at least 1 (got ${batchSize})`);
  for (const [name, value] of Object.entries(limits)) {
    if (!(value > 0) || !Number.isFinite(value))
      throw new RangeError(`limits.${name} must be a positive number (got ${value})`);
  }
  const factor = input.latency.bulkOperationFactor;
  if (factor !== undefined && !(factor > 0 && factor <= 1))
    throw new RangeError(`latency.bulkOperationFactor must be in (0, 1] (got ${factor})`);
  const requestMs = requestExecutionMs(input.latency, batchSize, input.table, input.operation, input.shape);
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

export type BestCeiling = Ceiling & { batchSize: number; shape: RequestShape };

/**
 * The best ceiling over batch sizes 1..maxBatchSize and request shapes (default both: what a loader free to pick
 * its batch size and message can reach). Pass `shapes: ['batch']` for the best a `$batch`-only loader can do.
 */
export function bestThroughputCeiling(
  input: Omit<CeilingInput, 'batchSize' | 'shape'> & { maxBatchSize: number; shapes?: readonly RequestShape[] },
): BestCeiling {
  let best: BestCeiling | undefined;
  for (const shape of input.shapes ?? REQUEST_SHAPES) {
    for (let size = 1; size <= input.maxBatchSize; size++) {
      const c = throughputCeiling({ ...input, batchSize: size, shape });
      if (best === undefined || c.rowsPerSecond > best.rowsPerSecond) best = { ...c, batchSize: size, shape };
    }
  }
  if (best === undefined) throw new RangeError('shapes must name at least one request shape');
  return best;
}
