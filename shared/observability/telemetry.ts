/**
 * The app's traces, metrics and log records, through the OpenTelemetry API only (the SDK and its exporters are
 * started by telemetrySdk.ts, or not at all). While no SDK runs, `telemetryEnabled()` is false and every function
 * here returns at once: no attribute is built, no instrument exists, telemetry costs nothing.
 *
 * What never goes out: row values (record ids, key values, column values and Dataverse's per-row messages, which
 * quote them), URLs of Dataverse requests (a key or `$filter` in a path is a row value), tokens and secrets.
 * Attributes are names, counts, codes and the correlation ids below; free text is passed through redactSecrets.
 */
import {
  metrics,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type AttributeValue,
  type Counter,
  type Histogram,
} from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import { redactSecrets } from '../security/redaction';
import type { LogEntry, LogFields, LogLevel } from './logger';

export const instrumentationScope = 'dataverse-loader';

let enabled = false;
let instrumentsMemo: Instruments | undefined;

/** Called by telemetrySdk.ts once providers are registered (and with false when they shut down). */
export function setTelemetryEnabled(on: boolean): void {
  enabled = on;
  instrumentsMemo = undefined;
}

export function telemetryEnabled(): boolean {
  return enabled;
}

/** Log fields that correlate work, and the attribute (customDimension) each becomes. */
export const correlationAttributeNames = {
  loadId: 'dataverse_loader.load_id',
  jobId: 'dataverse_loader.job_id',
  table: 'dataverse_loader.table',
  chunkIndex: 'dataverse_loader.chunk_index',
  planId: 'dataverse_loader.plan_id',
} as const;

/** Attributes of the metrics besides the correlation ids. */
export const metricAttributeNames = {
  rowOutcome: 'dataverse_loader.row_outcome',
  errorCode: 'dataverse_loader.error_code',
  jobKind: 'dataverse_loader.job_kind',
} as const;

/** The metric instruments; docs/observability.md and the workbook (infra/) query these names. */
export const metricNames = {
  rows: 'dataverse_loader.rows',
  chunkDuration: 'dataverse_loader.chunk.duration',
  requests: 'dataverse_loader.dataverse.requests',
  throttled: 'dataverse_loader.dataverse.throttled',
  retryAfter: 'dataverse_loader.dataverse.retry_after',
  concurrencyLimit: 'dataverse_loader.dataverse.concurrency_limit',
  inFlight: 'dataverse_loader.dataverse.in_flight',
  pollLag: 'dataverse_loader.async_operation.poll_lag',
} as const;

export interface Instruments {
  rows: Counter;
  chunkDuration: Histogram;
  requests: Counter;
  throttled: Counter;
  retryAfter: Histogram;
  pollLag: Histogram;
}

/** The metric instruments of the current meter provider (built on first use after telemetry starts). */
export function instruments(): Instruments {
  if (instrumentsMemo) return instrumentsMemo;
  const meter = metrics.getMeter(instrumentationScope);
  instrumentsMemo = {
    rows: meter.createCounter(metricNames.rows, {
      unit: '{row}',
      description: 'Rows of loads by table and outcome (succeeded, failed, notProcessed), counted once per chunk.',
    }),
    chunkDuration: meter.createHistogram(metricNames.chunkDuration, {
      unit: 's',
      description: 'Time a chunk worker took to send a chunk and record its outcome.',
    }),
    requests: meter.createCounter(metricNames.requests, {
      unit: '{request}',
      description: 'HTTP requests sent to Dataverse, by status code and operation (each retry counts).',
    }),
    throttled: meter.createCounter(metricNames.throttled, {
      unit: '{response}',
      description: '429 answers (service protection limits) from Dataverse.',
    }),
    retryAfter: meter.createHistogram(metricNames.retryAfter, {
      unit: 's',
      description: 'Retry-After of the 429 answers from Dataverse.',
    }),
    pollLag: meter.createHistogram(metricNames.pollLag, {
      unit: 's',
      description: 'From an AsyncOperation completing in Dataverse to the poller recording its job as ended.',
    }),
  };
  return instrumentsMemo;
}

