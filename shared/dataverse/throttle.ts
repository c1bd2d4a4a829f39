/**
 * Client-wide flow control shared by every concurrent call: a concurrency limit that starts from Dataverse's
 * `x-ms-dop-hint` and adapts to 429s and to the remaining-budget headers, a pause that a 429's `Retry-After` imposes on all calls
 * (service protection limits are per user and web server, so one 429 means everybody should wait), and a spacing of
 * like requests so they do not run in lockstep.
 */
import { DataverseError, DataverseErrorCodes } from './dataverseError';

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortError(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export function abortError(signal: AbortSignal): DataverseError {
  return new DataverseError(
    { code: DataverseErrorCodes.aborted, message: 'The operation was aborted' },
    { cause: signal.reason },
  );
}

export interface ConcurrencySnapshot {
  limit: number;
  inFlight: number;
  /** min(maxConcurrency, last x-ms-dop-hint). */
  ceiling: number;
  dopHint: number | undefined;
  /** What the last `x-ms-ratelimit-*` headers said was left of the window's budgets, when Dataverse sent them. */
  budget?: BudgetSnapshot;
}

export interface BudgetSnapshot {
  /** `x-ms-ratelimit-burst-remaining-xrm-requests`. */
  requestsRemaining?: number;
  /** `x-ms-ratelimit-time-remaining-xrm-requests` (ms of execution). */
  executionMsRemaining?: number;
  /** The smaller of the two, as a share of the most ever seen of each (our estimate of the full budget). */
  fraction: number;
}

/** A 429's step down: ×0.75, and at least one (4 → 3, 16 → 12), never below 1. */
export function throttledLimit(limit: number): number {
  return Math.max(1, Math.min(limit - 1, Math.floor(limit * 0.75)));
}

function headerNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Adaptive concurrency limit. Grows by one after `limit` successes in a row, up to the ceiling (min of
 * maxConcurrency and `x-ms-dop-hint`). Steps down gently on a 429 (see throttledLimit): each 429 already costs
 * every call a Retry-After pause, and halving on top of it lost more than the pause. Dataverse's
 * `x-ms-ratelimit-*-remaining-xrm-requests` headers are read off every answer: the limit does not grow while one
 * of those budgets is used up (the next request would meet a 429). Stepping down *before* the budget runs out
 * was measured and lost: running at the execution-time ceiling means running with that budget near zero
 * (docs/performance.md), so a low reading is the goal, not a warning.
 */
export class AdaptiveConcurrency {
  private limit: number;
  private inFlight = 0;
  private ceiling: number;
  private dopHint: number | undefined;
  private successesSinceIncrease = 0;
  /** Step-downs so far: a request remembers the count it was sent under (see onThrottled). */
  private stepDowns = 0;
  private budget: BudgetSnapshot | undefined;
  private readonly budgetSeen = { requests: 0, executionMs: 0 };
  private readonly waiters: {
    resolve: () => void;
    reject: (error: unknown) => void;
    signal?: AbortSignal;
    onAbort?: () => void;
  }[] = [];

  constructor(
    private readonly maxConcurrency: number,
    initial: number,
  ) {
    this.ceiling = maxConcurrency;
    this.limit = Math.max(1, Math.min(initial, maxConcurrency));
  }

  /** Calls queued for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  snapshot(): ConcurrencySnapshot {
    return {
      limit: this.limit,
      inFlight: this.inFlight,
      ceiling: this.ceiling,
      dopHint: this.dopHint,
      ...(this.budget ? { budget: { ...this.budget } } : {}),
    };
  }

  /** Dataverse's recommended degree of parallelism; the first hint sets the starting point. */
  observeDopHint(hint: number): void {
    if (!Number.isInteger(hint) || hint < 1) return;
    const first = this.dopHint === undefined;
    this.dopHint = hint;
    this.ceiling = Math.min(this.maxConcurrency, hint);
    this.limit = first ? this.ceiling : Math.min(this.limit, this.ceiling);
    this.drain();
  }

  /** The remaining-budget headers of a (non-429) response; absent headers leave everything as it was. */
  observeBudget(requestsHeader: string | undefined, executionHeader: string | undefined): void {
    const requests = headerNumber(requestsHeader);
    const executionMs = headerNumber(executionHeader);
    if (requests === undefined && executionMs === undefined) return;
    const shares: number[] = [];
    if (requests !== undefined) {
      this.budgetSeen.requests = Math.max(this.budgetSeen.requests, requests);
      shares.push(this.budgetSeen.requests > 0 ? requests / this.budgetSeen.requests : 0);
    }
    if (executionMs !== undefined) {
      this.budgetSeen.executionMs = Math.max(this.budgetSeen.executionMs, executionMs);
      shares.push(this.budgetSeen.executionMs > 0 ? executionMs / this.budgetSeen.executionMs : 0);
    }
    const fraction = Math.min(...shares);
    this.budget = {
      ...(requests !== undefined ? { requestsRemaining: requests } : {}),
      ...(executionMs !== undefined ? { executionMsRemaining: executionMs } : {}),
      fraction,
    };
  }

  onSuccess(): void {
    this.successesSinceIncrease += 1;
    const budgetAllows = this.budget === undefined || this.budget.fraction > 0;
    if (this.successesSinceIncrease >= this.limit && this.limit < this.ceiling && budgetAllows) {
      this.limit += 1;
      this.successesSinceIncrease = 0;
      this.drain();
    }
  }

  /** The count of step-downs so far; pass it back to onThrottled for a request sent now. */
  episode(): number {
    return this.stepDowns;
  }

  /**
   * A 429. Requests sent before the last step-down met the same overload that caused it: their 429s (several
   * arrive together when a pause ends) do not step down again, or one overload would cut 4 → 1.
   */
  onThrottled(sentInEpisode: number = this.stepDowns): void {
    if (sentInEpisode !== this.stepDowns) return;
    this.stepDowns += 1;
    this.limit = throttledLimit(this.limit);
    this.successesSinceIncrease = 0;
  }

  /** Waits for a slot; the returned function gives it back (call it exactly once). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw abortError(signal);
    if (this.inFlight < this.limit && this.waiters.length === 0) {
      this.inFlight += 1;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: (typeof this.waiters)[number] = { resolve, reject };
      if (signal) {
        waiter.signal = signal;
        waiter.onAbort = () => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(abortError(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= 1;
      this.drain();
    };
  }

  private drain(): void {
    while (this.inFlight < this.limit && this.waiters.length > 0) {
      const waiter = this.waiters.shift()!;
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      this.inFlight += 1;
      waiter.resolve();
    }
  }
}

/**
 * Spreads the starts of like requests over one such request's duration. `limit` bulk messages released at once
 * (at the start of a load, or when a pause ends) would otherwise run in lockstep, finish together, and land in
 * the service's sliding window in lumps of `limit`: a lump tips a full window over the execution-time limit where
 * the same work spread evenly fits (measured: 17 429s in a 300k-row run in lockstep, none spread). Like calls
 * start at least `typical / limit` apart; calls that come spread out anyway (steady state, a single caller)
 * never wait. "Like" = same method and path shape (`callKind`) and size (the transport adds it), so a quick
 * metadata read never waits behind a CreateMultiple of 1000 rows. Only while `spacingNeeded` (the window's budget
 * is under half left): before that a lump can't tip it, and a stagger only idles slots.
 */
export class RequestSpacing {
  private readonly kinds = new Map<string, { typicalMs?: number; nextStartAt: number }>();

  constructor(private readonly clock: Clock) {}

  private kind(key: string): { typicalMs?: number; nextStartAt: number } {
    let kind = this.kinds.get(key);
    if (!kind) {
      kind = { nextStartAt: 0 };
      this.kinds.set(key, kind);
    }
    return kind;
  }

  /** A completed request's duration (answers other than 429, which come back at once). */
  observe(key: string, durationMs: number): void {
    if (!(durationMs >= 0)) return;
    const kind = this.kind(key);
    kind.typicalMs = kind.typicalMs === undefined ? durationMs : 0.8 * kind.typicalMs + 0.2 * durationMs;
  }

  /** Waits for this call's start slot (reserved at once, so concurrent callers go in order). */
  async next(key: string, limit: number, signal?: AbortSignal): Promise<void> {
    const kind = this.kind(key);
    const now = this.clock.now();
    const at = Math.max(now, kind.nextStartAt);
    kind.nextStartAt = at + (kind.typicalMs ?? 0) / Math.max(1, limit);
    if (at > now) await this.clock.sleep(at - now, signal);
  }
}

/** Below this share of the window's budget left (x-ms-ratelimit-* headers), like requests are spaced. */
export const spaceBelowBudgetFraction = 0.5;

/**
 * RequestSpacing keeps lumps of like requests from tipping a nearly used window over its execution-time budget.
 * While Dataverse says at least half of the window's budget is left, a lump of one round of requests fits (in the
 * bench profiles one round is under a tenth of a window; a round as large as half a window would meet its first
 * 429 and step the concurrency down), and staggering starts would only leave request slots idle (measured: with
 * four identities, each one's quarter-request stagger idled 25 slot-seconds of a 31 s load). No headers: spaced.
 */
export function spacingNeeded(budget: { fraction: number } | undefined): boolean {
  return budget === undefined || budget.fraction < spaceBelowBudgetFraction;
}

/** Method and URL path with keys and function arguments emptied: `GET /api/data/v9.2/accounts()` for any account by key. */
export function callKind(method: string, url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url.split('?')[0] ?? url;
  }
  return `${method.toUpperCase()} ${path.replace(/\([^)]*\)/g, '()')}`;
}

/** The client-wide pause a 429's Retry-After imposes. */
export class ThrottlePause {
  private pausedUntil = 0;

  constructor(private readonly clock: Clock) {}

  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + ms);
  }

  remainingMs(): number {
    return Math.max(0, this.pausedUntil - this.clock.now());
  }

  async wait(signal?: AbortSignal): Promise<void> {
    // Loop: another call may extend the pause while this one sleeps.
    for (let remaining = this.remainingMs(); remaining > 0; remaining = this.remainingMs()) {
      await this.clock.sleep(remaining, signal);
    }
  }
}

/** `Retry-After` in seconds (Dataverse sends an integer); HTTP-date tolerated. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** Full-jitter exponential backoff (AWS style): uniform in [0, min(cap, base·2^attempt)]. */
export function backoffMs(attempt: number, random: () => number, baseMs = 500, capMs = 30_000): number {
  return Math.round(random() * Math.min(capMs, baseMs * 2 ** attempt));
}
