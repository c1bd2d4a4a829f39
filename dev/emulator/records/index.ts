/**
 * The emulator's data side: tables, records, queries, metadata, bulk messages, WhoAmI and Merge.
 * Work in progress: the factory's shape is the contract the server mounts.
 */
import type { EmulatorRoute } from '../types.ts';

export type TableSchemaJson = unknown;

export interface RecordServiceOptions {
  schema?: TableSchemaJson;
  /** The organization URL, e.g. http://127.0.0.1:port (no trailing slash). */
  baseUrl: string;
}

export interface RecordService {
  route: EmulatorRoute;
  /** Runs fn; rolls back every record change made inside it if it throws. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  stats(): { recordsPerTable: Record<string, number> };
  reset(): void;
  exportState(): unknown;
  importState(state: unknown): void;
}

export function createRecordService(_options: RecordServiceOptions): RecordService {
  return {
    route: () => undefined,
    transaction: (fn) => fn(),
    stats: () => ({ recordsPerTable: {} }),
    reset: () => {},
    exportState: () => ({}),
    importState: () => {},
  };
}
