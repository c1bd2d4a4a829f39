/**
 * The engines' logger. Each line is `<message> {json}`: the message first (what an operator reads), then one
 * JSON object of correlation ids and figures (loadId, chunkIndex, jobId, asyncOperationId, requestId, rows/s…)
 * that KQL reads with `parse_json(extract(@"(\{.*\})$", 1, message))`; with OpenTelemetry on, the scoped and
 * invocation loggers also emit each line as a log record with its fields as attributes (customDimensions,
 * docs/observability.md). Every line goes through
 * `redactSecrets`, so a token or key that slips into a message or a field is masked. The engines depend on this
 * interface only; functions/ adapts the Functions InvocationContext to it (invocationLog.ts).
 */
import { redactSecrets } from '../security/redaction';

export const logLevels = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof logLevels)[number];
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines carry these fields too (e.g. `{ loadId, chunkIndex }`). */
  child(fields: LogFields): Logger;
}

export interface LogEntry {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

/** Where lines go: an invocation context, the console, a test's array. */
export type LogWriter = (entry: LogEntry, line: string) => void;

const severity: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export function isLevelEnabled(level: LogLevel, threshold: LogLevel): boolean {
  return severity[level] <= severity[threshold];
}

/** JSON of the fields: Errors as `{ name, code, message, requestId }`, bigint as text, undefined fields dropped. */
function fieldsJson(fields: LogFields): string {
  return JSON.stringify(fields, (_key, value: unknown) => {
    if (value instanceof Error) {
      const e = value as Error & { code?: unknown; status?: unknown; requestId?: unknown };
      return {
        name: e.name,
        message: e.message,
        ...(e.code !== undefined ? { code: e.code } : {}),
        ...(e.status !== undefined ? { status: e.status } : {}),
        ...(e.requestId !== undefined ? { requestId: e.requestId } : {}),
      };
    }
    if (typeof value === 'bigint') return value.toString();
    return value;
  });
}

/** One log line, redacted: `message {"loadId":"…","chunkIndex":3}` (no JSON part when there are no fields). */
export function formatLogLine(message: string, fields: LogFields = {}): string {
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  const json = Object.keys(defined).length > 0 ? ` ${fieldsJson(defined)}` : '';
  return redactSecrets(`${message}${json}`);
}

/** The fields part of a line written by `formatLogLine` (tests and log readers). */
export function parseLogLine(line: string): { message: string; fields: LogFields } {
  const at = line.indexOf(' {');
  if (at < 0 || !line.endsWith('}')) return { message: line, fields: {} };
  try {
    return { message: line.slice(0, at), fields: JSON.parse(line.slice(at + 1)) as LogFields };
  } catch {
    return { message: line, fields: {} };
  }
}

export function createLogger(write: LogWriter, options: { level?: LogLevel; fields?: LogFields } = {}): Logger {
  const threshold = options.level ?? 'info';
  const bound = options.fields ?? {};
  const emit = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (!isLevelEnabled(level, threshold)) return;
    const all = { ...bound, ...fields };
    write({ level, message, fields: all }, formatLogLine(message, all));
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => createLogger(write, { level: threshold, fields: { ...bound, ...fields } }),
  };
}

/** The worker's console, for code running outside any invocation (startup, background timers). */
export const consoleWriter: LogWriter = (entry, line) => {
  if (entry.level === 'error') console.error(line);
  else if (entry.level === 'warn') console.warn(line);
  else console.log(line);
};
