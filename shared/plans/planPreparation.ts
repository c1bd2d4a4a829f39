/**
 * From a plan's bytes to its tables and order: the zip's data files (or the workbook's sheets) with their header
 * columns, each matched to its table, the lookups the columns use, and the order (planOrder). Reads headers only:
 * each file or sheet is opened and closed after its first row, so a plan is checked whole before anything loads.
 */
import { Readable } from 'node:stream';
import { openFile, type ByteSource } from '../ingestion/readers/fileReader';
import { resolveLimits } from '../ingestion/readers/fileReader';
import { readWorkbookSheets } from '../ingestion/readers/xlsxReader';
import type { TableMetadata } from '../ingestion/tableMetadata';
import { readPlanArchive, type PlanArchiveLimits } from './planArchive';
import { parsePlanFile, type PlanFile } from './planDocument';
import { PlanError } from './planError';
import { orderPlan, type PlanOrder } from './planOrder';
import { lookupEdges, planTables, type PlanSource, type PlanTable } from './planTables';
import { resolveTable, type TableCatalogEntry } from './tableResolution';

export interface PlanTableWithColumns extends PlanTable {
  columns: string[];
}

export interface PreparedPlan {
  tables: PlanTableWithColumns[];
  order: PlanOrder;
}

export interface PlanDependencies {
  catalog: readonly TableCatalogEntry[];
  metadata(table: string): Promise<TableMetadata>;
}

export type PlanInput =
  { kind: 'zip'; bytes: Uint8Array; limits?: PlanArchiveLimits } | { kind: 'xlsx'; source: ByteSource };

async function zipSources(bytes: Uint8Array, limits?: PlanArchiveLimits) {
  const archive = readPlanArchive(bytes, limits);
  const planFile = archive.planFileText !== undefined ? parsePlanFile(archive.planFileText) : undefined;
  const sources: { source: PlanSource; columns: string[] }[] = [];
  for (const entry of archive.entries) {
    const file = await openFile(Readable.from([Buffer.from(entry.bytes)]), { fileName: entry.name }).catch(
      (error: unknown) => {
        throw new PlanError('UnsupportedEntry', `file '${entry.name}' of the plan: ${(error as Error).message}`);
      },
    );
    await file.close();
    sources.push({ source: { name: entry.name, kind: 'file' }, columns: file.columns });
  }
  return { planFile, sources };
}

async function workbookSources(source: ByteSource) {
  const sources: { source: PlanSource; columns: string[] }[] = [];
  for await (const sheet of readWorkbookSheets(source, { limits: resolveLimits() })) {
    if (sheet.columns.length === 0) continue; // an empty sheet (notes, a cover page) is not a table
    sources.push({ source: { name: sheet.name, kind: 'sheet' }, columns: sheet.columns });
  }
  return { planFile: undefined as PlanFile | undefined, sources };
}

export async function preparePlan(input: PlanInput, deps: PlanDependencies): Promise<PreparedPlan> {
  const { planFile, sources } =
    input.kind === 'zip' ? await zipSources(input.bytes, input.limits) : await workbookSources(input.source);
  if (sources.length === 0) throw new PlanError('EmptyPlan', 'the plan has no file or sheet with a header row');
  const tables = planTables(
    sources.map((s) => s.source),
    planFile,
    deps.catalog,
  ).map((t, i) => ({ ...t, columns: sources[i]!.columns }));
  const metadata = new Map<string, TableMetadata>();
  for (const table of new Set(tables.map((t) => t.table))) metadata.set(table, await deps.metadata(table));
  const order = orderPlan({
    tables: tables.map((t) => t.table),
    lookups: lookupEdges(tables, metadata),
    // the user may name tables in `order` as in file names: logical, entity set or display names
    ...(planFile?.order
      ? { order: planFile.order.map((name) => resolveTable(name, deps.catalog, 'plan.json order').table) }
      : {}),
  });
  return { tables, order };
}
