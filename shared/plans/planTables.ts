/**
 * The tables of a plan: each data file (zip entry) or sheet matched to its table, with its own profile from
 * plan.json, and the lookups its columns use (the edges planOrder orders by). Everything a user can get wrong
 * here fails the plan naming the file or sheet: an entry of plan.json for a file that isn't there, a file that
 * matches no table, two files for one table with different profiles.
 */
import type { LoadProfileInput } from '../ingestion/loadProfile';
import type { TableMetadata } from '../ingestion/tableMetadata';
import type { PlanFile } from './planDocument';
import { PlanError } from './planError';
import type { LookupEdge } from './planOrder';
import { resolveTable, stemOf, type ResolvedBy, type TableCatalogEntry } from './tableResolution';

export interface PlanSource {
  /** Zip entry file name or sheet name. */
  name: string;
  kind: 'file' | 'sheet';
}

export interface PlanTable {
  source: PlanSource;
  table: string;
  resolvedBy: ResolvedBy | 'plan.json';
  profile?: LoadProfileInput;
}

const sameName = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/** plan.json's profile, operation and key of one file, as one load profile (undefined when it sets none). */
export function profileOf(entry: PlanFile['files'][number] | undefined): LoadProfileInput | undefined {
  if (!entry) return undefined;
  const profile: LoadProfileInput = { ...entry.profile };
  if (entry.operation) profile.operation = entry.operation;
  if (entry.key) profile.alternateKey = entry.key.includes(',') ? entry.key.split(',').map((k) => k.trim()) : entry.key;
  return Object.keys(profile).length > 0 ? profile : undefined;
}

/** Stable text of a profile, to tell two profiles apart whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'undefined';
}

export function planTables(
  sources: readonly PlanSource[],
  planFile: PlanFile | undefined,
  catalog: readonly TableCatalogEntry[],
): PlanTable[] {
  const where = (s: PlanSource) => (s.kind === 'sheet' ? `sheet '${s.name}'` : `file '${s.name}'`);
  for (const entry of planFile?.files ?? [])
    if (!sources.some((s) => sameName(s.name, entry.file)))
      throw new PlanError(
        'NoTableForFile',
        `plan.json names '${entry.file}', which is not in the plan (it holds ${sources.map((s) => `'${s.name}'`).join(', ')})`,
      );
  const tables = sources.map((source): PlanTable => {
    const entry = planFile?.files.find((e) => sameName(e.file, source.name));
    const profile = profileOf(entry);
    const resolved = entry?.table
      ? {
          ...resolveTable(entry.table, catalog, `plan.json entry for ${where(source)}`),
          resolvedBy: 'plan.json' as const,
        }
      : resolveTable(
          source.kind === 'file' ? stemOf(source.name) : source.name,
          catalog,
          `${where(source)} matches no table`,
        );
    return { source, table: resolved.table, resolvedBy: resolved.resolvedBy, ...(profile ? { profile } : {}) };
  });
  const byTable = new Map<string, PlanTable>();
  for (const t of tables) {
    const other = byTable.get(t.table);
    if (other && canonical(other.profile ?? {}) !== canonical(t.profile ?? {}))
      throw new PlanError(
        'ConflictingProfiles',
        `${where(other.source)} and ${where(t.source)} are both for table ${t.table} with different profiles: give them one profile, or merge the files`,
      );
    byTable.set(t.table, t);
  }
  return tables;
}

/**
 * The attribute a column loads into: the profile's lookup binding or mapping, else the header (the convention
 * headers `x@table` / `x.type` name x; `x@table` also names its one target).
 */
function attributeOfColumn(
  column: string,
  profile: LoadProfileInput | undefined,
): { attribute: string; target?: string } | undefined {
  const lookup = profile?.lookups?.[column];
  if (lookup)
    return {
      attribute: (lookup.attribute ?? column).trim().toLowerCase(),
      ...(lookup.table ? { target: lookup.table.toLowerCase() } : {}),
    };
  const mapped = profile?.columns?.[column];
  if (mapped === null) return undefined;
  const name = (mapped ?? column).trim().toLowerCase();
  const perTarget = /^(.+)@([^@]+)$/.exec(name);
  if (perTarget) return { attribute: perTarget[1]!, target: perTarget[2]! };
  return { attribute: name.replace(/\.type$/, '') };
}

/** The lookups the plan's files use whose targets are tables of the plan (one edge per target table). */
export function lookupEdges(
  tables: readonly { table: string; columns: readonly string[]; profile?: LoadProfileInput }[],
  metadata: ReadonlyMap<string, TableMetadata>,
): LookupEdge[] {
  const inPlan = new Set(tables.map((t) => t.table));
  const edges: LookupEdge[] = [];
  for (const t of tables) {
    const attributes = metadata.get(t.table)?.attributes ?? {};
    for (const column of t.columns) {
      const used = attributeOfColumn(column, t.profile);
      const attribute = used ? attributes[used.attribute] : undefined;
      if (!attribute) continue;
      for (const target of attribute.lookupTargets ?? [])
        if (inPlan.has(target.table) && (used?.target === undefined || used.target === target.table))
          edges.push({
            table: t.table,
            attribute: attribute.logicalName,
            target: target.table,
            required: attribute.requiredLevel === 'SystemRequired',
          });
    }
  }
  return edges;
}

/**
 * The columns of a file that load into one of `lookups` (attribute, and target for per-target columns such as
 * `regardingobjectid@account`): the columns of a plan's deferred lookups, which its load binds after the last stage.
 */
export function columnsOfLookups(
  table: { columns: readonly string[]; profile?: LoadProfileInput },
  lookups: readonly { attribute: string; target: string }[],
): string[] {
  return table.columns.filter((column) => {
    const used = attributeOfColumn(column, table.profile);
    return (
      used !== undefined &&
      lookups.some((l) => l.attribute === used.attribute && (used.target === undefined || used.target === l.target))
    );
  });
}
