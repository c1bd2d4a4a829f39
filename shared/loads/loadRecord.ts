/**
 * The load record (Table `loads`, PartitionKey = load id, RowKey 'load') and the small entities kept next to
 * it in the same partition, so one Table transaction can record a chunk's completion and its counts together.
 */
import { z } from 'zod';
import { loadIdPattern } from '../security/inputChecks';
import { jsonProperty } from '../storage/jsonProperty';
import { plannedLoadJson, type PlannedLoad } from './plannedLoad';

export const loadStatuses = ['queued', 'running', 'succeeded', 'partiallySucceeded', 'failed'] as const;
export type LoadStatus = (typeof loadStatuses)[number];
export const terminalLoadStatuses: ReadonlySet<LoadStatus> = new Set(['succeeded', 'partiallySucceeded', 'failed']);

export const LOAD_ROW_KEY = 'load';
export const chunkPlanRowKey = (index: number) => `chunk-plan-${String(index).padStart(6, '0')}`;
export const chunkDoneRowKey = (index: number) => `chunk-done-${String(index).padStart(6, '0')}`;
export const failedRowKey = (rowNumber: number) => String(rowNumber).padStart(10, '0');

/** A chunk queue message: a row range of one load file, with its byte range when the blob can be range-read. */
export const chunkMessageSchema = z.strictObject({
  loadId: z.string().regex(loadIdPattern, 'a load id (letters, digits and hyphens, at most 100)'),
  chunkIndex: z.number().int().min(0),
  firstRow: z.number().int().min(1),
  rowCount: z.number().int().min(1),
  firstLine: z.number().int().min(1),
  byteStart: z.number().int().min(0).optional(),
  byteEnd: z.number().int().min(0).optional(),
});
export type ChunkMessage = z.infer<typeof chunkMessageSchema>;

/**
 * A scan message on the same queue: the blob trigger checked the file and recorded the load; the scan (reading
 * the whole file to plan its chunks) runs in a queue invocation, whose input is this message, not the blob.
 */
export const scanMessageSchema = z.strictObject({
  kind: z.literal('scan'),
  loadId: z.string().regex(loadIdPattern, 'a load id (letters, digits and hyphens, at most 100)'),
});
export type ScanMessage = z.infer<typeof scanMessageSchema>;

/** What the load-chunks queue carries: a scan message (`kind: 'scan'`) or a chunk message (no `kind`). */
export type LoadQueueMessage = ScanMessage | ChunkMessage;

/** Parses a load-chunks queue message, picking the schema by `kind` so a rejection names the wrong field. */
export function parseLoadQueueMessage(raw: unknown) {
  const isScan = typeof raw === 'object' && raw !== null && 'kind' in raw && raw.kind === 'scan';
  return isScan ? scanMessageSchema.safeParse(raw) : chunkMessageSchema.safeParse(raw);
}

export const isScanMessage = (message: LoadQueueMessage): message is ScanMessage =>
  'kind' in message && message.kind === 'scan';

export interface LoadCounts {
  succeeded: number;
  failed: number;
  notProcessed: number;
}

/** Everything about a load; stored flat in the table entity (JSON-valued properties end in `Json`). */
export interface LoadRecord extends LoadCounts {
  id: string;
  status: LoadStatus;
  table: string;
  /** Container and blob name of the source while it is being loaded. */
  container: string;
  blobName: string;
  /** ETag of the source blob when the load was recorded (the plan holds the one its chunks read). */
  blobEtag?: string;
  operation?: string;
  format?: string;
  continueOnError?: boolean;
  returnResponses?: boolean;
  executionMode?: string;
  /** Total data rows; known once the scan completes. */
  total?: number;
  chunkCount?: number;
  scanComplete: boolean;
  chunksDone: number;
  /** ContinueOnError=false: the row whose fault stopped the load. */
  stoppedAtRow?: number;
  throttled: number;
  retries: number;
  message?: string;
  errorCode?: string;
  createdAt: string;
  startedAt?: string;
  scanCompletedAt?: string;
  finishedAt?: string;
  /** Last progress (the sweeper resumes loads whose progress stopped). */
  updatedAt: string;
  /** The finalizer that claimed the end of the load (guards against two). */
  finalizingSince?: string;
  eventPublished: boolean;
  /** The end event to publish (events/eventOutbox PendingEvent JSON), written with the final status. */
  pendingEventJson?: string;
  failedRowsBlob?: string;
  resultsPrefix?: string;
  /** Where the source went when the load ended. */
  movedTo?: string;
  /** What the scan planned (shape, profile, ETag, file key, chunk size); absent until the file is planned. */
  plan?: PlannedLoad;
  /** How the load was started: 'blob' (a drop), 'http', 'retry' or 'plan' (a table of a plan). */
  source?: string;
  /** A retry (POST /api/loads/{id}/retry): the load whose failed rows it loads. */
  retryOf?: string;
  /** A retry of failed rows (no body): blob (results container) mapping its rows to the first load's rows. */
  retryRowsBlob?: string;
  /** The plan (shared/planLoads) this load is one table of. */
  planId?: string;
  /**
   * A load of a plan: the file's lookup columns whose binds wait for the plan (a cycle's deferred lookup; entity
   * property `crossTableBindsJson`). The scan copies them into the plan; the load waits, once complete, for
   * `planBindsReleased` (planBinds.ts).
   */
  crossTableBinds?: string[];
  /** The plan released the load's cross-table binds: its end binds them (planBinds.ts releasePlanBinds). */
  planBindsReleased?: boolean;
}

