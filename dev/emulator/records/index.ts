/**
 * The emulator's data side: tables from a JSON schema, records, queries, metadata, bulk messages,
 * WhoAmI and Merge. `route` answers paths relative to the Web API base; the server mounts it and
 * wraps change sets in `transaction`.
 */
import type { EmulatorRequest, EmulatorResponse, EmulatorRoute } from '../types';
import { merge, whoAmI } from './actions';
import { bulkMessages, bulkRequest, type BulkMessage } from './bulk';
import { createContext } from './context';
import { entitySetRequest } from './crud';
import { defaultSchema } from './defaultSchema';
import { parseSegment, splitSegments } from './entityReference';
import { DataverseFault, faults } from './faults';
import { fileMessage, isFileMessage } from './files';
import { metadataRequest } from './metadata';
import { relationshipDefinitionsRequest } from './metadataRelationships';
import { compileSchema, type TableSchemaJson } from './schema';
import { createRecordStore } from './store';

export type { TableSchemaJson } from './schema';
export { defaultSchema } from './defaultSchema';
export { DataverseFault } from './faults';

export interface RecordServiceOptions {
  /** Tables to serve; defaults to `defaultSchema` (account, contact, task, lead, ...). */
  schema?: TableSchemaJson;
  /** The organization URL, e.g. http://127.0.0.1:port (no trailing slash). */
  baseUrl: string;
  /** Called for every create attempted, with the record id it carries (the emulator's write log). */
  onCreateAttempt?: (table: string, id: string) => void;
}

export interface RecordService {
  route: EmulatorRoute;
  /** Runs fn; rolls back every record change made inside it if it throws. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  stats(): { recordsPerTable: Record<string, number> };
  /** The logical name of one of its entity sets (`accounts` → `account`). */
  logicalNameOf(entitySet: string): string | undefined;
  reset(): void;
  exportState(): unknown;
  importState(state: unknown): void;
}

const bulkPrefix = 'Microsoft.Dynamics.CRM.';

export function createRecordService(options: RecordServiceOptions): RecordService {
  const schema = compileSchema(options.schema ?? defaultSchema);
  const store = createRecordStore(schema);
  const ctx = createContext(schema, store, options.baseUrl, options.onCreateAttempt);

  const answer = (req: EmulatorRequest): EmulatorResponse | undefined => {
    const segments = splitSegments(req.path);
    if (segments.length === 0) return undefined;
    const { name } = parseSegment(segments[0]!);
    if (name === 'WhoAmI' && segments.length === 1) return whoAmI(ctx, req);
    if (name === 'Merge' && segments.length === 1) return merge(ctx, req);
    if (name === 'EntityDefinitions') return metadataRequest(ctx, segments, req);
    if (name === 'RelationshipDefinitions') return relationshipDefinitionsRequest(ctx, segments, req);
    if (segments.length === 1 && isFileMessage(name)) return fileMessage(ctx, name, req);
    const table = schema.bySet.get(name);
    if (!table) return undefined; // not a table: another route's path, or the server's 404
    if (segments.length === 2 && segments[1]!.startsWith(bulkPrefix) && !segments[0]!.includes('(')) {
      const message = segments[1]!.slice(bulkPrefix.length);
      if (!(bulkMessages as readonly string[]).includes(message)) throw faults.resourceNotFound(segments[1]!);
      return bulkRequest(ctx, table, message as BulkMessage, req);
    }
    return entitySetRequest(ctx, table, segments, req);
  };

  return {
    route: (req) => {
      try {
        return answer(req);
      } catch (error) {
        if (error instanceof DataverseFault) return error.toResponse();
        throw error;
      }
    },
    transaction: (fn) => store.transaction(fn),
    stats: () => ({ recordsPerTable: store.counts() }),
    logicalNameOf: (entitySet) => schema.bySet.get(entitySet)?.logicalName,
    reset: () => {
      store.reset();
      ctx.files.clear();
    },
    exportState: () => store.exportState(),
    importState: (state) => store.importState(state),
  };
}

/** Dataverse's answer for a path no route claims (the server uses it as its fallback). */
export function resourceNotFound(path: string): EmulatorResponse {
  return faults.resourceNotFound(parseSegment(splitSegments(path)[0] ?? path).name).toResponse();
}
