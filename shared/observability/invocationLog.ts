/**
 * Adapts an Azure Functions InvocationContext to the engines' Logger, by shape (shared/ never imports
 * @azure/functions). Lines go through context.debug/info/warn/error, so the host sends them to Application
 * Insights as traces of that invocation (operation id, invocation id, function name as dimensions), with the
 * correlation ids in the line's JSON part.
 */
import { createLogger, type LogFields, type Logger, type LogWriter } from './logger';
import { runInLogScope } from './logScope';

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
  return createLogger(invocationWriter(context), {
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
    () => fn(log),
  );
}
