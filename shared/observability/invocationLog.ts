/**
 * Adapts an Azure Functions InvocationContext to the engines' Logger, by shape (shared/ never imports
 * @azure/functions). Lines go through context.debug/info/warn/error (the host's log stream and, without
 * OpenTelemetry, Application Insights traces with the correlation ids in the line's JSON part). With telemetry on
 * (telemetrySdk.ts), each line is also one OpenTelemetry log record whose fields are attributes (customDimensions),
 * inside a span for the invocation; the host then leaves the worker's lines out of Application Insights.
 */
import { createLogger, type LogFields, type Logger, type LogWriter } from './logger';
import { currentLogFields, runInLogScope } from './logScope';
import { emitLogRecord, inInvocationSpan } from './telemetry';

/** The part of InvocationContext used here. */
export interface InvocationLogTarget {
  invocationId: string;
  functionName: string;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export function invocationWriter(context: InvocationLogTarget): LogWriter {
  return (entry, line) => context[entry.level](line);
}

export function invocationLogger(context: InvocationLogTarget, fields: LogFields = {}): Logger {
  const write = invocationWriter(context);
  // Lines of the scoped logger reach invocationWriter too, already emitted: only this logger's lines are emitted here.
  const emitAndWrite: LogWriter = (entry, line) => {
    emitLogRecord(entry);
    write(entry, line);
  };
  return createLogger(emitAndWrite, {
    level: 'debug',
    fields: { functionName: context.functionName, invocationId: context.invocationId, ...fields },
  });
}

/**
 * Runs a handler's body in the invocation's log scope: engine lines logged during it (including the Dataverse
 * client's) go to this invocation with its ids.
 */
export function withInvocationLog<T>(
  context: InvocationLogTarget,
  fn: (log: Logger) => Promise<T>,
  fields: LogFields = {},
): Promise<T> {
  const log = invocationLogger(context, fields);
  return runInLogScope(
    {
      write: invocationWriter(context),
      fields: { functionName: context.functionName, invocationId: context.invocationId, ...fields },
    },
    () => inInvocationSpan(context, () => fn(log), currentLogFields),
  );
}
