/**
 * Which invocation a log line belongs to. The engines are built once per worker (cached clients, cached
 * contexts), so they cannot hold an invocation's logger; instead each invocation runs in a scope
 * (AsyncLocalStorage) holding its writer and correlation fields, and the engines' `scopedLogger` writes to the
 * scope it is called in: the Dataverse client's retry lines of a chunk land on that chunk's invocation, with
 * its loadId and chunkIndex.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  consoleWriter,
  createLogger,
  isLevelEnabled,
  type LogEntry,
  type LogFields,
  type Logger,
  type LogLevel,
  type LogWriter,
} from './logger';
import { emitLogRecord } from './telemetry';

interface LogScope {
  /** Undefined once the scope's work has ended (later lines go to the fallback writer). */
  write: LogWriter | undefined;
  fields: LogFields;
}

const scopes = new AsyncLocalStorage<LogScope>();

/**
 * Runs `fn` in a scope. When its promise settles the scope lets go of its writer: async resources created inside
 * (keep-alive sockets of the storage and Dataverse clients, timers) keep the scope object for their whole life, and
 * the writer holds the InvocationContext, which holds the invocation's input data (a whole blob for blob triggers).
 */
export function runInLogScope<T>(scope: { write: LogWriter; fields?: LogFields }, fn: () => T): T {
  const store: LogScope = { write: scope.write, fields: { ...scope.fields } };
  const result = scopes.run(store, fn);
  if (result instanceof Promise) {
    const release = () => {
      store.write = undefined;
    };
    result.then(release, release);
  }
  return result;
}

/** Adds correlation ids to the current scope (e.g. the load id once the trigger knows it). */
export function addLogFields(fields: LogFields): void {
  const scope = scopes.getStore();
  if (scope) Object.assign(scope.fields, fields);
}

/**
 * Runs `fn` with more correlation ids than the current scope's, without changing it (one job of a sweep that
 * handles several): lines and spans inside carry them, and still go to the invocation's writer.
 */
export function withLogFields<T>(fields: LogFields, fn: () => T): T {
  const parent = scopes.getStore();
  if (!parent) return fn();
  const child: LogScope = {
    get write() {
      return parent.write;
    },
    fields: { ...parent.fields, ...fields },
  };
  return scopes.run(child, fn);
}

export function currentLogFields(): LogFields {
  return { ...scopes.getStore()?.fields };
}

/**
 * A logger for long-lived engine objects: each line goes to the current scope's writer with the scope's
 * fields (outside any scope: `fallback`, the console by default).
 */
export function createScopedLogger(
  options: { level?: LogLevel; fallback?: LogWriter; fields?: LogFields } = {},
): Logger {
  const threshold = options.level ?? 'info';
  const fallback = options.fallback ?? consoleWriter;
  const write: LogWriter = (entry: LogEntry) => {
    if (!isLevelEnabled(entry.level, threshold)) return;
    const scope = scopes.getStore();
    const fields = { ...scope?.fields, ...entry.fields };
    emitLogRecord({ ...entry, fields });
    createLogger(scope?.write ?? fallback, { level: 'debug', fields })[entry.level](entry.message);
  };
  return createLogger(write, { level: 'debug', ...(options.fields ? { fields: options.fields } : {}) });
}
