/**
 * Staging a prepared plan: each of its files (zip entry) or sheets becomes its own blob under
 * `_plans/<planId>/<table>/`, which an ordinary load of that table then reads. A zip entry is copied byte for
 * byte, inflated as it streams (zipEntryStream.ts); a sheet is written as NDJSON, one object per row keyed by
 * header, with the values the single-file .xlsx load reads from it (numbers and booleans as such, dates as ISO
 * text, an empty cell as ''), so the load of the staged sheet sends what a load of the workbook would. A file with
 * a profile in plan.json gets a `_profile.json` beside it (a folder's profile, read by the load's scan).
 *
 * Memory stays flat in rows: pieces go to BlobSource.uploadStream as they are read, and a blob is committed only
 * after its last piece, so a plan that fails part-way (a damaged zip, a bad cell) leaves no half-written file.
 * Re-staging writes the same blobs with the same bytes.
 */
import { IngestionError } from '../ingestion/ingestionError';
import type { LoadProfileInput } from '../ingestion/loadProfile';
import { resolveLimits } from '../ingestion/readers/fileReader';
import type { SourceRowResult } from '../ingestion/readers/readerTypes';
import { readWorkbookSheets } from '../ingestion/readers/xlsxReader';
import type { BlobSource } from '../loads/blobSource';
import { profileFileName } from '../loads/loadScan';
import { defaultPlanArchiveLimits, type PlanArchiveLimits } from '../plans/planArchive';
import type { PlanFile } from '../plans/planDocument';
import { PlanError } from '../plans/planError';
import type { PlanTableWithColumns, PreparedPlan } from '../plans/planPreparation';
import { profileOf } from '../plans/planTables';
import { zipEntryStreams } from './zipEntryStream';

export interface StagedTable {
  table: string;
  /** The zip entry or sheet name, as the prepared plan names it. */
  file: string;
  blobName: string;
}

export type PlanStagingSource =
  { kind: 'zip'; bytes: Uint8Array } | { kind: 'xlsx'; read: () => AsyncIterable<Uint8Array> };

export interface PlanStagingInput {
  planId: string;
  container: string;
  source: PlanStagingSource;
  prepared: PreparedPlan;
  /** plan.json, when the plan has one: a file's profile when the prepared table has none. */
  planFile?: PlanFile;
  /** Zip limits (as preparePlan's); default defaultPlanArchiveLimits. */
  limits?: PlanArchiveLimits;
}

export interface PlanStagingDependencies {
  blobs: Pick<BlobSource, 'uploadStream' | 'writeText'>;
}

/** The folder of a plan's table: `_plans/<planId>/<table>`. */
export const planTableFolder = (planId: string, table: string) => `_plans/${planId}/${table}`;

/** The blob a file or sheet of a plan is staged to (a sheet as `<sheet>.ndjson`). */
export function stagedBlobName(planId: string, table: PlanTableWithColumns): string {
  const file = table.source.kind === 'sheet' ? `${table.source.name}.ndjson` : table.source.name;
  return `${planTableFolder(planId, table.table)}/${file}`;
}

const where = (t: PlanTableWithColumns) =>
  t.source.kind === 'sheet' ? `sheet '${t.source.name}'` : `file '${t.source.name}'`;

/** Pieces of text gathered into ~64 KB buffers (one JSON line per row would be many tiny writes). */
async function* buffered(lines: AsyncIterable<string>): AsyncGenerator<Uint8Array> {
  let text = '';
  for await (const line of lines) {
    text += line;
    if (text.length >= 64 * 1024) {
      yield Buffer.from(text, 'utf8');
      text = '';
    }
  }
  if (text.length > 0) yield Buffer.from(text, 'utf8');
}

