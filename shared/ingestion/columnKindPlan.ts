/**
 * The column-kind part of a load plan (issue 16), worked out once per file: which columns are polymorphic lookups
 * (header conventions `x@table`, `x.type`, or a profile `lookups.x.keys`), the owner, state and status, multi-select
 * choices, file and image columns. Those columns are read by `convertKindColumns` (columnKindRow.ts), not by the
 * per-column loop of `convertRow`; a file without any of them gets no kind plan, so its rows do no extra work.
 */
import {
  planHeaders,
  type KindAttribute,
  type KindTable,
  type KindTarget,
  type OwnerBy,
  type PolymorphicColumns,
  type PolymorphicOptions,
} from './columnKinds/index';
import type { LoadProfile } from './loadProfile';
import { oneColumnKey } from './lookupKeys';
import type { AttributeMetadata, TableMetadata } from './tableMetadata';

export interface ColumnKindPlan {
  table: KindTable;
  polymorphic: { columns: PolymorphicColumns; options: PolymorphicOptions }[];
  owner?: { column: string; by?: OwnerBy };
  state?: string;
  status?: string;
  multiSelect: { column: string; attribute: KindAttribute }[];
  /** File and image columns. */
  files: { column: string; attribute: KindAttribute }[];
  separator: string;
  images: LoadProfile['images'];
}

export interface ColumnKindPlanning {
  /** Undefined when the file has no column of these kinds. */
  plan?: ColumnKindPlan;
  /** Columns read by the kind plan (the per-column loop ignores them). */
  columns: Map<string, string>;
  /** Header → attribute (`createdon` → `overriddencreatedon`). */
  renamed: Record<string, string>;
  problems: string[];
}

const kindTables = new WeakMap<TableMetadata, KindTable>();

function kindOf(a: AttributeMetadata): KindAttribute['kind'] {
  switch (a.type) {
    case 'Lookup':
    case 'Customer':
      return 'lookup';
    case 'Owner':
      return 'owner';
    case 'MultiSelectPicklist':
      return 'multiSelect';
    case 'State':
      return 'state';
    case 'Status':
      return 'status';
    case 'DateTime':
      return 'dateTime';
    case 'File':
      return 'file';
    case 'Image':
      return 'image';
    default:
      return 'other';
  }
}

/** The table metadata in the rules' shape; attributes of other kinds are left out. Cached per metadata object. */
export function kindTableOf(metadata: TableMetadata): KindTable {
  let table = kindTables.get(metadata);
  if (table) return table;
  const attributes: Record<string, KindAttribute> = {};
  for (const a of Object.values(metadata.attributes)) {
    const kind = kindOf(a);
    if (kind === 'other' || kind === 'dateTime') continue;
    const targets = (a.lookupTargets ?? []).flatMap((t): KindTarget[] =>
      t.entitySetName && t.navigationProperty
        ? [{ table: t.table, entitySetName: t.entitySetName, navigationProperty: t.navigationProperty }]
        : [],
    );
    attributes[a.logicalName] = {
      logicalName: a.logicalName,
      kind,
      ...(targets.length ? { targets } : {}),
      ...(a.options
        ? {
            options: a.options.map((o) => ({
              value: o.value,
              labels: o.labels.map((l) => l.label),
              ...(o.state !== undefined ? { state: o.state } : {}),
            })),
          }
        : {}),
      ...(a.maxSizeInKB !== undefined ? { maxSizeInKB: a.maxSizeInKB } : {}),
    };
  }
  table = { logicalName: metadata.logicalName, attributes };
  kindTables.set(metadata, table);
  return table;
}

/** Each target's one alternate key of a single attribute (targets with none or several are left out). */
function metadataKeysOf(attribute: AttributeMetadata | undefined): Record<string, string> | undefined {
  const keys: Record<string, string> = {};
  for (const t of attribute?.lookupTargets ?? []) {
    const key = oneColumnKey(t);
    if (key && !('several' in key)) keys[t.table] = key.attributes[0]!;
  }
  return Object.keys(keys).length ? keys : undefined;
}

const conventionHeader = (h: string) => h.includes('@') || h.toLowerCase().endsWith('.type');

