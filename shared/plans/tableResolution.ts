/**
 * Which Dataverse table a plan file or sheet is for: its name (without extensions) matched, case-insensitively,
 * against the tables' logical names, then entity set names, then display collection names (plural), then
 * display names. The first kind of name that matches decides; two tables matching the same way is an error.
 */
import { closeNames } from '../ingestion/closeNames';
import { PlanError } from './planError';

/** One table as EntityDefinitions describes it (LogicalName, EntitySetName, DisplayName, DisplayCollectionName). */
export interface TableCatalogEntry {
  logicalName: string;
  entitySetName: string;
  displayName?: string;
  displayCollectionName?: string;
}

export type ResolvedBy = 'logical name' | 'entity set name' | 'display collection name' | 'display name';

export interface ResolvedTable {
  table: string;
  resolvedBy: ResolvedBy;
}

const dataExtensions = /(\.(csv|txt|tsv|tab|json|ndjson|jsonl|xlsx))?(\.(gz|gzip))?$/i;

/** `Account.CSV.gz` → `Account`; a sheet name is used as it is. */
export function stemOf(fileName: string): string {
  return fileName.replace(dataExtensions, '').trim();
}

const normalize = (name: string) => name.trim().toLowerCase();

const kinds: { by: ResolvedBy; name: (t: TableCatalogEntry) => string | undefined }[] = [
  { by: 'logical name', name: (t) => t.logicalName },
  { by: 'entity set name', name: (t) => t.entitySetName },
  { by: 'display collection name', name: (t) => t.displayCollectionName },
  { by: 'display name', name: (t) => t.displayName },
];

/** The table `name` means, or undefined. Throws when it is ambiguous. */
export function findTable(name: string, catalog: readonly TableCatalogEntry[]): ResolvedTable | undefined {
  const wanted = normalize(name);
  if (wanted === '') return undefined;
  for (const kind of kinds) {
    const matches = catalog.filter((t) => {
      const candidate = kind.name(t);
      return candidate !== undefined && normalize(candidate) === wanted;
    });
    if (matches.length === 1) return { table: matches[0]!.logicalName, resolvedBy: kind.by };
    if (matches.length > 1)
      throw new PlanError(
        'UnknownTable',
        `'${name}' is the ${kind.by} of ${matches.length} tables (${matches.map((t) => t.logicalName).join(', ')}): name the table by its logical name`,
      );
  }
  return undefined;
}

/** Like findTable, but a name that matches nothing is an error naming `what` and close table names. */
export function resolveTable(name: string, catalog: readonly TableCatalogEntry[], what: string): ResolvedTable {
  const found = findTable(name, catalog);
  if (found) return found;
  // close names of any kind, each given as its table's logical name
  const tableOf = new Map<string, string>();
  for (const t of catalog)
    for (const kind of kinds) {
      const candidate = kind.name(t);
      if (candidate !== undefined && !tableOf.has(candidate)) tableOf.set(candidate, t.logicalName);
    }
  const close = [...new Set(closeNames(name, tableOf.keys(), 6).map((c) => tableOf.get(c)!))].slice(0, 3);
  const hint = close.length === 0 ? '' : ` (did you mean ${close.map((c) => `'${c}'`).join(' or ')}?)`;
  throw new PlanError('UnknownTable', `${what}: '${name}' is not a table${hint}`);
}
