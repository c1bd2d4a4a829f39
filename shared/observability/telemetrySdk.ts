/**
 * Starts (or not) the OpenTelemetry SDK of the worker, from the telemetry settings:
 * - Application Insights: the Azure Monitor distro (`useAzureMonitor`), with the managed identity as credential
 *   when APPLICATIONINSIGHTS_AUTHENTICATION_STRING says Authorization=AAD (infra/ turns local auth off);
 * - OTLP: tracer, meter and logger providers with the OTLP/HTTP exporters (any collector);
 * - memory (tests, bench): the SDK's in-memory exporters, written to a JSON file when telemetry stops;
 * - off: nothing is started or even loaded, the instruments stay no-ops.
 * Must run before `@azure/functions` and the storage SDKs are loaded, so their instrumentations can hook them
 * (functions/telemetry.ts, imported first by every function file).
 */
import { telemetrySettingsFrom, type TelemetrySettings } from '../config/sections/telemetry';
import { setTelemetryEnabled } from './telemetry';

export interface RunningTelemetry {
  kind: TelemetrySettings['export']['kind'];
  /** Exports what is buffered and stops the SDK (the worker is shutting down). */
  shutdown(): Promise<void>;
}

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

const providers = () => require('./telemetryProviders') as typeof import('./telemetryProviders');
/* eslint-enable @typescript-eslint/no-require-imports */

let running: RunningTelemetry | undefined;

/** The worker's telemetry, from the process environment (the app settings), before any function loads. */
export function startWorkerTelemetry(env: NodeJS.ProcessEnv = process.env): RunningTelemetry {
  return startTelemetry(telemetrySettingsFrom(env));
}

/** Starts the SDK the settings ask for, once per process; `off` starts nothing. */
export function startTelemetry(settings: TelemetrySettings): RunningTelemetry {
  if (running) return running;
  const target = settings.export;
  let stop: () => Promise<void> = () => Promise.resolve();
  if (target.kind === 'azureMonitor') stop = startAzureMonitor(target);
  else if (target.kind === 'otlp') stop = providers().startProviders(providers().otlpPipelines());
  else if (target.kind === 'memory') stop = providers().startProviders(providers().memoryPipelines(target.file));
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
