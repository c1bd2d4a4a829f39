/**
 * `LoadStore`: the load record, its chunk plan and chunk completions (Table `loads`, one partition per load)
 * and the failed rows (Table `loadrows`). Every change to the load record is an ETag-guarded read-modify-write,
 * and a chunk's completion is inserted in the same transaction as its counts, so a crash or a retried chunk can
 * neither lose nor double-count rows.
 */
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import {
  LOAD_ROW_KEY,
  chunkDoneRowKey,
  chunkMessageSchema,
  chunkPlanRowKey,
  crossTableBindsJson,
  failedRowKey,
  loadEntitySchema,
  type ChunkMessage,
  type FailedRowRecord,
  type LoadRecord,
} from './loadRecord';
import { chunkDoneSchema, chunkProgressOf, type ChunkDone, type ChunkProgress } from './loadProgress';
import { z } from 'zod';
import { ConflictError, isRestErrorWithStatus } from '../errors';
import { plannedLoadJson } from './plannedLoad';
import { createEtagRecordStore } from '../storage/etagRecordStore';

/** A load record kept changing under a read-modify-write, or is missing when it must exist. */
export class LoadStoreError extends ConflictError {
  override readonly name = 'LoadStoreError';
  constructor(message: string) {
    super('LoadStoreConflict', message);
  }
}

export type LoadPatch = Partial<Omit<LoadRecord, 'id'>>;

export interface LoadStore {
  /** Inserts the record unless the load exists; returns the stored one either way. */
  createIfAbsent(record: LoadRecord): Promise<{ created: boolean; record: LoadRecord }>;
  get(id: string): Promise<LoadRecord | undefined>;
  /**
   * Read-modify-write with the ETag, retried on conflict. `change` returns the patch to apply, or undefined to
   * leave the record as it is; the result is the record after the change (or as read, when unchanged).
   */
  mutate(
    id: string,
    change: (record: LoadRecord) => LoadPatch | undefined,
  ): Promise<{ record: LoadRecord; changed: boolean }>;
  savePlan(chunks: ChunkMessage[]): Promise<void>;
  getPlan(loadId: string, chunkIndex: number): Promise<ChunkMessage | undefined>;
  listPlan(loadId: string): Promise<ChunkMessage[]>;
  isChunkDone(loadId: string, chunkIndex: number): Promise<boolean>;
  doneChunks(loadId: string): Promise<Set<number>>;
  /**
   * One transaction: the completion entity of the chunk + the patch on the load record (ETag-guarded). Returns
   * `applied: false` when the chunk was already complete (a duplicate message), leaving the counts alone.
   */
  completeChunk(
    loadId: string,
    chunkIndex: number,
    change: (record: LoadRecord) => LoadPatch,
    done?: Omit<ChunkDone, 'chunkIndex'>,
  ): Promise<{ applied: boolean; record: LoadRecord }>;
  /** Notes on the chunk's plan entity that a worker started it (for the progress's chunk states). */
  markChunkStarted(loadId: string, chunkIndex: number, at: string): Promise<void>;
  /** Every planned chunk with its start and completion, in chunk order (one partition query). */
  chunkProgress(loadId: string): Promise<ChunkProgress[]>;
  putFailedRows(loadId: string, rows: FailedRowRecord[]): Promise<void>;
  /** Failed rows in row order. */
  listFailedRows(loadId: string): AsyncIterable<FailedRowRecord>;
  /** One page of failed rows in row order; `continuationToken` is absent on the last page. */
  failedRowsPage(
    loadId: string,
    options: { pageSize: number; continuationToken?: string },
  ): Promise<{ items: FailedRowRecord[]; continuationToken?: string }>;
  /** Loads not yet finished, and finished loads whose event is still to publish (for the sweeper). */
  listUnfinished(): AsyncIterable<LoadRecord>;
}

function toEntity({ plan, crossTableBinds, ...record }: LoadPatch & { id?: string }): Record<string, unknown> {
  // Tables has no null: leave undefined fields out.
  const entity = Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
  return {
    ...entity,
    ...(plan ? { planJson: z.encode(plannedLoadJson, plan) } : {}),
    ...(crossTableBinds ? { crossTableBindsJson: z.encode(crossTableBindsJson, crossTableBinds) } : {}),
  };
}

