/**
 * OpenTelemetry for the worker (docs/observability.md). Imported first by every function file, before
 * `@azure/functions`: the SDK the settings ask for starts here (nothing when no exporter is configured), and
 * Microsoft's Azure Functions instrumentation patches `@azure/functions` as it loads, so each handler runs in the
 * trace context the host gives the invocation (and the host, told the worker exports its own telemetry, stops
 * forwarding the worker's log lines). Its log hook would export every line a second time as bare text: it gets
 * a no-op logger, since the engine's logger emits each line as a record with its fields as attributes.
 */
import { NOOP_LOGGER } from '@opentelemetry/api-logs';
import { startWorkerTelemetry } from '../shared/observability/telemetrySdk';

const telemetry = startWorkerTelemetry();

if (telemetry.kind !== 'off') {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only with telemetry on (off costs nothing), and
     @azure/functions only after the instrumentation, which patches it as it loads. */
  const { AzureFunctionsInstrumentation } =
    require('@azure/functions-opentelemetry-instrumentation') as typeof import('@azure/functions-opentelemetry-instrumentation');
  const instrumentation = new AzureFunctionsInstrumentation();
  instrumentation.setLoggerProvider({ getLogger: () => NOOP_LOGGER });
  const { app } = require('@azure/functions') as typeof import('@azure/functions');
  /* eslint-enable @typescript-eslint/no-require-imports */
  // What is still buffered goes out when the worker stops (the in-memory exporters write their file then).
  app.hook.appTerminate(() => telemetry.shutdown());
}
