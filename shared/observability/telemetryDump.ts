/**
 * What the in-memory exporters held, as plain JSON (TELEMETRY_TEST_EXPORT_FILE): the end-to-end tests and the
 * bench read it back with `telemetryDumpSchema`. Spans and log records keep what an exporter would send (names,
 * ids, attributes, bodies); metrics keep each data point's attributes and value.
 */
import { z } from 'zod';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

const attributes = z.record(z.string(), z.unknown());

export const telemetryDumpSchema = z.object({
  spans: z.array(
    z.object({
      name: z.string(),
      kind: z.number(),
      scope: z.string(),
      traceId: z.string(),
      spanId: z.string(),
      parentSpanId: z.string().optional(),
      status: z.object({ code: z.number(), message: z.string().optional() }),
      attributes,
      events: z.array(z.object({ name: z.string(), attributes: attributes.optional() })),
    }),
  ),
  logRecords: z.array(
    z.object({
      scope: z.string(),
      severityText: z.string().optional(),
      body: z.unknown(),
      traceId: z.string().optional(),
      spanId: z.string().optional(),
      attributes,
    }),
  ),
  metrics: z.array(
    z.object({
      name: z.string(),
      unit: z.string(),
      points: z.array(z.object({ attributes, value: z.unknown() })),
    }),
  ),
});

export type TelemetryDump = z.infer<typeof telemetryDumpSchema>;

export function dumpTelemetry(
  spans: readonly ReadableSpan[],
  logRecords: readonly ReadableLogRecord[],
  resourceMetrics: readonly ResourceMetrics[],
): TelemetryDump {
  // Cumulative temporality: the last collection holds every series with its total.
  const last = resourceMetrics.at(-1);
  return {
    spans: spans.map((s) => ({
      name: s.name,
      kind: s.kind,
      scope: s.instrumentationScope.name,
      traceId: s.spanContext().traceId,
      spanId: s.spanContext().spanId,
      ...(s.parentSpanContext ? { parentSpanId: s.parentSpanContext.spanId } : {}),
      status: { code: s.status.code, ...(s.status.message ? { message: s.status.message } : {}) },
      attributes: { ...s.attributes },
      events: s.events.map((e) => ({ name: e.name, ...(e.attributes ? { attributes: { ...e.attributes } } : {}) })),
    })),
    logRecords: logRecords.map((r) => ({
      scope: r.instrumentationScope.name,
      ...(r.severityText ? { severityText: r.severityText } : {}),
      body: r.body,
      ...(r.spanContext ? { traceId: r.spanContext.traceId, spanId: r.spanContext.spanId } : {}),
      attributes: { ...r.attributes },
    })),
    metrics: (last?.scopeMetrics ?? []).flatMap((scope) =>
      scope.metrics.map((m) => ({
        name: m.descriptor.name,
        unit: m.descriptor.unit,
        points: m.dataPoints.map((p) => ({ attributes: { ...p.attributes }, value: p.value })),
      })),
    ),
  };
}
