/**
 * Starts (or not) the OpenTelemetry SDK of the worker, from the telemetry settings:
 * - Application Insights: the Azure Monitor distro (`useAzureMonitor`), with the managed identity as credential
 *   when APPLICATIONINSIGHTS_AUTHENTICATION_STRING says Authorization=AAD (infra/ turns local auth off);
 * - OTLP: tracer, meter and logger providers with the OTLP/HTTP exporters (any collector);
 * - memory (tests, bench): the SDK's in-memory exporters, written to a JSON file when telemetry stops;
 * - off: nothing is started, the instruments stay no-ops.
 * Must run before `@azure/functions` and the storage SDKs are loaded, so their instrumentations can hook them
 * (functions/telemetry.ts, imported first by every function file).
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
import type { TelemetrySettings } from '../config/sections/telemetry';
import { setTelemetryEnabled } from './telemetry';
import { dumpTelemetry } from './telemetryDump';

export interface RunningTelemetry {
  kind: TelemetrySettings['export']['kind'];
  /** Exports what is buffered and stops the SDK (the worker is shutting down). */
  shutdown(): Promise<void>;
}

const metricIntervalMs = 60_000;

/* eslint-disable @typescript-eslint/no-require-imports -- loaded only when configured, and synchronously: the
   instrumentations must be in place before the function files go on to load the modules they patch. */
function startAzureMonitor(
  settings: Extract<TelemetrySettings['export'], { kind: 'azureMonitor' }>,
): () => Promise<void> {
  const { useAzureMonitor, shutdownAzureMonitor } =
    require('@azure/monitor-opentelemetry') as typeof import('@azure/monitor-opentelemetry');
  const { ManagedIdentityCredential } = require('@azure/identity') as typeof import('@azure/identity');
  const credential = settings.entraAuth
    ? new ManagedIdentityCredential(
        settings.managedIdentityClientId ? { clientId: settings.managedIdentityClientId } : {},
      )
    : undefined;
  useAzureMonitor({
    azureMonitorExporterOptions: {
      connectionString: settings.connectionString.reveal(),
      ...(credential ? { credential } : {}),
    },
    // Storage calls are traced by the Azure SDK instrumentation; raw http spans would only repeat them.
    instrumentationOptions: { azureSdk: { enabled: true }, http: { enabled: false } },
  });
  return async () => {
    await shutdownAzureMonitor();
  };
}

interface Pipelines {
  spanProcessor: SpanProcessor;
  logRecordProcessor: LogRecordProcessor;
  metricReader: PeriodicExportingMetricReader;
  onShutdown?: () => Promise<void>;
}

function otlpPipelines(): Pipelines {
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

function memoryPipelines(file: string): Pipelines {
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

function startProviders(pipelines: Pipelines): () => Promise<void> {
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
  const { createAzureSdkInstrumentation } =
    require('@azure/opentelemetry-instrumentation-azure-sdk') as typeof import('@azure/opentelemetry-instrumentation-azure-sdk');
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
/* eslint-enable @typescript-eslint/no-require-imports */

let running: RunningTelemetry | undefined;

/** Starts the SDK the settings ask for, once per process; `off` starts nothing. */
export function startTelemetry(settings: TelemetrySettings): RunningTelemetry {
  if (running) return running;
  const target = settings.export;
  let stop: () => Promise<void> = () => Promise.resolve();
  if (target.kind === 'azureMonitor') stop = startAzureMonitor(target);
  else if (target.kind === 'otlp') stop = startProviders(otlpPipelines());
  else if (target.kind === 'memory') stop = startProviders(memoryPipelines(target.file));
  setTelemetryEnabled(target.kind !== 'off');
  const started: RunningTelemetry = {
    kind: target.kind,
    shutdown: async () => {
      if (running !== started) return;
      running = undefined;
      setTelemetryEnabled(false);
      await stop();
    },
  };
  running = started;
  return started;
}