function fromEntity(entity: Record<string, unknown>): LoadRecord {
  const { planJson, crossTableBindsJson, ...record } = loadEntitySchema.parse(entity);
  return {
    ...(record as Omit<LoadRecord, 'plan' | 'crossTableBinds'>),
    ...(planJson ? { plan: planJson } : {}),
    ...(crossTableBindsJson ? { crossTableBinds: crossTableBindsJson } : {}),
  };
}

const optionalText = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);

/** A `loadrows` entity as read back (system properties ignored). */
const failedRowEntitySchema = z.object({
  rowNumber: z.coerce.number(),
  line: z.coerce.number(),
  chunkIndex: z.coerce.number(),
  code: z.string(),
  message: z.string(),
  column: optionalText,
  value: optionalText,
  dataverseCode: optionalText,
  dataverseMessage: optionalText,
  keyJson: optionalText,
  rowJson: z.string().catch('{}'),
});

function failedRowOf(entity: unknown): FailedRowRecord {
  const { column, value, dataverseCode, dataverseMessage, keyJson, ...required } = failedRowEntitySchema.parse(entity);
  return {
    ...required,
    ...(column !== undefined ? { column } : {}),
    ...(value !== undefined ? { value } : {}),
    ...(dataverseCode !== undefined ? { dataverseCode } : {}),
    ...(dataverseMessage !== undefined ? { dataverseMessage } : {}),
    ...(keyJson !== undefined ? { keyJson } : {}),
  };
}

async function submitInBatches(table: TableClient, actions: TransactionAction[]): Promise<void> {
  // A transaction holds at most 100 operations.
  for (let i = 0; i < actions.length; i += 100) await table.submitTransaction(actions.slice(i, i + 100));
}

