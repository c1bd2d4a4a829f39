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
  faults: { '429': number; '503': number; drop: number; slow: number; serverBusy: number };
  /**
   * Per caller (the token's identity, as Dataverse keeps its limits per user): requests received, 429s by code,
   * Server Busy answers, and the most it had in flight and in one window (from the limits).
   */
  callers: Record<string, CallerStats>;
  inFlight: number;
  recordsPerTable: Record<string, number>;
  solutions?: unknown;
}

export interface CallerStats {
  /** The token's `appid` (the application or managed identity client id) when it has one. */
  appId?: string;
  requests: number;
  throttled: Record<string, number>;
  serverBusy: number;
  /** Refused as a revoked caller (403). */
  refused: number;
  peakInFlight?: number;
  peakRequestsInWindow?: number;
  peakExecutionMsInWindow?: number;
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
    faults: { '429': 0, '503': 0, drop: 0, slow: 0, serverBusy: 0 },
    callers: {},
  };
}

export function increment(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

/**
 * One create the emulator was asked for (`GET /_emulator/writes`, with the `writeLog` option): the Web API request it
 * came in (numbered in the order record work ran; every part of a `$batch` shares its number), and the record.
 * A create refused as a duplicate key is logged too: the log shows what clients sent, not only what was stored.
 */
export interface WriteLogEntry {
  request: number;
  /** `POST $batch`, `POST accounts/Microsoft.Dynamics.CRM.CreateMultiple`, `POST accounts`... */
  call: string;
  table: string;
  id: string;
}
