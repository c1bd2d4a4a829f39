/**
 * The one HTTP path to Dataverse: bearer token, client-wide throttling, retries, 401 refresh, metrics.
 * Node's fetch has no cookie jar, so the ARR affinity cookie Dataverse sets is never sent back
 * (requests spread across web servers, whose limits are separate).
 */
import type { AccessTokenSource } from './auth/accessTokenSource';
import { DataverseError, DataverseErrorCodes, faultFromResponse, requestIdOf } from './dataverseError';
import type { HeaderMap } from './httpMessage';
import { recordDataverseResponse } from '../observability/telemetry';
import {
  AdaptiveConcurrency,
  RequestSpacing,
  ThrottlePause,
  callKind,
  abortError,
  backoffMs,
  parseRetryAfter,
  type Clock,
  type ConcurrencySnapshot,
} from './throttle';

export interface DataverseLogger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
}

export interface HttpCall {
  method: string;
  /** Absolute URL. */
  url: string;
  headers: HeaderMap;
  body?: string;
  /** Whether re-sending after an unknown outcome (5xx, network error) cannot duplicate data. */
  retrySafe: boolean;
  abortSignal?: AbortSignal;
}

export interface HttpResult {
  status: number;
  /** Lower-cased names. */
  headers: HeaderMap;
  body: string;
  /** True when this is a re-send after an attempt Dataverse may have executed (a 5xx or a network error). */
  resent: boolean;
}

export interface TransportMetrics {
  requests: number;
  throttled: { total: number; byCode: Record<string, number> };
  retries: number;
  tokenRefreshes: number;
  /** Size → number of `$batch` requests sent with that many operations. */
  batchSizes: Record<string, number>;
  /** Size → number of bulk-message requests (CreateMultiple…) sent with that many targets. */
  bulkSizes: Record<string, number>;
  concurrency: ConcurrencySnapshot;
  pausedMs: number;
}

export interface TransportOptions {
  accessTokenSource: AccessTokenSource;
  fetch: typeof fetch;
  clock: Clock;
  random: () => number;
  maxConcurrency: number;
  initialConcurrency: number;
  /** Retries of transient failures (502/503/504, network errors) per call. */
  maxRetries: number;
  /** Retries after 429s per call (each waits Retry-After). */
  maxThrottleRetries: number;
  logger?: DataverseLogger;
}

const transientStatuses = new Set([502, 503, 504]);

function lowerCaseHeaders(headers: Headers): HeaderMap {
  const result: HeaderMap = {};
  headers.forEach((value, name) => {
    result[name.toLowerCase()] = value;
  });
  return result;
}

export class Transport {
  private readonly concurrency: AdaptiveConcurrency;
  private readonly pause: ThrottlePause;
  private readonly spacing: RequestSpacing;
  private readonly counters = {
    requests: 0,
    throttledTotal: 0,
    throttledByCode: {} as Record<string, number>,
    retries: 0,
    tokenRefreshes: 0,
    batchSizes: {} as Record<string, number>,
    bulkSizes: {} as Record<string, number>,
    pausedMs: 0,
  };

  constructor(private readonly options: TransportOptions) {
    this.concurrency = new AdaptiveConcurrency(options.maxConcurrency, options.initialConcurrency);
    this.pause = new ThrottlePause(options.clock);
    this.spacing = new RequestSpacing(options.clock);
  }

  metrics(): TransportMetrics {
    const c = this.counters;
    return {
      requests: c.requests,
      throttled: { total: c.throttledTotal, byCode: { ...c.throttledByCode } },
      retries: c.retries,
      tokenRefreshes: c.tokenRefreshes,
      batchSizes: { ...c.batchSizes },
      bulkSizes: { ...c.bulkSizes },
      concurrency: this.concurrency.snapshot(),
      pausedMs: c.pausedMs,
    };
  }

  recordBatchSize(size: number): void {
    this.counters.batchSizes[size] = (this.counters.batchSizes[size] ?? 0) + 1;
  }

  recordBulkSize(size: number): void {
    this.counters.bulkSizes[size] = (this.counters.bulkSizes[size] ?? 0) + 1;
  }

  /** A 429 inside a `$batch` part (undocumented but possible): same client-wide reaction as an outer 429. */
  noteInnerThrottle(headers: HeaderMap, body: string): void {
    this.onThrottled(headers, body, 1);
  }

  private onThrottled(
    headers: HeaderMap,
    body: string,
    attempt: number,
    sentInEpisode?: number,
  ): { code: string; retryAfterMs: number } {
    const fault = faultFromResponse(429, headers, body);
    const code = fault.code || 'unknown';
    this.counters.throttledTotal += 1;
    this.counters.throttledByCode[code] = (this.counters.throttledByCode[code] ?? 0) + 1;
    this.concurrency.onThrottled(sentInEpisode);
    const retryAfterMs =
      parseRetryAfter(headers['retry-after'], this.options.clock.now()) ?? backoffMs(attempt, this.options.random);
    this.pause.pauseFor(retryAfterMs);
    return { code, retryAfterMs };
  }