export function createLoadStore(tables: { loads: TableClient; loadRows: TableClient }): LoadStore {
  const { loads, loadRows } = tables;

  const records = createEtagRecordStore<LoadRecord, LoadPatch>({
    table: loads,
    rowKey: LOAD_ROW_KEY,
    toEntity,
    fromEntity,
    fail: (message) => new LoadStoreError(message),
    what: 'Load',
  });
  const { read } = records;

  async function exists(partitionKey: string, rowKey: string): Promise<boolean> {
    try {
      await loads.getEntity(partitionKey, rowKey, { queryOptions: { select: ['PartitionKey'] } });
      return true;
    } catch (error) {
      if (isRestErrorWithStatus(error, 404)) return false;
      throw error;
    }
  }

  const store: LoadStore = {
    createIfAbsent: records.createIfAbsent,
    get: records.get,
    mutate: records.mutate,

    async savePlan(chunks) {
      if (chunks.length === 0) return;
      const loadId = chunks[0]!.loadId;
      await submitInBatches(
        loads,
        chunks.map((c) => [
          'upsert',
          { partitionKey: loadId, rowKey: chunkPlanRowKey(c.chunkIndex), messageJson: JSON.stringify(c) },
          'Replace',
        ]),
      );
    },

    async getPlan(loadId, chunkIndex) {
      try {
        const entity = await loads.getEntity<{ messageJson: string }>(loadId, chunkPlanRowKey(chunkIndex));
        return chunkMessageSchema.parse(JSON.parse(entity.messageJson));
      } catch (error) {
        if (isRestErrorWithStatus(error, 404)) return undefined;
        throw error;
      }
    },

    async listPlan(loadId) {
      const plans: ChunkMessage[] = [];
      const filter = odata`PartitionKey eq ${loadId} and RowKey ge 'chunk-plan-' and RowKey lt 'chunk-plan.'`;
      for await (const entity of loads.listEntities<{ messageJson: string }>({ queryOptions: { filter } })) {
        plans.push(chunkMessageSchema.parse(JSON.parse(entity.messageJson)));
      }
      return plans.sort((a, b) => a.chunkIndex - b.chunkIndex);
    },

    isChunkDone: (loadId, chunkIndex) => exists(loadId, chunkDoneRowKey(chunkIndex)),

    async doneChunks(loadId) {
      const done = new Set<number>();
      const filter = odata`PartitionKey eq ${loadId} and RowKey ge 'chunk-done-' and RowKey lt 'chunk-done.'`;
      for await (const entity of loads.listEntities<{ chunkIndex: number }>({
        queryOptions: { filter, select: ['chunkIndex'] },
      }))
        done.add(entity.chunkIndex);
      return done;
    },

    async completeChunk(loadId, chunkIndex, change, done) {
      for (let attempt = 0; attempt < 50; attempt++) {
        if (await exists(loadId, chunkDoneRowKey(chunkIndex)))
          return { applied: false, record: (await read(loadId))!.record };
        const current = await read(loadId);
        if (!current) throw new LoadStoreError(`Load ${loadId} does not exist`);
        const patch = change(current.record);
        try {
          await loads.submitTransaction([
            [
              'create',
              {
                partitionKey: loadId,
                rowKey: chunkDoneRowKey(chunkIndex),
                ...toEntity({ at: new Date().toISOString(), ...done }),
                chunkIndex,
              },
            ],
            [
              'update',
              { partitionKey: loadId, rowKey: LOAD_ROW_KEY, ...toEntity(patch) },
              'Merge',
              { etag: current.etag },
            ],
          ]);
          return { applied: true, record: { ...current.record, ...patch } };
        } catch (error) {
          // 409: another worker completed this chunk first; 412: the record moved, read it again.
          if (!isRestErrorWithStatus(error, 409, 412)) throw error;
        }
      }
      throw new LoadStoreError(`Load ${loadId} kept changing while chunk ${chunkIndex} completed`);
    },

    async markChunkStarted(loadId, chunkIndex, at) {
      await loads.upsertEntity({ partitionKey: loadId, rowKey: chunkPlanRowKey(chunkIndex), startedAt: at }, 'Merge');
    },

    async chunkProgress(loadId) {
      const plans: ChunkMessage[] = [];
      const started = new Map<number, string>();
      const done: ChunkDone[] = [];
      const filter = odata`PartitionKey eq ${loadId} and RowKey ge 'chunk-' and RowKey lt 'chunk.'`;
      for await (const entity of loads.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
        if (entity.rowKey!.startsWith('chunk-done-')) done.push(chunkDoneSchema.parse(entity));
        else if (typeof entity.messageJson === 'string') {
          const plan = chunkMessageSchema.parse(JSON.parse(entity.messageJson));
          plans.push(plan);
          if (typeof entity.startedAt === 'string') started.set(plan.chunkIndex, entity.startedAt);
        }
      }
      return chunkProgressOf(plans, started, done);
    },

    async failedRowsPage(loadId, { pageSize, continuationToken }) {
      const pages = loadRows
        .listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${loadId}` } })
        .byPage({ maxPageSize: pageSize, ...(continuationToken ? { continuationToken } : {}) });
      const page = await pages.next();
      if (page.done) return { items: [] };
      const items = page.value.map(failedRowOf);
      return page.value.continuationToken ? { items, continuationToken: page.value.continuationToken } : { items };
    },

    async putFailedRows(loadId, rows) {
      await submitInBatches(
        loadRows,
        rows.map((row) => [
          'upsert',
          { partitionKey: loadId, rowKey: failedRowKey(row.rowNumber), ...toEntity(row) },
          'Replace',
        ]),
      );
    },

    async *listFailedRows(loadId) {
      for await (const entity of loadRows.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`PartitionKey eq ${loadId}` },
      }))
        yield failedRowOf(entity);
    },

    async *listUnfinished() {
      const filter = `RowKey eq '${LOAD_ROW_KEY}' and (status eq 'queued' or status eq 'running' or eventPublished eq false)`;
      for await (const entity of loads.listEntities<Record<string, unknown>>({ queryOptions: { filter } }))
        yield fromEntity(entity);
    },
  };
  return store;
}
