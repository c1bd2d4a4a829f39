/**
 * The Dataverse client's spans, put around the client from outside (client.ts calls this once): one CLIENT span per
 * call with the message or entity set, the operation count, the rows Dataverse failed and, from the transport's
 * hook (recordDataverseResponse), the status, 429s and Retry-After; and the concurrency gauges. Identity: while
 * telemetry is off the client is returned as it is. What never goes out is listed in telemetry.ts.
 */
import type { DataverseClient } from '../dataverse/client';
import type { OrganizationRequest, WebApiRequest } from '../dataverse/organizationRequest';
import { currentLogFields } from './logScope';
import {
  context,
  createContextKey,
  metrics,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import type { LogFields } from './logger';
import {
  correlationAttributes,
  errorCode,
  instrumentationScope,
  instruments,
  metricNames,
  telemetryEnabled,
} from './telemetry';

/** The one entity set a list of requests targets, if they share one. */
function entitySetOf(requests: OrganizationRequest[]): string | undefined {
  const sets = new Set(requests.map((r) => ('entitySetName' in r ? r.entitySetName : undefined)));
  return sets.size === 1 ? [...sets][0] : undefined;
}

/** The first path segment without keys or query (`accounts(accountnumber='A-1')?$select=…` → `accounts`). */
export function webApiTarget(path: string): string {
  const segment = /^\/?([A-Za-z0-9_.]+)/.exec(path)?.[1] ?? 'other';
  return segment.replace(/^Microsoft\.Dynamics\.CRM\./, '');
}

const failedCount = (items: { fault?: unknown }[]) => items.filter((i) => i.fault !== undefined).length;

export function traceDataverseClient(client: DataverseClient): DataverseClient {
  if (!telemetryEnabled()) return client;
  observeDataverseConcurrency(() => client.metrics().concurrency);
  const correlation = (table: string | undefined) => ({
    ...currentLogFields(),
    ...(table !== undefined ? { table } : {}),
  });
  const bulk =
    (operation: 'CreateMultiple' | 'UpdateMultiple' | 'UpsertMultiple', method: keyof DataverseClient) =>
    (entitySetName: string, logicalName: string, targets: unknown[], options?: unknown) =>
      inDataverseSpan(
        { operation, target: entitySetName, operationCount: targets.length },
        correlation(logicalName),
        () =>
          (client[method] as (...args: unknown[]) => ReturnType<DataverseClient['createMultiple']>)(
            entitySetName,
            logicalName,
            targets,
            options,
          ),
        (result) => ({ 'dataverse.rows_failed': failedCount(result.results) }),
      );
  return {
    webApiUrl: client.webApiUrl,
    executeMultiple: (requests, settings, options) => {
      const target = entitySetOf(requests);
      return inDataverseSpan(
        { operation: 'ExecuteMultiple', ...(target ? { target } : {}), operationCount: requests.length },
        correlation(undefined),
        () => client.executeMultiple(requests, settings, options),
        (result) => ({ 'dataverse.rows_failed': failedCount(result.responses) }),
      );
    },
    createMultiple: bulk('CreateMultiple', 'createMultiple'),
    updateMultiple: bulk('UpdateMultiple', 'updateMultiple'),
    upsertMultiple: bulk('UpsertMultiple', 'upsertMultiple'),
    send: (request: WebApiRequest, options) =>
      inDataverseSpan({ operation: request.method, target: webApiTarget(request.path) }, correlation(undefined), () =>
        client.send(request, options),
      ),
    metrics: () => client.metrics(),
  };
}

/** What the transport learns about the current Dataverse call while it runs (one per span). */
interface CallTally {
  operation: string;
  throttled: number;
  retryAfterSeconds: number;
  attempts: number;
}

const callTallyKey = createContextKey('dataverse_loader.dataverse_call');

/** What a Dataverse call is, for its span: the message or entity set, never a path with keys or a query. */
export interface DataverseCallDescription {
  /** `ExecuteMultiple`, `CreateMultiple`, `GET`… */
  operation: string;
  /** Entity set (`accounts`) or message target, when the call has one. */
  target?: string;
  operationCount?: number;
}

/**
 * Runs one Dataverse call in a CLIENT span (an Application Insights dependency) carrying the correlation ids of
 * the work it serves; `outcome` adds what the answer says (rows failed).
 */
export async function inDataverseSpan<T>(
  call: DataverseCallDescription,
  correlation: LogFields,
  fn: () => Promise<T>,
  outcome?: (result: T) => Attributes,
): Promise<T> {
  if (!telemetryEnabled()) return fn();
  const tracer = trace.getTracer(instrumentationScope);
  const span = tracer.startSpan(`Dataverse ${call.operation}${call.target ? ` ${call.target}` : ''}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      'dataverse.operation': call.operation,
      ...(call.target ? { 'dataverse.target': call.target } : {}),
      ...(call.operationCount !== undefined ? { 'dataverse.operation_count': call.operationCount } : {}),
      ...correlationAttributes(correlation),
    },
  });
  const tally: CallTally = { operation: call.operation, throttled: 0, retryAfterSeconds: 0, attempts: 0 };
  const active = trace.setSpan(context.active(), span).setValue(callTallyKey, tally);
  try {
    const result = await context.with(active, fn);
    if (outcome) span.setAttributes(outcome(result));
    return result;
  } catch (error) {
    const e = error as { status?: unknown } | undefined;
    span.setAttributes({
      'dataverse.error_code': errorCode(error),
      ...(typeof e?.status === 'number' ? { 'http.response.status_code': e.status } : {}),
    });
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode(error) });
    throw error;
  } finally {
    span.setAttributes({
      'dataverse.attempts': tally.attempts,
      'dataverse.throttled': tally.throttled,
      ...(tally.throttled > 0 ? { 'dataverse.retry_after_seconds': tally.retryAfterSeconds } : {}),
    });
    span.end();
  }
}

/** Retry-After in seconds: a number of seconds or an HTTP date. */
export function retryAfterSeconds(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && header.trim() !== '') return Math.max(0, seconds);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, (at - now) / 1000) : undefined;
}

/** Which service protection limit a 429 hit: the Web API's error.code (0x80072322 requests, 0x80072321 execution time, 0x80072326 concurrency). */
function throttleCode(body: string): string {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' || typeof code === 'number' ? String(code) : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The transport's hook: one HTTP answer from Dataverse (each attempt, 429s and retries included). */
export function recordDataverseResponse(
  method: string,
  response: { status: number; headers: Record<string, string | undefined>; body: string },
): void {
  if (!telemetryEnabled()) return;
  const { status } = response;
  const tally = context.active().getValue(callTallyKey) as CallTally | undefined;
  const operation = tally?.operation ?? 'other';
  const { requests, throttled, retryAfter: retryAfterHistogram } = instruments();
  requests.add(1, { 'http.response.status_code': status, 'dataverse.operation': operation });
  const span: Span | undefined = trace.getActiveSpan();
  span?.setAttributes({ 'http.request.method': method, 'http.response.status_code': status });
  if (tally) tally.attempts += 1;
  if (status !== 429) return;
  throttled.add(1, { 'dataverse.operation': operation, 'dataverse.error_code': throttleCode(response.body) });
  const seconds = retryAfterSeconds(response.headers['retry-after']);
  if (seconds !== undefined) retryAfterHistogram.record(seconds, { 'dataverse.operation': operation });
  if (tally) {
    tally.throttled += 1;
    tally.retryAfterSeconds += seconds ?? 0;
  }
}

/** Current concurrency of each Dataverse client (observable gauges, read when metrics are collected). */
const concurrencySources = new Set<() => { limit: number; inFlight: number }>();
let gaugesFor: unknown;

export function observeDataverseConcurrency(source: () => { limit: number; inFlight: number }): void {
  concurrencySources.add(source);
  if (!telemetryEnabled()) return;
  const meter = metrics.getMeter(instrumentationScope);
  if (gaugesFor === meter) return;
  gaugesFor = meter;
  meter
    .createObservableGauge(metricNames.concurrencyLimit, {
      unit: '{request}',
      description: 'Concurrent requests the Dataverse client allows now (x-ms-dop-hint, lowered by 429s).',
    })
    .addCallback((result) => {
      for (const read of concurrencySources) result.observe(read().limit);
    });
  meter
    .createObservableGauge(metricNames.inFlight, {
      unit: '{request}',
      description: 'Dataverse requests in flight now.',
    })
    .addCallback((result) => {
      for (const read of concurrencySources) result.observe(read().inFlight);
    });
}
