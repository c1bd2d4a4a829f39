/**
 * The planned load: what the scan decided about a file, written once onto the load record and read by every
 * chunk and by the load's end. One zod-validated document (stored as the entity's `planJson` property), so a
 * chunk gets the file's shape, the resolved profile, the ETag it reads, the file key and the chunk size as one
 * typed value, never as JSON strings read back with casts.
 */
import { z } from 'zod';
import { loadProfileSchema } from '../ingestion/loadProfile';
import type { FileShape } from '../ingestion/readers/fileReader';
import { jsonProperty } from '../storage/jsonProperty';

const csvHeaderSchema = z.strictObject({
  columns: z.array(z.string()),
  delimiter: z.enum([',', ';', '\t', '|']),
  dataStart: z.number().int().min(0),
});

/** How to re-read part of the file the same way (format, encoding, compression, CSV header). */
export const fileShapeSchema = z.strictObject({
  format: z.enum(['csv', 'json', 'ndjson', 'xlsx']),
  encoding: z.enum(['utf-8', 'utf-16le', 'utf-16be']),
  compressed: z.boolean(),
  byteOffsetsAreBlobOffsets: z.boolean(),
  header: csvHeaderSchema.optional(),
  sheet: z.string().optional(),
}) satisfies z.ZodType<FileShape>;

export const plannedLoadSchema = z.strictObject({
  shape: fileShapeSchema,
  /** JSON/NDJSON: the keys of the first row. CSV: absent, the header's columns are the file's columns. */
  columns: z.array(z.string()).optional(),
  /** The resolved load profile, so every chunk converts rows the same way. */
  profile: loadProfileSchema,
  /** ETag of the source blob the scan read: every chunk reads with If-Match on it. */
  blobEtag: z.string().min(1),
  /** Identity of the file content, the seed of the deterministic record ids of creates. */
  fileKey: z.string().min(1),
  /** Rows per chunk (≤ 1000: one ExecuteMultiple). */
  chunkSize: z.number().int().min(1).max(1000),
  /** A retry of failed rows: the map of its rows to the first file's, whose record ids creates keep (loadRetry.ts). */
  retryRowsBlob: z.string().min(1).optional(),
  /** The file has a lookup to its own table by a key column of the file: rows may wait for the second pass (inFileBinds.ts). */
  inFileBinds: z.literal(true).optional(),
  /**
   * Lookup columns of the file whose binds wait for the file's plan (a cycle's deferred lookup, planBinds.ts): every
   * row with a value in one is created without it and bound once the plan releases the load. Copied from the record.
   */
  crossTableBinds: z.array(z.string().min(1)).min(1).optional(),
});
export type PlannedLoad = z.infer<typeof plannedLoadSchema>;

/** The document as a Table string property: JSON, validated when read. */
export const plannedLoadJson = jsonProperty(plannedLoadSchema);

/** The file's columns as planned. */
export function plannedColumns(plan: PlannedLoad): string[] {
  return plan.columns ?? plan.shape.header?.columns ?? [];
}
