/**
 * The one HTTP path to Dataverse: bearer token, client-wide throttling, retries, 401 refresh, metrics.
 * Node's fetch has no cookie jar, so the ARR affinity cookie Dataverse sets is never sent back
 * (requests spread across web servers, whose limits are separate).
 */
import type { AccessTokenSource } from './auth/accessTokenSource';
import { DataverseError, DataverseErrorCodes, faultFromResponse, requestIdOf } from './dataverseError';
import type { HeaderMap } from './httpMessage';
import { recordDataverseResponse } from '../observability/dataverseTelemetry';
import { IdentityPool, type DataverseIdentity, type IdentityLane, type IdentityMetrics } from './identityPool';
import {
  callKind,
  abortError,
  spacingNeeded,
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
  /** Must go as the default identity (impersonation, solution operations): never rotated to another user. */
  pinned?: boolean;
  /** Operations Dataverse counts toward the daily entitlement: parts of a `$batch`, targets of a bulk message (default 1). */
  operations?: number;
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
  /** Per identity of the pool (one entry, `default`, without DATAVERSE_IDENTITIES). */
  identities: IdentityMetrics[];
}

export interface TransportOptions {
  /** The identities to send as; the first is the default one. */
  identities?: readonly DataverseIdentity[];
  /** Shorthand for one identity named `default`. */
  accessTokenSource?: AccessTokenSource;
  /** Told how many operations Dataverse executed (and counts toward the daily entitlement) for each answer. */
  onOperationsCounted?: (operations: number) => void;
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

/**
 * Dataverse refuses the caller itself, not the request: 401, or 403 "The user is not a member of the organization"
 * (0x80072560, a valid token for a user the environment doesn't have, e.g. a removed application user). Other 403s
 * (a missing privilege) stay the request's own error.
 */
const callerRefusedCodes = new Set(['0x80072560']);
function refusesCaller(status: number, headers: HeaderMap, body: string): boolean {
  if (status === 401) return true;
  return status === 403 && callerRefusedCodes.has(faultFromResponse(status, headers, body).code.toLowerCase());
}

/** Credentials Entra refuses (a revoked secret, a wrong certificate): no retry makes them work. */
const credentialErrorCodes = new Set(['InvalidClientCredentials', 'InvalidCertificate']);
function isCredentialFailure(error: unknown): error is Error {
  return (
    error instanceof Error &&
    error.name === 'DataverseAuthenticationError' &&
    credentialErrorCodes.has((error as { code?: string }).code ?? '')
  );
}

/**
 * The on-premises ExecuteMultiple limit (two at a time per organization): a "Server Busy" fault thrown before the
 * first request executes (ExecuteMultiple docs, 2017 seed). Its Web API shape is undocumented: recognised by the
 * fault's message, at any 4xx/5xx status.
 */
export function isServerBusy(status: number, headers: HeaderMap, body: string): boolean {
  if (status < 400 || status === 429) return false;
  return /\bserver busy\b/i.test(faultFromResponse(status, headers, body).message);
}

function lowerCaseHeaders(headers: Headers): HeaderMap {
  const result: HeaderMap = {};
  headers.forEach((value, name) => {
    result[name.toLowerCase()] = value;
  });
  return result;
}

export class Transport {
  private readonly pool: IdentityPool;
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
    const identities =
      options.identities ??
      (options.accessTokenSource ? [{ name: 'default', accessTokenSource: options.accessTokenSource }] : []);
    this.pool = new IdentityPool(identities, options.clock, options.maxConcurrency, options.initialConcurrency);
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
      concurrency: this.pool.concurrency(),
      pausedMs: c.pausedMs,
      identities: this.pool.lanes.map((lane) => lane.metrics()),
    };
  }

  recordBatchSize(size: number): void {
    this.counters.batchSizes[size] = (this.counters.batchSizes[size] ?? 0) + 1;
  }

  recordBulkSize(size: number): void {
    this.counters.bulkSizes[size] = (this.counters.bulkSizes[size] ?? 0) + 1;
  }

  /** A 429 inside a `$batch` part (undocumented but possible): same reaction as an outer 429, on the default identity. */
  noteInnerThrottle(headers: HeaderMap, body: string): void {
    this.onThrottled(this.pool.defaultLane, headers, body, 1);
  }

  private onThrottled(
    lane: IdentityLane,
    headers: HeaderMap,
    body: string,
    attempt: number,
    sentInEpisode?: number,
    code?: string,
  ): { code: string; retryAfterMs: number } {
    const counted = code ?? (faultFromResponse(429, headers, body).code || 'unknown');
    this.counters.throttledTotal += 1;
    this.counters.throttledByCode[counted] = (this.counters.throttledByCode[counted] ?? 0) + 1;
    lane.counters.throttled += 1;
    lane.concurrency.onThrottled(sentInEpisode);
    const retryAfterMs =
      parseRetryAfter(headers['retry-after'], this.options.clock.now()) ?? backoffMs(attempt, this.options.random);
    lane.pause.pauseFor(retryAfterMs);
    return { code: counted, retryAfterMs };
  }

  /** An identity whose credentials fail leaves the rotation; the log names it and why, never a secret. */
  private leave(lane: IdentityLane, reason: string): void {
    if (!lane.active) return;
    lane.leftReason = reason;
    const left = this.pool.lanes.filter((l) => l.active).map((l) => l.name);
    this.options.logger?.warn(`Dataverse identity '${lane.name}' left the rotation: ${reason}`, {
      identity: lane.name,
      reason,
      identitiesLeft: left,
    });
  }

  private noneLeft(): DataverseError {
    return new DataverseError({ code: DataverseErrorCodes.noIdentityLeft, message: this.pool.noneLeftMessage() });
  }

  async send(call: HttpCall): Promise<HttpResult> {
    const { clock, logger } = this.options;
    const signal = call.abortSignal;
    const pinned = call.pinned === true || call.headers['CallerObjectId'] !== undefined;
    let retries = 0;
    let throttleRetries = 0;
    /** Identities that got their one forced token refresh after a 401 during this call. */
    const refreshed = new Set<IdentityLane>();
    /** After a 401 the next attempt goes as the same identity, with a fresh token. */
    let refreshOn: IdentityLane | undefined;
    let resent = false;
    // Like calls of like size share a spacing: a tail chunk's smaller parts (chunkGate.ts) are spaced by their own
    // duration, not a whole chunk's. Sizes by powers of two, so 1000 and a last chunk's 999 stay alike.
    const operations = call.operations ?? 1;
    const kind = `${callKind(call.method, call.url)}${operations > 1 ? ` ×${2 ** Math.floor(Math.log2(operations))}` : ''}`;
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const lane = pinned ? this.pool.defaultLane : (refreshOn ?? this.pool.choose());
      if (!lane) throw this.noneLeft();
      if (!lane.active && !pinned) {
        refreshOn = undefined;
        continue;
      }
      const pausedFor = lane.pause.remainingMs();
      let release: () => void;
      lane.choosing += 1;
      try {
        await lane.pause.wait(signal);
        release = await lane.concurrency.acquire(signal);
      } finally {
        lane.choosing -= 1;
      }
      this.counters.pausedMs += pausedFor;
      lane.counters.pausedMs += pausedFor;
      try {
        const { limit, budget } = lane.concurrency.snapshot();
        if (spacingNeeded(budget)) await lane.spacing.next(kind, limit, signal);
      } catch (error) {
        release();
        throw error;
      }
      // A 429 may have paused this identity (or it left) while this call queued for a slot: choose again.
      if (lane.pause.remainingMs() > 0 || (!lane.active && !pinned)) {
        release();
        continue;
      }
      const forceRefresh = refreshOn === lane;
      refreshOn = undefined;
      const episode = lane.concurrency.episode();
      let response: { status: number; headers: HeaderMap; body: string };
      let sentAt: number;
      try {
        const token = await lane.accessTokenSource.getAccessToken(
          signal ? { forceRefresh, abortSignal: signal } : { forceRefresh },
        );
        this.counters.requests += 1;
        lane.counters.requests += 1;
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
        if (this.pool.rotating && isCredentialFailure(error)) {
          this.leave(lane, error.message);
          if (pinned) throw error;
          continue;
        }
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
      if (response.status !== 429) lane.spacing.observe(kind, clock.now() - sentAt);

      const dopHint = response.headers['x-ms-dop-hint'];
      if (dopHint !== undefined) lane.concurrency.observeDopHint(Number(dopHint));
      if (response.status !== 429) {
        lane.concurrency.observeBudget(
          response.headers['x-ms-ratelimit-burst-remaining-xrm-requests'],
          response.headers['x-ms-ratelimit-time-remaining-xrm-requests'],
        );
      }

      const serverBusy = isServerBusy(response.status, response.headers, response.body);
      if (response.status === 429 || serverBusy) {
        const { code, retryAfterMs } = this.onThrottled(
          lane,
          response.headers,
          response.body,
          throttleRetries + 1,
          episode,
          serverBusy ? DataverseErrorCodes.serverBusy : undefined,
        );
        // A 429 (and Server Busy) is answered before anything executes, so re-sending is always safe.
        if (throttleRetries < this.options.maxThrottleRetries) {
          throttleRetries += 1;
          logger?.warn(
            serverBusy
              ? 'Dataverse answered Server Busy; pausing this identity and retrying'
              : 'Dataverse throttled the client; pausing this identity',
            { code, retryAfterMs, identity: lane.name, concurrency: lane.concurrency.snapshot().limit },
          );
          continue;
        }
        throw new DataverseError({
          ...faultFromResponse(response.status, response.headers, response.body),
          ...(serverBusy ? { code: DataverseErrorCodes.serverBusy } : {}),
          retryAfterSeconds: Math.ceil(retryAfterMs / 1000),
        });
      }

      if (refusesCaller(response.status, response.headers, response.body)) {
        if (!refreshed.has(lane) && (response.status === 401 || this.pool.rotating)) {
          refreshed.add(lane);
          refreshOn = lane;
          this.counters.tokenRefreshes += 1;
          logger?.info(`Dataverse answered ${response.status}; refreshing the access token once`, {
            requestId: requestIdOf(response.headers),
            identity: lane.name,
          });
          continue;
        }
        if (this.pool.rotating) {
          const fault = faultFromResponse(response.status, response.headers, response.body);
          this.leave(
            lane,
            `HTTP ${response.status} after a token refresh${fault.code ? ` (${fault.code})` : ''}: ${fault.message}`,
          );
          if (!pinned) continue;
        }
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

      lane.concurrency.onSuccess();
      if (response.status < 500 && response.status !== 401 && response.status !== 403)
        this.options.onOperationsCounted?.(call.operations ?? 1);
      return { ...response, resent };
    }
  }
}