  async send(call: HttpCall): Promise<HttpResult> {
    const { clock, logger } = this.options;
    const signal = call.abortSignal;
    let retries = 0;
    let throttleRetries = 0;
    let refreshed = false;
    let forceRefresh = false;
    let resent = false;
    const kind = callKind(call.method, call.url);
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const pausedFor = this.pause.remainingMs();
      await this.pause.wait(signal);
      this.counters.pausedMs += pausedFor;
      const release = await this.concurrency.acquire(signal);
      try {
        await this.spacing.next(kind, this.concurrency.snapshot().limit, signal);
      } catch (error) {
        release();
        throw error;
      }
      // A 429 may have paused the client while this call queued for a slot: wait again, without the slot.
      if (this.pause.remainingMs() > 0) {
        release();
        continue;
      }
      const episode = this.concurrency.episode();
      let response: { status: number; headers: HeaderMap; body: string };
      let sentAt: number;
      try {
        const token = await this.options.accessTokenSource.getAccessToken(
          signal ? { forceRefresh, abortSignal: signal } : { forceRefresh },
        );
        forceRefresh = false;
        this.counters.requests += 1;
        sentAt = clock.now();
        const init: RequestInit = {
          method: call.method,
          headers: { ...call.headers, Authorization: `Bearer ${token}` },
          credentials: 'omit',
          redirect: 'manual',
        };
        if (call.body !== undefined) init.body = call.body;
        if (signal) init.signal = signal;
        const raw = await this.options.fetch(call.url, init);
        response = { status: raw.status, headers: lowerCaseHeaders(raw.headers), body: await raw.text() };
      } catch (error) {
        release();
        if (signal?.aborted) throw abortError(signal);
        if (error instanceof DataverseError) throw error; // token acquisition failures
        // The request may or may not have reached Dataverse.
        if (call.retrySafe && retries < this.options.maxRetries) {
          resent = true;
          retries += 1;
          this.counters.retries += 1;
          const wait = backoffMs(retries, this.options.random);
          logger?.warn('Dataverse network error; retrying', {
            method: call.method,
            url: call.url,
            attempt: retries,
            waitMs: wait,
            error: String(error),
          });
          await clock.sleep(wait, signal);
          continue;
        }
        throw new DataverseError(
          { code: DataverseErrorCodes.network, message: `Network error calling Dataverse: ${String(error)}` },
          { cause: error },
        );
      }
      release();
      recordDataverseResponse(call.method, response);
      if (response.status !== 429) this.spacing.observe(kind, clock.now() - sentAt);

      const dopHint = response.headers['x-ms-dop-hint'];
      if (dopHint !== undefined) this.concurrency.observeDopHint(Number(dopHint));
      if (response.status !== 429) {
        this.concurrency.observeBudget(
          response.headers['x-ms-ratelimit-burst-remaining-xrm-requests'],
          response.headers['x-ms-ratelimit-time-remaining-xrm-requests'],
        );
      }

      if (response.status === 429) {
        const { code, retryAfterMs } = this.onThrottled(response.headers, response.body, throttleRetries + 1, episode);
        // A 429 is answered before anything executes, so re-sending is always safe.
        if (throttleRetries < this.options.maxThrottleRetries) {
          throttleRetries += 1;
          logger?.warn('Dataverse throttled the client; pausing all calls', {
            code,
            retryAfterMs,
            concurrency: this.concurrency.snapshot().limit,
          });
          continue;
        }
        throw new DataverseError({
          ...faultFromResponse(429, response.headers, response.body),
          retryAfterSeconds: Math.ceil(retryAfterMs / 1000),
        });
      }

      if (response.status === 401 && !refreshed) {
        refreshed = true;
        forceRefresh = true;
        this.counters.tokenRefreshes += 1;
        logger?.info('Dataverse answered 401; refreshing the access token once', {
          requestId: requestIdOf(response.headers),
        });
        continue;
      }

      if (transientStatuses.has(response.status)) {
        if (call.retrySafe && retries < this.options.maxRetries) {
          resent = true;
          retries += 1;
          this.counters.retries += 1;
          const wait = Math.max(
            backoffMs(retries, this.options.random),
            parseRetryAfter(response.headers['retry-after'], clock.now()) ?? 0,
          );
          logger?.warn('Dataverse transient error; retrying', {
            status: response.status,
            attempt: retries,
            waitMs: wait,
          });
          await clock.sleep(wait, signal);
          continue;
        }
      }

      this.concurrency.onSuccess();
      return { ...response, resent };
    }
  }
}