async function stageZip(
  input: PlanStagingInput,
  bytes: Uint8Array,
  deps: PlanStagingDependencies,
): Promise<Map<PlanTableWithColumns, string>> {
  const byName = new Map(input.prepared.tables.filter((t) => t.source.kind === 'file').map((t) => [t.source.name, t]));
  const staged = new Map<PlanTableWithColumns, string>();
  const entries = zipEntryStreams(bytes, (name) => byName.has(name), input.limits ?? defaultPlanArchiveLimits);
  for (const entry of entries) {
    const table = byName.get(entry.name)!;
    const blobName = stagedBlobName(input.planId, table);
    await deps.blobs.uploadStream(input.container, blobName, entry.pieces, {});
    staged.set(table, blobName);
  }
  return staged;
}

/** A sheet's rows as NDJSON lines; a row the workbook reader fails (an Excel error cell…) fails the staging. */
async function* sheetLines(rows: AsyncIterable<SourceRowResult>): AsyncGenerator<string> {
  for await (const row of rows) {
    if (!row.ok)
      throw new PlanError(
        'CellInvalid',
        `${row.message}: fix the cell and post the plan again (a plan's sheet is staged whole before anything loads)`,
      );
    yield `${JSON.stringify(row.values)}\n`;
  }
}

async function stageWorkbook(
  input: PlanStagingInput,
  read: () => AsyncIterable<Uint8Array>,
  deps: PlanStagingDependencies,
): Promise<Map<PlanTableWithColumns, string>> {
  const bySheet = new Map(
    input.prepared.tables.filter((t) => t.source.kind === 'sheet').map((t) => [t.source.name, t]),
  );
  const staged = new Map<PlanTableWithColumns, string>();
  // A cell over maxFieldBytes is the load's to fail (its row alone, by the table's profile), not the staging's.
  const limits = { ...resolveLimits(), maxFieldBytes: Number.MAX_SAFE_INTEGER };
  try {
    for await (const sheet of readWorkbookSheets(read(), { limits })) {
      const table = bySheet.get(sheet.name);
      if (!table) continue; // an empty sheet (notes, a cover page) is not a table of the plan
      const blobName = stagedBlobName(input.planId, table);
      await deps.blobs.uploadStream(input.container, blobName, buffered(sheetLines(sheet.rows)), {
        contentType: 'application/x-ndjson',
      });
      staged.set(table, blobName);
    }
  } catch (error) {
    if (error instanceof IngestionError) throw new PlanError('UnsupportedEntry', `the plan workbook: ${error.message}`);
    throw error;
  }
  return staged;
}

function profileFor(table: PlanTableWithColumns, planFile: PlanFile | undefined): LoadProfileInput | undefined {
  if (table.profile) return table.profile;
  const name = table.source.name.trim().toLowerCase();
  return profileOf(planFile?.files.find((entry) => entry.file.trim().toLowerCase() === name));
}

/**
 * Writes each file or sheet of a prepared plan to its own blob (and its profile beside it); returns them in the
 * prepared plan's order. Fails (PlanError, naming the file or sheet) when the source no longer holds one of them.
 */
export async function stagePlan(input: PlanStagingInput, deps: PlanStagingDependencies): Promise<StagedTable[]> {
  const staged =
    input.source.kind === 'zip'
      ? await stageZip(input, input.source.bytes, deps)
      : await stageWorkbook(input, input.source.read, deps);
  const profiles = new Map<string, string>();
  const result = input.prepared.tables.map((table): StagedTable => {
    const blobName = staged.get(table);
    if (blobName === undefined)
      throw new PlanError('UnsupportedEntry', `${where(table)} of the plan was not found when staging it`);
    const profile = profileFor(table, input.planFile);
    // two files of one table have one profile (planTables checks), so one _profile.json per folder
    if (profile) profiles.set(planTableFolder(input.planId, table.table), `${JSON.stringify(profile, null, 2)}\n`);
    return { table: table.table, file: table.source.name, blobName };
  });
  for (const [folder, text] of profiles)
    await deps.blobs.writeText(input.container, `${folder}/${profileFileName}`, text, 'application/json');
  return result;
}
