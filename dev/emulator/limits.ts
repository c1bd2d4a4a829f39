/**
 * Service protection limits per caller (dataverse-wire.md §3): requests and execution time in a
 * sliding window, and concurrent requests (which fail at once).
 *
 * Time scaling: with timeScale k, emulated time runs k times faster than real time. A window lasts
 * windowSeconds / k real seconds, and each real millisecond of execution counts as k emulated
 * milliseconds, so the limit-to-window ratios of Dataverse hold and clients that honour Retry-After
 * really wait. Retry-After is the real wait in whole seconds, rounded up, at least 1: clients only see
 * integers, as from Dataverse, and a benchmark's wall time stays meaningful.
 */
import type { ResolvedEmulatorOptions } from './options';

type Limits = ResolvedEmulatorOptions['limits'];

export const THROTTLE_CODES = {
  requests: '0x80072322',
  executionTime: '0x80072321',
  concurrency: '0x80072326',
} as const;

export type Admission =
  | { ok: true; release(executionRealMs: number): void; remaining(): { requests: number; executionMs: number } }
  | { ok: false; code: string; message: string; retryAfterSeconds: number };

interface CallerUsage {
  /** Real timestamps of admitted requests, oldest first. */
  requests: number[];
  /** Completed executions: real end timestamp and emulated milliseconds. */
  executions: Array<{ at: number; ms: number }>;
  executionSum: number;
  inFlight: number;
  /** Highest values seen (GET /_emulator/stats per caller: never above the limits, save execution time's overshoot). */
  peakInFlight: number;
  peakRequestsInWindow: number;
  peakExecutionMsInWindow: number;
}

export interface CallerPeaks {
  peakInFlight: number;
  peakRequestsInWindow: number;
  peakExecutionMsInWindow: number;
}

export interface ServiceProtection {
  /** `appId` lets per-caller overrides (options.callerLimits) name the application instead of the object id. */
  admit(callerId: string, appId?: string): Admission;
  reset(): void;
  inFlight(): number;
  /** Per caller, the most it ever had in flight and in one window. */
  peaks(): Record<string, CallerPeaks>;
}

export function requestsMessage(l: Limits): string {
  return `Number of requests exceeded the limit of ${l.requestsPerWindow} over time window of ${l.windowSeconds} seconds.`;
}

export function executionMessage(l: Limits): string {
  // Two spaces before "milliseconds" and the thousands separators are Microsoft's documented text.
  return `Combined execution time of incoming requests exceeded limit of ${l.executionMsPerWindow.toLocaleString('en-US')}  milliseconds over time window of ${l.windowSeconds} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.`;
}

export function concurrencyMessage(l: Limits): string {
  return `Number of concurrent requests exceeded the limit of ${l.concurrency}.`;
}

export function retryAfterSeconds(realWaitMs: number): number {
  return Math.max(1, Math.ceil(realWaitMs / 1000));
}

export function createServiceProtection(
  limitsOf: (callerId?: string, appId?: string) => Limits,
  now: () => number = Date.now,
): ServiceProtection {
  let callers = new Map<string, CallerUsage>();

  const usageOf = (id: string): CallerUsage => {
    let u = callers.get(id);
    if (!u) {
      u = {
        requests: [],
        executions: [],
        executionSum: 0,
        inFlight: 0,
        peakInFlight: 0,
        peakRequestsInWindow: 0,
        peakExecutionMsInWindow: 0,
      };
      callers.set(id, u);
    }
    return u;
  };

  const prune = (u: CallerUsage, windowStart: number): void => {
    let i = 0;
    while (i < u.requests.length && u.requests[i]! <= windowStart) i++;
    if (i > 0) u.requests.splice(0, i);
    let j = 0;
    while (j < u.executions.length && u.executions[j]!.at <= windowStart) {
      u.executionSum -= u.executions[j]!.ms;
      j++;
    }
    if (j > 0) u.executions.splice(0, j);
  };

  return {
    admit(callerId, appId) {
      const limits = () => limitsOf(callerId, appId);
      const l = limits();
      const t = now();
      const windowMs = (l.windowSeconds * 1000) / l.timeScale;
      const u = usageOf(callerId);
      prune(u, t - windowMs);
      if (u.inFlight >= l.concurrency) {
        return { ok: false, code: THROTTLE_CODES.concurrency, message: concurrencyMessage(l), retryAfterSeconds: 1 };
      }
      if (u.requests.length >= l.requestsPerWindow) {
        // Free again when enough of the oldest requests leave the window.
        const oldest = u.requests[u.requests.length - l.requestsPerWindow]!;
        return {
          ok: false,
          code: THROTTLE_CODES.requests,
          message: requestsMessage(l),
          retryAfterSeconds: retryAfterSeconds(oldest + windowMs - t),
        };
      }
      if (u.executionSum >= l.executionMsPerWindow) {
        let sum = u.executionSum;
        let freeAt = t;
        for (const e of u.executions) {
          sum -= e.ms;
          freeAt = e.at + windowMs;
          if (sum < l.executionMsPerWindow) break;
        }
        return {
          ok: false,
          code: THROTTLE_CODES.executionTime,
          message: executionMessage(l),
          retryAfterSeconds: retryAfterSeconds(freeAt - t),
        };
      }
      u.requests.push(t);
      u.inFlight++;
      u.peakInFlight = Math.max(u.peakInFlight, u.inFlight);
      u.peakRequestsInWindow = Math.max(u.peakRequestsInWindow, u.requests.length);
      let released = false;
      return {
        ok: true,
        release(executionRealMs) {
          if (released) return;
          released = true;
          u.inFlight--;
          const ms = executionRealMs * limits().timeScale;
          if (ms > 0) {
            u.executions.push({ at: now(), ms });
            u.executionSum += ms;
            prune(u, now() - (limits().windowSeconds * 1000) / limits().timeScale);
            u.peakExecutionMsInWindow = Math.max(u.peakExecutionMsInWindow, Math.round(u.executionSum));
          }
        },
        remaining() {
          const cur = limits();
          return {
            requests: Math.max(0, cur.requestsPerWindow - u.requests.length),
            executionMs: Math.max(0, Math.round(cur.executionMsPerWindow - u.executionSum)),
          };
        },
      };
    },
    reset() {
      callers = new Map();
    },
    inFlight() {
      let n = 0;
      for (const u of callers.values()) n += u.inFlight;
      return n;
    },
    peaks() {
      return Object.fromEntries(
        [...callers].map(([id, u]) => [
          id,
          {
            peakInFlight: u.peakInFlight,
            peakRequestsInWindow: u.peakRequestsInWindow,
            peakExecutionMsInWindow: u.peakExecutionMsInWindow,
          },
        ]),
      );
    },
  };
}