function attributeValue(value: unknown): AttributeValue | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return redactSecrets(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown; status?: unknown; requestId?: unknown };
    return redactSecrets(
      JSON.stringify({ name: e.name, message: e.message, code: e.code, status: e.status, requestId: e.requestId }),
    );
  }
  return redactSecrets(JSON.stringify(value));
}

/** Log fields as attributes: correlation ids under their `dataverse_loader.*` names, the rest as they are. */
export function fieldAttributes(fields: LogFields): Attributes {
  const attributes: Attributes = {};
  for (const [name, value] of Object.entries(fields)) {
    const converted = attributeValue(value);
    if (converted === undefined) continue;
    attributes[correlationAttributeNames[name as keyof typeof correlationAttributeNames] ?? name] = converted;
  }
  return attributes;
}

/** Only the correlation ids among the fields (span attributes). */
export function correlationAttributes(fields: LogFields): Attributes {
  const attributes: Attributes = {};
  for (const [field, name] of Object.entries(correlationAttributeNames)) {
    const converted = attributeValue(fields[field]);
    if (converted !== undefined) attributes[name] = converted;
  }
  return attributes;
}

const severities: Record<LogLevel, SeverityNumber> = {
  error: SeverityNumber.ERROR,
  warn: SeverityNumber.WARN,
  info: SeverityNumber.INFO,
  debug: SeverityNumber.DEBUG,
};

/** One log record: the message as body, the fields as attributes (customDimensions in Application Insights). */
export function emitLogRecord(entry: LogEntry): void {
  if (!enabled) return;
  logs.getLogger(instrumentationScope).emit({
    severityNumber: severities[entry.level],
    severityText: entry.level.toUpperCase(),
    body: redactSecrets(entry.message),
    attributes: fieldAttributes(entry.fields),
  });
}

/** A span for one invocation, child of the host's trace context (the instrumentation makes it the active one). */
export async function inInvocationSpan<T>(
  invocation: { functionName: string; invocationId: string },
  fn: () => Promise<T>,
  fields: () => LogFields,
): Promise<T> {
  if (!enabled) return fn();
  const tracer = trace.getTracer(instrumentationScope);
  return tracer.startActiveSpan(
    invocation.functionName,
    {
      kind: SpanKind.INTERNAL,
      attributes: { 'faas.name': invocation.functionName, 'faas.invocation_id': invocation.invocationId },
    },
    async (span) => {
      try {
        return await fn();
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode(error) });
        throw error;
      } finally {
        span.setAttributes(correlationAttributes(fields()));
        span.end();
      }
    },
  );
}

/** An error's stable code (or name): never its message, which may quote a row value. */
export function errorCode(error: unknown): string {
  const e = error as { name?: unknown; code?: unknown } | undefined;
  const code = e?.code ?? e?.name;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : 'Error';
}

/** A chunk's outcome, once its transaction is applied (a re-delivered chunk is not counted twice). */
export function recordChunkOutcome(input: {
  table: string;
  succeeded: number;
  /** The error code of each failed row (a conversion code or Dataverse's, e.g. 0x80040237). */
  failedCodes: string[];
  notProcessed: number;
  durationMs: number;
}): void {
  if (!enabled) return;
  const { rows, chunkDuration } = instruments();
  const table = { [correlationAttributeNames.table]: input.table };
  const outcome = (name: string) => ({ ...table, [metricAttributeNames.rowOutcome]: name });
  if (input.succeeded > 0) rows.add(input.succeeded, outcome('succeeded'));
  if (input.notProcessed > 0) rows.add(input.notProcessed, outcome('notProcessed'));
  const byCode = new Map<string, number>();
  for (const code of input.failedCodes) byCode.set(code, (byCode.get(code) ?? 0) + 1);
  for (const [code, count] of byCode) rows.add(count, { ...outcome('failed'), [metricAttributeNames.errorCode]: code });
  chunkDuration.record(input.durationMs / 1000, table);
}

/** How late the poller saw an AsyncOperation's end (its `completedon`), when Dataverse reported it. */
export function recordAsyncOperationPollLag(kind: string, completedOn: string | undefined, now: number): void {
  if (!enabled || !completedOn) return;
  const completed = Date.parse(completedOn);
  if (!Number.isFinite(completed)) return;
  instruments().pollLag.record(Math.max(0, (now - completed) / 1000), { [metricAttributeNames.jobKind]: kind });
}