const optionalString = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);
const optionalNumber = z
  .number()
  .nullish()
  .transform((v) => v ?? undefined);
const optionalBoolean = z
  .boolean()
  .nullish()
  .transform((v) => v ?? undefined);

/** LoadRecord.crossTableBinds: lookup columns of the file (at least one, when set). */
export const crossTableBindsJson = jsonProperty(z.array(z.string().min(1)).min(1));

/** The entity as read back from Tables (extra system properties ignored). */
export const loadEntitySchema = z.object({
  id: z.string(),
  status: z.enum(loadStatuses),
  table: z.string(),
  container: z.string(),
  blobName: z.string(),
  blobEtag: optionalString,
  operation: optionalString,
  format: optionalString,
  continueOnError: optionalBoolean,
  returnResponses: optionalBoolean,
  executionMode: optionalString,
  total: optionalNumber,
  chunkCount: optionalNumber,
  scanComplete: z.boolean().default(false),
  chunksDone: z.number().default(0),
  stoppedAtRow: optionalNumber,
  succeeded: z.number().default(0),
  failed: z.number().default(0),
  notProcessed: z.number().default(0),
  throttled: z.number().default(0),
  retries: z.number().default(0),
  message: optionalString,
  errorCode: optionalString,
  createdAt: z.string(),
  startedAt: optionalString,
  scanCompletedAt: optionalString,
  finishedAt: optionalString,
  updatedAt: z.string(),
  finalizingSince: optionalString,
  eventPublished: z.boolean().default(false),
  pendingEventJson: optionalString,
  failedRowsBlob: optionalString,
  resultsPrefix: optionalString,
  movedTo: optionalString,
  /** The planned load, stored as JSON and validated when read (see plannedLoad.ts). */
  planJson: plannedLoadJson.nullish().transform((v) => v ?? undefined),
  source: optionalString,
  retryOf: optionalString,
  retryRowsBlob: optionalString,
  planId: optionalString,
  /** The cross-table bind columns, stored as a JSON array and validated when read. */
  crossTableBindsJson: crossTableBindsJson.nullish().transform((v) => v ?? undefined),
  planBindsReleased: optionalBoolean,
});

/** A new load's record: nothing counted, nothing scanned; `createdAt` and `updatedAt` are `at`. */
export function newLoadRecord(
  init: Pick<LoadRecord, 'id' | 'status' | 'table' | 'container' | 'blobName' | 'source'> &
    Partial<Pick<LoadRecord, 'blobEtag' | 'startedAt'>>,
  at: string,
): LoadRecord {
  return {
    ...init,
    scanComplete: false,
    chunksDone: 0,
    succeeded: 0,
    failed: 0,
    notProcessed: 0,
    throttled: 0,
    retries: 0,
    createdAt: at,
    updatedAt: at,
    eventPublished: false,
  };
}

export function isTerminal(record: Pick<LoadRecord, 'status'>): boolean {
  return terminalLoadStatuses.has(record.status);
}

/** All rows accounted for and the scan over: the load can end. */
export function isComplete(record: LoadRecord): boolean {
  return (
    record.scanComplete &&
    record.total !== undefined &&
    record.succeeded + record.failed + record.notProcessed >= record.total
  );
}

/**
 * Complete, but its cross-table binds wait for its plan (planBinds.ts). A load that failed outright (errorCode: its
 * file broke mid-way) doesn't wait: its plan stops, so its pass runs now and reports binds without a target as failed rows.
 */
export function waitsForPlanBinds(record: LoadRecord): boolean {
  return (record.crossTableBinds?.length ?? 0) > 0 && !record.planBindsReleased && !record.errorCode;
}

/** The outcome a finished load reports. */
export function outcomeOf(record: LoadCounts): 'succeeded' | 'partiallySucceeded' | 'failed' {
  if (record.failed === 0 && record.notProcessed === 0) return 'succeeded';
  return record.succeeded > 0 ? 'partiallySucceeded' : 'failed';
}

/** One failed row (Table `loadrows`, PartitionKey = load id, RowKey = zero-padded row number). */
export interface FailedRowRecord {
  rowNumber: number;
  line: number;
  chunkIndex: number;
  /** Dataverse's hex code, or ours: InvalidRow, ConversionFailed, DuplicateRecord, ChunkFailed. */
  code: string;
  /** What to fix: names the row, and the column and value when the failure is about one. */
  message: string;
  /** The source column the failure is about, and its value as written (cut at 1,000 characters). */
  column?: string;
  value?: string;
  /** A failure from Dataverse: its own code and text, unchanged. */
  dataverseCode?: string;
  dataverseMessage?: string;
  /** Key values (alternate key or id) of the row, JSON. */
  keyJson?: string;
  /** The row as read ({ raw, cells?, values? }), JSON, for the failed-rows file. */
  rowJson: string;
}

/** A chunk's result entry (ExecuteMultipleResponseItem-shaped, plus the row it came from). */
export interface ChunkResultItem {
  requestIndex: number;
  rowNumber: number;
  id?: string;
  /** What the row did: created, updated (an upsert says which) or deleted. */
  operation?: 'created' | 'updated' | 'deleted';
  fault?: { code: string; message: string; status?: number };
}
