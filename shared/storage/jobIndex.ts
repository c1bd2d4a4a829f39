/**
 * The list of loads and background jobs, newest first, kept in the jobs table:
 * PartitionKey 'index', RowKey = inverted creation time + '_' + id (so a plain ascending scan is newest first),
 * plus a pointer PartitionKey 'indexById', RowKey id → the index RowKey, so a state update needs only the id.
 */
import { z } from 'zod';
import { odata, type TableClient } from '@azure/data-tables';
import { isRestErrorWithStatus } from '../errors';

export const INDEX_PARTITION = 'index';
export const INDEX_POINTER_PARTITION = 'indexById';

/** States after which a job never changes again; a load's final statuses are among them. */
export const terminalJobStates = [
  'succeeded',
  'partiallySucceeded',
  'failed',
  'canceled',
  'timedOut',
  'rejected',
] as const;
/** States after which an index entry never changes again (loads and jobs share them). */
export const terminalStates: ReadonlySet<string> = new Set([...terminalJobStates, 'completed']);

export const jobIndexEntrySchema = z.object({
  id: z.string().min(1),
  /** 'load', 'ImportSolution', 'StageAndUpgrade', 'DeleteAndPromote', 'Merge' or 'Batch'. */
  kind: z.string().min(1),
  state: z.string().min(1),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime().optional(),
  /** Solution unique name, file name...: what a person recognises in a list. */
  name: z.string().optional(),
  /** Relative URL of the status resource (`/api/imports/{id}`, `/api/loads/{id}`). */
  statusUrl: z.string().optional(),
});
export type JobIndexEntry = z.infer<typeof jobIndexEntrySchema>;

// Max JS date ms is 8.64e15 (16 digits); inverting against it keeps the key fixed-width and ordered.
const MAX_MS = 8_640_000_000_000_000;

export function indexRowKey(createdAt: string, id: string): string {
  const ms = Date.parse(createdAt);
  if (!Number.isFinite(ms)) throw new RangeError(`createdAt '${createdAt}' is not a date`);
  return `${String(MAX_MS - ms).padStart(16, '0')}_${id}`;
}

export interface ListJobsOptions {
  state?: string;
  /** 1..1000 (default 50). */
  pageSize?: number;
  continuationToken?: string;
  abortSignal?: AbortSignal;
}

export interface JobIndex {
  recordJob(entry: JobIndexEntry, options?: { abortSignal?: AbortSignal }): Promise<void>;
  /** Sets the state; a terminal state is never replaced (late or duplicate updates are ignored). Returns false when the id is unknown. */
  updateJobState(id: string, state: string, options?: { at?: string; abortSignal?: AbortSignal }): Promise<boolean>;
  listJobs(options?: ListJobsOptions): Promise<{ items: JobIndexEntry[]; continuationToken?: string }>;
}

function toEntry(entity: Record<string, unknown>): JobIndexEntry {
  return jobIndexEntrySchema.parse({
    id: entity.id,
    kind: entity.kind,
    state: entity.state,
    createdAt: entity.createdAt,
    updatedAt: entity.updatedAt ?? undefined,
    name: entity.name ?? undefined,
    statusUrl: entity.statusUrl ?? undefined,
  });
}

export function createJobIndex(table: TableClient): JobIndex {
  return {
    async recordJob(entry, options) {
      const valid = jobIndexEntrySchema.parse(entry);
      const rowKey = indexRowKey(valid.createdAt, valid.id);
      const { id, kind, state, createdAt, updatedAt, name, statusUrl } = valid;
      // Upserts: recording the same job twice (a redelivered message) is harmless.
      await table.upsertEntity(
        {
          partitionKey: INDEX_PARTITION,
          rowKey,
          id,
          kind,
          state,
          createdAt,
          updatedAt: updatedAt ?? createdAt,
          ...(name ? { name } : {}),
          ...(statusUrl ? { statusUrl } : {}),
        },
        'Replace',
        { abortSignal: options?.abortSignal },
      );
      await table.upsertEntity({ partitionKey: INDEX_POINTER_PARTITION, rowKey: id, indexRowKey: rowKey }, 'Replace', {
        abortSignal: options?.abortSignal,
      });
    },

    async updateJobState(id, state, options) {
      let pointer: { indexRowKey?: unknown };
      try {
        pointer = await table.getEntity(INDEX_POINTER_PARTITION, id, { abortSignal: options?.abortSignal });
      } catch (error) {
        if (isRestErrorWithStatus(error, 404)) return false;
        throw error;
      }
      const rowKey = String(pointer.indexRowKey);
      for (let attempt = 0; attempt < 5; attempt++) {
        const current = await table.getEntity<Record<string, unknown>>(INDEX_PARTITION, rowKey, {
          abortSignal: options?.abortSignal,
        });
        if (current.state === state || terminalStates.has(String(current.state))) return true;
        try {
          await table.updateEntity(
            { partitionKey: INDEX_PARTITION, rowKey, state, updatedAt: options?.at ?? new Date().toISOString() },
            'Merge',
            { etag: current.etag, abortSignal: options?.abortSignal },
          );
          return true;
        } catch (error) {
          if (!isRestErrorWithStatus(error, 412)) throw error; // someone else moved it: read again
        }
      }
      throw new Error(`Job index entry ${id} kept changing under concurrent updates`);
    },

    async listJobs(options = {}) {
      const pageSize = Math.min(1000, Math.max(1, options.pageSize ?? 50));
      const filter =
        odata`PartitionKey eq ${INDEX_PARTITION}` + (options.state ? odata` and state eq ${options.state}` : '');
      const items: JobIndexEntry[] = [];
      let token = options.continuationToken;
      // A filtered query can return short (even empty) pages; keep reading, never past pageSize,
      // so the token handed back resumes exactly after the last item returned.
      do {
        const pages = table
          .listEntities<Record<string, unknown>>({ queryOptions: { filter }, abortSignal: options.abortSignal })
          .byPage({ maxPageSize: pageSize - items.length, continuationToken: token });
        const next = await pages.next();
        if (next.done || !next.value) {
          token = undefined;
          break;
        }
        for (const entity of next.value) items.push(toEntry(entity));
        token = next.value.continuationToken;
      } while (token && items.length < pageSize);
      return { items, continuationToken: token };
    },
  };
}
