/** Counters behind `GET /_emulator/stats`. */
export interface EmulatorStats {
  /** Web API HTTP requests received (a `$batch` is one). */
  requests: number;
  /** Operations executed: each batch part and each bulk target counts. */
  operations: number;
  batches: number;
  /** Execution time accrued from the latency model, in real milliseconds. */
  executionMs: number;
  /** 429 answers from the service protection limits, by error code. */
  throttled: Record<string, number>;
  /** Outer HTTP statuses sent. */
  statuses: Record<string, number>;
  faults: { '429': number; '503': number; drop: number; slow: number };
  inFlight: number;
  recordsPerTable: Record<string, number>;
  solutions?: unknown;
}

export type StatCounters = Omit<EmulatorStats, 'inFlight' | 'recordsPerTable' | 'solutions'>;

export function emptyCounters(): StatCounters {
  return {
    requests: 0,
    operations: 0,
    batches: 0,
    executionMs: 0,
    throttled: {},
    statuses: {},
    faults: { '429': 0, '503': 0, drop: 0, slow: 0 },
  };
}

export function increment(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}
