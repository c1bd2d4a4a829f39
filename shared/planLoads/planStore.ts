/**
 * `PlanStore`: the plan records in Table `loads` (PartitionKey = plan id, RowKey 'plan'). Every change is an
 * ETag-guarded read-modify-write, as for the load record (loads/loadStore.ts), so two instances advancing one
 * plan see each other's claims.
 */
import type { TableClient } from '@azure/data-tables';
import { ConflictError, isRestErrorWithStatus } from '../errors';
import { PLAN_ROW_KEY, planFromEntity, planToEntity, type PlanPatch, type PlanRecord } from './planRecord';

/** A plan record kept changing under a read-modify-write, or is missing when it must exist. */
export class PlanStoreError extends ConflictError {
  override readonly name = 'PlanStoreError';
  constructor(message: string) {
    super('PlanStoreConflict', message);
  }
}

export interface PlanStore {
  /** Inserts the record unless the plan exists; returns the stored one either way. */
  createIfAbsent(record: PlanRecord): Promise<{ created: boolean; record: PlanRecord }>;
  get(id: string): Promise<PlanRecord | undefined>;
  /** Read-modify-write with the ETag, retried on conflict; `change` returns undefined to leave the record alone. */
  mutate(
    id: string,
    change: (record: PlanRecord) => PlanPatch | undefined,
  ): Promise<{ record: PlanRecord; changed: boolean }>;
  /** Plans not yet finished, and finished plans whose event is still to publish (for the sweep). */
  listUnfinished(): AsyncIterable<PlanRecord>;
}

export function createPlanStore(loads: TableClient): PlanStore {
  async function read(id: string): Promise<{ record: PlanRecord; etag: string } | undefined> {
    try {
      const entity = await loads.getEntity<Record<string, unknown>>(id, PLAN_ROW_KEY);
      return { record: planFromEntity(entity), etag: entity.etag };
    } catch (error) {
      if (isRestErrorWithStatus(error, 404)) return undefined;
      throw error;
    }
  }

  return {
    async createIfAbsent(record) {
      try {
        await loads.createEntity({ partitionKey: record.id, rowKey: PLAN_ROW_KEY, ...planToEntity(record) });
        return { created: true, record };
      } catch (error) {
        if (!isRestErrorWithStatus(error, 409)) throw error;
        const current = await read(record.id);
        if (!current) throw new PlanStoreError(`Plan ${record.id} exists and vanished while being read`);
        return { created: false, record: current.record };
      }
    },

    async get(id) {
      return (await read(id))?.record;
    },

    async mutate(id, change) {
      for (let attempt = 0; attempt < 50; attempt++) {
        const current = await read(id);
        if (!current) throw new PlanStoreError(`Plan ${id} does not exist`);
        const patch = change(current.record);
        if (!patch) return { record: current.record, changed: false };
        try {
          await loads.updateEntity({ partitionKey: id, rowKey: PLAN_ROW_KEY, ...planToEntity(patch) }, 'Merge', {
            etag: current.etag,
          });
          return { record: { ...current.record, ...patch }, changed: true };
        } catch (error) {
          if (!isRestErrorWithStatus(error, 412)) throw error;
        }
      }
      throw new PlanStoreError(`Plan ${id} kept changing under concurrent updates`);
    },

    async *listUnfinished() {
      const filter = `RowKey eq '${PLAN_ROW_KEY}' and (status eq 'queued' or status eq 'running' or eventPublished eq false)`;
      for await (const entity of loads.listEntities<Record<string, unknown>>({ queryOptions: { filter } }))
        yield planFromEntity(entity);
    },
  };
}