function attributeOfColumn(
  metadata: TableMetadata,
  profile: LoadProfile,
  column: string,
): AttributeMetadata | undefined {
  const mapped = profile.columns?.[column];
  if (mapped === null) return undefined;
  const name = (profile.lookups?.[column]?.attribute ?? mapped ?? column).trim().toLowerCase();
  return metadata.attributes[name] ?? Object.values(metadata.attributes).find((a) => a.logicalName === name);
}

/** Finds the kind columns of a file. Problems fail the whole file (planLoad lists them with its own). */
export function planColumnKinds(metadata: TableMetadata, profile: LoadProfile, columns: string[]): ColumnKindPlanning {
  const handled = new Map<string, string>();
  const renamed: Record<string, string> = {};
  const problems: string[] = [];
  const createdOn = columns.find((c) => c.trim().toLowerCase() === 'createdon');
  if (createdOn && profile.columns?.[createdOn] === undefined && metadata.attributes['overriddencreatedon'])
    renamed[createdOn] = 'overriddencreatedon';

  const table = kindTableOf(metadata);
  const plan: ColumnKindPlan = {
    table,
    polymorphic: [],
    multiSelect: [],
    files: [],
    separator: profile.multiSelectSeparator,
    images: profile.images,
  };
  let any = false;
  if (columns.some(conventionHeader)) {
    const headers = planHeaders(table, columns);
    problems.push(...headers.problems);
    for (const group of headers.polymorphic) {
      const setting = profile.lookups?.[group.attribute.logicalName];
      const metadataKeys = metadataKeysOf(metadata.attributes[group.attribute.logicalName]);
      plan.polymorphic.push({
        columns: group,
        options: {
          ...(setting?.table ? { defaultTable: setting.table } : {}),
          ...(setting?.keys ? { keyAttributes: setting.keys } : {}),
          ...(metadataKeys ? { metadataKeys } : {}),
        },
      });
      for (const c of [...group.perTarget.map((p) => p.column), group.typeColumn, group.valueColumn])
        if (c) handled.set(c, group.attribute.logicalName);
      any = true;
    }
  }
  for (const column of columns) {
    if (handled.has(column) || renamed[column]) continue;
    const attribute = attributeOfColumn(metadata, profile, column);
    const kindAttribute = attribute && table.attributes[attribute.logicalName];
    if (!attribute || !kindAttribute) continue;
    const setting = profile.lookups?.[column];
    const take = () => {
      handled.set(column, attribute.logicalName);
      any = true;
    };
    if (kindAttribute.kind === 'lookup' && setting?.keys) {
      // A lookup bound by the alternate keys of its targets: one value column, the table per row or from the profile.
      const metadataKeys = metadataKeysOf(attribute);
      plan.polymorphic.push({
        columns: { attribute: kindAttribute, perTarget: [], valueColumn: column },
        options: {
          ...(setting.table ? { defaultTable: setting.table } : {}),
          keyAttributes: setting.keys,
          ...(metadataKeys ? { metadataKeys } : {}),
        },
      });
      take();
    } else if (kindAttribute.kind === 'owner' && !setting) {
      plan.owner = { column, ...(profile.ownerBy ? { by: profile.ownerBy } : {}) };
      take();
    } else if (kindAttribute.kind === 'state') {
      plan.state = column;
      take();
    } else if (kindAttribute.kind === 'status') {
      plan.status = column;
      take();
    } else if (kindAttribute.kind === 'multiSelect') {
      plan.multiSelect.push({ column, attribute: kindAttribute });
      take();
    } else if (kindAttribute.kind === 'file' || kindAttribute.kind === 'image') {
      if (profile.operation === 'delete') continue;
      plan.files.push({ column, attribute: kindAttribute });
      take();
    }
  }
  for (const { columns: group, options } of plan.polymorphic) {
    const targets = (group.attribute.targets ?? []).map((t) => t.table);
    for (const table of [
      ...Object.keys(options.keyAttributes ?? {}),
      ...(options.defaultTable ? [options.defaultTable] : []),
    ])
      if (!targets.includes(table.toLowerCase()))
        problems.push(
          `the profile's lookups.${group.attribute.logicalName} names '${table}', which is not a target of ${group.attribute.logicalName} (allowed: ${targets.join(', ')})`,
        );
  }
  return { ...(any ? { plan } : {}), columns: handled, renamed, problems };
}
