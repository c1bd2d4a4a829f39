/**
 * `PlanStore`: the plan records in Table `loads` (PartitionKey = plan id, RowKey 'plan'). Every change is an
 * ETag-guarded read-modify-write, as for the load record (loads/loadStore.ts), so two instances advancing one
 * plan see each other's claims.
 */
import type { TableClient } from '@azure/data-tables';
import { ConflictError } from '../errors';
import { createEtagRecordStore } from '../storage/etagRecordStore';
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
  const records = createEtagRecordStore<PlanRecord, PlanPatch>({
    table: loads,
    rowKey: PLAN_ROW_KEY,
    toEntity: planToEntity,
    fromEntity: planFromEntity,
    fail: (message) => new PlanStoreError(message),
    what: 'Plan',
  });
  return {
    createIfAbsent: records.createIfAbsent,
    get: records.get,
    mutate: records.mutate,

    async *listUnfinished() {
      const filter = `RowKey eq '${PLAN_ROW_KEY}' and (status eq 'queued' or status eq 'running' or eventPublished eq false)`;
      for await (const entity of loads.listEntities<Record<string, unknown>>({ queryOptions: { filter } }))
        yield planFromEntity(entity);
    },
  };
}
