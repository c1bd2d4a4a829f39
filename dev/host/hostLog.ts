export type HostLogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical' | 'none';

export interface HostLogRecord {
  level: HostLogLevel;
  /** `user` for context.log calls, `system` for the library and the host itself. */
  category: 'user' | 'system' | 'host';
  message: string;
  functionName?: string;
  invocationId?: string;
}

export type HostLogger = (record: HostLogRecord) => void;

/** Console output in the spirit of Core Tools: time, function name and invocation id on every invocation line. */
export const consoleHostLogger: HostLogger = (record) => {
  if (record.level === 'trace' || record.level === 'debug' || record.level === 'none') {
    if (!process.env.LOCAL_HOST_VERBOSE) return;
  }
  const time = new Date().toISOString();
  const where = record.functionName
    ? ` [${record.functionName}${record.invocationId ? ` ${record.invocationId}` : ''}]`
    : '';
  const line = `[${time}]${where} ${record.message}`;
  if (record.level === 'error' || record.level === 'critical') console.error(line);
  else if (record.level === 'warning') console.warn(line);
  else console.log(line);
};
