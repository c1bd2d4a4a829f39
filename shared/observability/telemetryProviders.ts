/**
 * The OpenTelemetry SDK providers for OTLP and in-memory export (telemetrySdk.ts loads this module only when one of
 * them is configured: the SDK packages take a while to load, which a cold start without telemetry should not pay).
 */
import { writeFileSync } from 'node:fs';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  BatchLogRecordProcessor,
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type LogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createAzureSdkInstrumentation } from '@azure/opentelemetry-instrumentation-azure-sdk';
import { dumpTelemetry } from './telemetryDump';

const metricIntervalMs = 60_000;

interface Pipelines {
  spanProcessor: SpanProcessor;
  logRecordProcessor: LogRecordProcessor;
  metricReader: PeriodicExportingMetricReader;
  onShutdown?: () => Promise<void>;
}

export function otlpPipelines(): Pipelines {
  // The exporters read OTEL_EXPORTER_OTLP_ENDPOINT (and _HEADERS, _TIMEOUT…) themselves.
  return {
    spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter()),
    logRecordProcessor: new BatchLogRecordProcessor(new OTLPLogExporter()),
    metricReader: new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter(),
      exportIntervalMillis: metricIntervalMs,
    }),
  };
}

export function memoryPipelines(file: string): Pipelines {
  const spans = new InMemorySpanExporter();
  const logRecords = new InMemoryLogRecordExporter();
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const metricReader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: metricIntervalMs,
  });
  return {
    spanProcessor: new SimpleSpanProcessor(spans),
    logRecordProcessor: new SimpleLogRecordProcessor(logRecords),
    metricReader,
    // The exporters forget what they hold when shut down: written out first.
    onShutdown: async () => {
      await metricReader.forceFlush();
      writeFileSync(
        file,
        JSON.stringify(
          dumpTelemetry(spans.getFinishedSpans(), logRecords.getFinishedLogRecords(), metricExporter.getMetrics()),
        ),
      );
    },
  };
}

export function startProviders(pipelines: Pipelines): () => Promise<void> {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  // Every invocation is recorded: the local host's trace context says "not sampled".
  const tracerProvider = new BasicTracerProvider({
    sampler: new AlwaysOnSampler(),
    spanProcessors: [pipelines.spanProcessor],
  });
  trace.setGlobalTracerProvider(tracerProvider);
  const meterProvider = new MeterProvider({ readers: [pipelines.metricReader] });
  metrics.setGlobalMeterProvider(meterProvider);
  const loggerProvider = new LoggerProvider({ processors: [pipelines.logRecordProcessor] });
  logs.setGlobalLoggerProvider(loggerProvider);
  // Storage spans from the Azure SDK's own tracing (as the distro does in Azure).
  const azureSdk = createAzureSdkInstrumentation();
  azureSdk.setTracerProvider(tracerProvider);
  azureSdk.enable();
  return async () => {
    await pipelines.onShutdown?.();
    azureSdk.disable();
    await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown(), loggerProvider.shutdown()]);
    trace.disable();
    metrics.disable();
    logs.disable();
    context.disable();
    propagation.disable();
  };
}
