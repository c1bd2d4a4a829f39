/**
 * The plan record (Table `loads`, PartitionKey = plan id, RowKey 'plan'): one entity per plan, beside the load
 * records of its tables (each in its own partition). The order and the tables are JSON properties validated when
 * read; the stage is the last one started, claimed with the record's ETag so a stage never starts twice.
 */
import { z } from 'zod';
import type { PlanOrder } from '../plans/index';
import { jsonProperty } from '../storage/jsonProperty';

export const planStatuses = ['queued', 'running', 'succeeded', 'partiallySucceeded', 'failed'] as const;
export type PlanStatus = (typeof planStatuses)[number];
const terminalPlanStatuses: ReadonlySet<PlanStatus> = new Set(['succeeded', 'partiallySucceeded', 'failed']);

export const PLAN_ROW_KEY = 'plan';

export const planOrderSchema = z.object({
  stages: z.array(z.array(z.string())),
  deferred: z.array(
    z.object({
      table: z.string(),
      attribute: z.string(),
      target: z.string(),
      required: z.boolean().optional(),
      reason: z.enum(['self', 'cycle', 'order']),
      why: z.string(),
    }),
  ),
  reasons: z.record(z.string(), z.array(z.string())),
}) satisfies z.ZodType<PlanOrder>;

/** One file or sheet of the plan: its table, where it was staged, its load and its stage. */
export const planTableSchema = z.object({
  table: z.string(),
  /** The zip entry's file name or the sheet's name. */
  source: z.object({ name: z.string(), kind: z.enum(['file', 'sheet']) }),
  /** The staged blob (`_plans/<planId>/<table>/<file>`) in the load container. */
  blobName: z.string(),
  loadId: z.string(),
  stage: z.number().int().min(0),
  /** Lookup columns of the file bound after the last stage (a cycle's deferred lookup). */
  crossTableBinds: z.array(z.string()).optional(),
});
export type PlanTableEntry = z.infer<typeof planTableSchema>;

export const planOrderJson = jsonProperty(planOrderSchema);
export const planTablesJson = jsonProperty(z.array(planTableSchema));
const planCountsJson = jsonProperty(
  z.object({ total: z.number(), succeeded: z.number(), failed: z.number(), notProcessed: z.number() }),
);

export interface PlanRecord {
  id: string;
  status: PlanStatus;
  /** 'blob' (a drop under `_plans/`) or 'http' (POST /api/plans). */
  source: string;
  /** The plan file (zip or workbook) in the load container, and its ETag once read. */
  container: string;
  blobName: string;
  blobEtag?: string;
  format?: 'zip' | 'xlsx';
  /** The order chosen and why; set with `tables` once the plan is prepared and staged. */
  order?: PlanOrder;
  tables?: PlanTableEntry[];
  /** The last stage started (its loads are created, or are being created by whoever claimed it). */
  stage?: number;
  message?: string;
  errorCode?: string;
  /** The rows of its loads, summed when the plan ended. */
  counts?: { total: number; succeeded: number; failed: number; notProcessed: number };
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  updatedAt: string;
  /** Who prepares and stages the plan file (a second delivery waits, the sweep takes over a stale claim). */
  stagingSince?: string;
  /** Who ends the plan (guards against two). */
  finalizingSince?: string;
  eventPublished: boolean;
  /** The end event to publish (events/eventOutbox PendingEvent JSON), written with the final status. */
  pendingEventJson?: string;
  /** Where the plan file went when the plan ended. */
  movedTo?: string;
}

const optionalString = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);

export const planEntitySchema = z.object({
  id: z.string(),
  status: z.enum(planStatuses),
  source: z.string(),
  container: z.string(),
  blobName: z.string(),
  blobEtag: optionalString,
  format: z
    .enum(['zip', 'xlsx'])
    .nullish()
    .transform((v) => v ?? undefined),
  countsJson: planCountsJson.nullish().transform((v) => v ?? undefined),
  orderJson: planOrderJson.nullish().transform((v) => v ?? undefined),
  tablesJson: planTablesJson.nullish().transform((v) => v ?? undefined),
  stage: z
    .number()
    .int()
    .nullish()
    .transform((v) => v ?? undefined),
  message: optionalString,
  errorCode: optionalString,
  createdAt: z.string(),
  startedAt: optionalString,
  finishedAt: optionalString,
  updatedAt: z.string(),
  stagingSince: optionalString,
  finalizingSince: optionalString,
  eventPublished: z.boolean().default(false),
  pendingEventJson: optionalString,
  movedTo: optionalString,
});

export type PlanPatch = Partial<Omit<PlanRecord, 'id'>>;

/** The entity's properties (Tables has no null: undefined fields are left out). */
export function planToEntity({
  order,
  tables,
  counts,
  ...record
}: PlanPatch & { id?: string }): Record<string, unknown> {
  const entity = Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
  return {
    ...entity,
    ...(order ? { orderJson: z.encode(planOrderJson, order) } : {}),
    ...(tables ? { tablesJson: z.encode(planTablesJson, tables) } : {}),
    ...(counts ? { countsJson: z.encode(planCountsJson, counts) } : {}),
  };
}

export function planFromEntity(entity: Record<string, unknown>): PlanRecord {
  const { orderJson, tablesJson, countsJson, ...record } = planEntitySchema.parse(entity);
  return {
    ...record,
    ...(orderJson ? { order: orderJson } : {}),
    ...(tablesJson ? { tables: tablesJson } : {}),
    ...(countsJson ? { counts: countsJson } : {}),
  };
}

export function newPlanRecord(
  init: Pick<PlanRecord, 'id' | 'status' | 'source' | 'container' | 'blobName'> &
    Partial<Pick<PlanRecord, 'blobEtag' | 'format' | 'startedAt'>>,
  at: string,
): PlanRecord {
  return { ...init, createdAt: at, updatedAt: at, eventPublished: false };
}

export const isPlanTerminal = (plan: Pick<PlanRecord, 'status'>) => terminalPlanStatuses.has(plan.status);
export const planStatusUrlOf = (planId: string) => `/api/plans/${encodeURIComponent(planId)}`;
