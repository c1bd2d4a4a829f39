import { didYouMean } from './closeNames';
import { planColumnKinds, type ColumnKindPlan } from './columnKindPlan';
import { planPairFile, type PairFilePlan } from './columnKinds/index';
import { IngestionError } from './ingestionError';
import type { LoadOperation, LoadProfile } from './loadProfile';
import { inferLookupKey, type InferredKey } from './lookupKeys';
import {
  isLoadableType,
  isLookupType,
  type AlternateKey,
  type AttributeMetadata,
  type TableMetadata,
} from './tableMetadata';

/**
 * Resolves a file's columns against the table once per file, so every row is converted the same way and a
 * file that can't work fails before any row is sent: unknown columns (with suggestions), columns that can't be
 * written, a create missing a required attribute, an update/upsert/delete without its key columns.
 */

export interface ResolvedLookupTarget {
  table: string;
  entitySetName: string;
  navigationProperty: string;
  /** The target's usable alternate keys, when the metadata had them (messages and key inference). */
  keys?: AlternateKey[];
  primaryIdAttribute?: string;
}

/** 'id', or the logical name of the related table's alternate-key attribute. */
export type LookupBy = string;

export type ColumnBinding =
  | { kind: 'attribute'; column: string; attribute: AttributeMetadata }
  | {
      kind: 'lookup';
      column: string;
      attribute: AttributeMetadata;
      targets: ResolvedLookupTarget[];
      by: LookupBy;
      /**
       * Set when no profile named the key and `by` is the one-attribute alternate key of `inferredKey.table`
       * (lookupKeys.ts): values that are GUIDs (or `<table>:<id>`, `/set(<id>)`) still bind by id.
       */
      inferredKey?: InferredKey;
    }
  | { kind: 'ignored'; column: string; reason: string };

export type PlanKey =
  | { kind: 'primaryId'; attribute: string; column: string }
  | { kind: 'alternateKey'; name?: string; attributes: string[]; columns: string[] };

export interface LoadPlan {
  table: { logicalName: string; entitySetName: string; primaryIdAttribute: string };
  operation: LoadOperation;
  /** Set for update, upsert and delete. */
  key?: PlanKey;
  bindings: ColumnBinding[];
  profile: LoadProfile;
  /** Polymorphic, owner, state/status, multi-select, file and image columns (undefined: none in the file). */
  columnKinds?: ColumnKindPlan;
  /** An N:N pair file (profile `relationship`): rows associate (or, with operation delete, disassociate) pairs. */
  pairs?: PairFilePlan;
  /** Resolves a column first seen in a later JSON row; an Error when it matches nothing. */
  resolveColumn(column: string): ColumnBinding | Error;
}

/** Columns written by the failed-rows writer: ignored, so a fixed file can be dropped again as it is. */
export const failedRowsErrorColumns = new Set(['_error']);

const neverRequired = new Set(['Owner', 'State', 'Status', 'Uniqueidentifier']);

function attributeByName(metadata: TableMetadata, name: string): AttributeMetadata | undefined {
  return (
    metadata.attributes[name] ??
    metadata.attributes[name.toLowerCase()] ??
    Object.values(metadata.attributes).find((a) => a.logicalName.toLowerCase() === name.trim().toLowerCase())
  );
}

function lookupTargets(
  metadata: TableMetadata,
  attribute: AttributeMetadata,
  column: string,
  setting: LoadProfile['lookups'] extends Record<string, infer S> | undefined ? S | undefined : never,
): ResolvedLookupTarget[] | Error {
  let targets = attribute.lookupTargets ?? [];
  if (setting?.table) {
    const chosen = targets.find((t) => t.table === setting.table);
    if (!chosen && targets.length > 0) {
      return new Error(
        `column '${column}': table '${setting.table}' is not a target of lookup '${attribute.logicalName}' (targets: ${targets.map((t) => t.table).join(', ')})`,
      );
    }
    targets = [chosen ?? { table: setting.table }];
  }
  if (targets.length === 0)
    return new Error(
      `column '${column}': the targets of lookup '${attribute.logicalName}' are unknown; set lookups.${column}.table`,
    );
  const resolved: ResolvedLookupTarget[] = [];
  for (const target of targets) {
    const entitySetName = (targets.length === 1 ? setting?.entitySet : undefined) ?? target.entitySetName;
    const navigationProperty =
      (targets.length === 1 ? setting?.navigationProperty : undefined) ?? target.navigationProperty;
    if (!entitySetName)
      return new Error(
        `column '${column}': the entity set of table '${target.table}' is unknown; set lookups.${column}.entitySet`,
      );
    if (!navigationProperty)
      return new Error(
        `column '${column}': the navigation property of lookup '${attribute.logicalName}' to '${target.table}' is unknown; set lookups.${column}.navigationProperty`,
      );
    resolved.push({
      table: target.table,
      entitySetName,
      navigationProperty,
      ...(target.keys ? { keys: target.keys } : {}),
      ...(target.primaryIdAttribute ? { primaryIdAttribute: target.primaryIdAttribute } : {}),
    });
  }
  if (setting?.by !== undefined && setting.by !== 'id' && resolved.length > 1) {
    return new Error(
      `column '${column}': lookup '${attribute.logicalName}' has several targets (${resolved.map((t) => t.table).join(', ')}); set lookups.${column}.table to bind by '${setting.by}'`,
    );
  }
  void metadata;
  return resolved;
}

function bindColumn(
  metadata: TableMetadata,
  profile: LoadProfile,
  operation: LoadOperation | undefined,
  column: string,
): ColumnBinding | Error {
  if (failedRowsErrorColumns.has(column))
    return { kind: 'ignored', column, reason: 'error column of a failed-rows file' };
  const mapped = profile.columns?.[column];
  if (mapped === null) return { kind: 'ignored', column, reason: 'ignored by the load profile' };
  const lookupSetting = profile.lookups?.[column];
  const attributeName = lookupSetting?.attribute ?? mapped ?? column;
  const attribute = attributeByName(metadata, attributeName);
  if (!attribute) {
    const suggestion = didYouMean(attributeName, Object.keys(metadata.attributes));
    return new Error(
      mapped || lookupSetting?.attribute
        ? `column '${column}' is mapped to '${attributeName}', which is not an attribute of table '${metadata.logicalName}'${suggestion}`
        : `column '${column}' matches no attribute of table '${metadata.logicalName}'${suggestion}`,
    );
  }
  if (attribute.attributeOf)
    return new Error(
      `column '${column}': '${attribute.logicalName}' is a read-only part of '${attribute.attributeOf}' and can't be loaded`,
    );
  if (!isLoadableType(attribute.type))
    return new Error(
      `column '${column}': attribute '${attribute.logicalName}' is of type ${attribute.type}, which can't be loaded`,
    );
  if (!attribute.isValidForCreate && !attribute.isValidForUpdate && !attribute.isPrimaryId) {
    return new Error(
      `column '${column}': attribute '${attribute.logicalName}' is read-only (not valid for create or update)`,
    );
  }
  if (operation === 'create' && !attribute.isValidForCreate)
    return new Error(`column '${column}': attribute '${attribute.logicalName}' can't be set on create`);
  if (lookupSetting || isLookupType(attribute.type)) {
    if (!isLookupType(attribute.type))
      return new Error(
        `column '${column}' has a lookup binding but '${attribute.logicalName}' is of type ${attribute.type}, not a lookup`,
      );
    const targets = lookupTargets(metadata, attribute, column, lookupSetting);
    if (targets instanceof Error) return targets;
    if (lookupSetting?.by !== undefined) return { kind: 'lookup', column, attribute, targets, by: lookupSetting.by };
    // No profile key: the target's one-attribute alternate key, if the metadata names exactly one (owners: by id).
    const inferred = attribute.type === 'Owner' ? undefined : inferLookupKey(targets);
    return inferred
      ? { kind: 'lookup', column, attribute, targets, by: inferred.attribute, inferredKey: inferred }
      : { kind: 'lookup', column, attribute, targets, by: 'id' };
  }
  return { kind: 'attribute', column, attribute };
}

function chooseKey(
  metadata: TableMetadata,
  profile: LoadProfile,
  bindings: ColumnBinding[],
  operation: LoadOperation | undefined,
): PlanKey | Error | undefined {
  const columnOf = new Map<string, string>();
  for (const b of bindings) if (b.kind !== 'ignored') columnOf.set(b.attribute.logicalName, b.column);
  const covered = (attributes: string[]) => attributes.every((a) => columnOf.has(a));
  const asKey = (attributes: string[], name?: string): PlanKey | Error => {
    const missing = attributes.filter((a) => !columnOf.has(a));
    if (missing.length > 0)
      return new Error(
        `the key ${name ? `'${name}' ` : ''}needs column(s) ${missing.map((m) => `'${m}'`).join(', ')}, which the file doesn't have`,
      );
    if (attributes.length === 1 && attributes[0] === metadata.primaryIdAttribute)
      return { kind: 'primaryId', attribute: attributes[0], column: columnOf.get(attributes[0])! };
    return { kind: 'alternateKey', name, attributes, columns: attributes.map((a) => columnOf.get(a)!) };
  };
  if (profile.alternateKey !== undefined) {
    if (typeof profile.alternateKey === 'string') {
      const key = metadata.keys.find(
        (k) => k.logicalName.toLowerCase() === profile.alternateKey!.toString().toLowerCase(),
      );
      if (key) return asKey(key.attributes, key.logicalName);
      if (attributeByName(metadata, profile.alternateKey)?.isPrimaryId) return asKey([metadata.primaryIdAttribute]);
      const single = metadata.keys.find((k) => k.attributes.length === 1 && k.attributes[0] === profile.alternateKey);
      if (single) return asKey(single.attributes, single.logicalName);
      return new Error(
        `alternateKey '${profile.alternateKey}' is not a key of table '${metadata.logicalName}' (keys: ${[...metadata.keys.map((k) => `${k.logicalName} (${k.attributes.join(', ')})`), metadata.primaryIdAttribute].join('; ')})`,
      );
    }
    const wanted = [...profile.alternateKey].map((a) => a.toLowerCase()).sort();
    const key = metadata.keys.find((k) => [...k.attributes].sort().join(',') === wanted.join(','));
    if (key) return asKey(key.attributes, key.logicalName);
    if (wanted.length === 1 && wanted[0] === metadata.primaryIdAttribute) return asKey(wanted);
    return new Error(
      `alternateKey [${profile.alternateKey.join(', ')}] matches no key of table '${metadata.logicalName}'`,
    );
  }
  const key = metadata.keys.find((k) => covered(k.attributes));
  if (key) return asKey(key.attributes, key.logicalName);
  if (columnOf.has(metadata.primaryIdAttribute) && operation !== undefined && operation !== 'create')
    return asKey([metadata.primaryIdAttribute]);
  if (operation === undefined || operation === 'create') return undefined;
  const known = [...metadata.keys.map((k) => k.attributes.join(' + ')), metadata.primaryIdAttribute]
    .map((k) => `'${k}'`)
    .join(', ');
  return new Error(
    `operation ${operation} needs the columns of a key of table '${metadata.logicalName}' (${known}), and the file has none`,
  );
}

/** Plans the load of a file with these columns. Throws IngestionError('PlanInvalid') listing every problem found. */
export function planLoad(metadata: TableMetadata, givenProfile: LoadProfile, columns: string[]): LoadPlan {
  if (givenProfile.relationship) return planPairs(metadata, givenProfile, columns);
  const problems: string[] = [];
  const unmatched: string[] = [];
  const bindings: ColumnBinding[] = [];
  const kinds = givenProfile.operation === 'delete' ? undefined : planColumnKinds(metadata, givenProfile, columns);
  const profile =
    kinds && Object.keys(kinds.renamed).length
      ? { ...givenProfile, columns: { ...kinds.renamed, ...givenProfile.columns } }
      : givenProfile;
  if (kinds) problems.push(...kinds.problems);
  const kindAttributes = new Set(kinds?.columns.values());
  for (const column of columns) {
    if (kinds?.columns.has(column)) {
      bindings.push({ kind: 'ignored', column, reason: `read as ${kinds.columns.get(column)} (column kinds)` });
      continue;
    }
    const binding = bindColumn(metadata, profile, profile.operation, column);
    if (binding instanceof Error) {
      if (binding.message.includes('matches no attribute')) unmatched.push(binding.message);
      else problems.push(binding.message);
    } else bindings.push(binding);
  }
  for (const name of Object.keys(profile.columns ?? {}))
    if (!columns.includes(name) && !kinds?.renamed[name])
      problems.push(`the profile maps column '${name}', which the file doesn't have${didYouMean(name, columns)}`);
  for (const name of Object.keys(profile.lookups ?? {}))
    if (!columns.includes(name) && !kindAttributes.has(name))
      problems.push(
        `the profile has a lookup for column '${name}', which the file doesn't have${didYouMean(name, columns)}`,
      );
  const seen = new Map<string, string>();
  for (const [column, attribute] of kinds?.columns ?? []) seen.set(attribute, column);
  for (const b of bindings) {
    if (b.kind === 'ignored') continue;
    const other = seen.get(b.attribute.logicalName);
    if (other) problems.push(`columns '${other}' and '${b.column}' both set attribute '${b.attribute.logicalName}'`);
    seen.set(b.attribute.logicalName, b.column);
  }
  if (unmatched.length > 0) problems.unshift(...unmatched);
  const key = chooseKey(metadata, profile, bindings, profile.operation);
  if (key instanceof Error) problems.push(key.message);
  const operation: LoadOperation = profile.operation ?? (key ? 'upsert' : 'create');
  if (operation === 'create' && profile.checkRequired) {
    const missing = Object.values(metadata.attributes).filter(
      (a) =>
        (a.requiredLevel === 'SystemRequired' || a.requiredLevel === 'ApplicationRequired') &&
        a.isValidForCreate &&
        !a.isPrimaryId &&
        !a.attributeOf &&
        !neverRequired.has(a.type) &&
        isLoadableType(a.type) &&
        !seen.has(a.logicalName),
    );
    if (missing.length > 0) {
      problems.push(
        `required attribute(s) missing for create: ${missing.map((a) => `'${a.logicalName}'`).join(', ')} (add the column(s), or set checkRequired: false in the load profile)`,
      );
    }
  }
  if (operation === 'update') {
    for (const b of bindings) {
      const isKey =
        key &&
        !(key instanceof Error) &&
        (key.kind === 'primaryId'
          ? key.attribute === (b.kind !== 'ignored' && b.attribute.logicalName)
          : b.kind !== 'ignored' && key.attributes.includes(b.attribute.logicalName));
      if (b.kind !== 'ignored' && !b.attribute.isValidForUpdate && !isKey && !b.attribute.isPrimaryId)
        problems.push(`column '${b.column}': attribute '${b.attribute.logicalName}' can't be set on update`);
    }
  }
  if (problems.length > 0) {
    throw new IngestionError(
      'PlanInvalid',
      `the file can't be loaded into table '${metadata.logicalName}': ${problems.join('; ')}`,
    );
  }
  const finalBindings =
    operation === 'delete'
      ? bindings.map((b): ColumnBinding =>
          b.kind === 'ignored' || (key && !(key instanceof Error) && keyColumns(key).includes(b.column))
            ? b
            : { kind: 'ignored', column: b.column, reason: 'delete uses only the key columns' },
        )
      : bindings;
  const cache = new Map<string, ColumnBinding | Error>();
  const bindingByColumn = new Map<string, ColumnBinding>();
  for (const b of finalBindings) if (!bindingByColumn.has(b.column)) bindingByColumn.set(b.column, b);
  return {
    table: {
      logicalName: metadata.logicalName,
      entitySetName: metadata.entitySetName,
      primaryIdAttribute: metadata.primaryIdAttribute,
    },
    operation,
    key: key instanceof Error ? undefined : key,
    bindings: finalBindings,
    profile,
    ...(kinds?.plan ? { columnKinds: kinds.plan } : {}),
    resolveColumn(column) {
      const known = bindingByColumn.get(column);
      if (known) return known;
      if (!cache.has(column)) {
        const binding = bindColumn(metadata, profile, operation, column);
        cache.set(
          column,
          operation === 'delete' && !(binding instanceof Error)
            ? { kind: 'ignored', column, reason: 'delete uses only the key columns' }
            : binding,
        );
      }
      return cache.get(column)!;
    },
  };
}

export function keyColumns(key: PlanKey): string[] {
  return key.kind === 'primaryId' ? [key.column] : key.columns;
}

/** An N:N pair file: the relationship by schema name (one that does not exist fails the load, naming it). */
function planPairs(metadata: TableMetadata, profile: LoadProfile, columns: string[]): LoadPlan {
  const planned = planPairFile(metadata.manyToMany ?? [], profile.relationship!, columns);
  if (!planned.ok)
    throw new IngestionError(
      'PlanInvalid',
      `the pair file can't be loaded through table '${metadata.logicalName}': ${planned.problems.join('; ')}`,
    );
  const used = new Set([planned.plan.entity1.column, planned.plan.entity2.column]);
  const bindings = columns.map((column): ColumnBinding => ({
    kind: 'ignored',
    column,
    reason: used.has(column) ? 'a side of the pair' : 'not a side of the pair',
  }));
  return {
    table: {
      logicalName: metadata.logicalName,
      entitySetName: metadata.entitySetName,
      primaryIdAttribute: metadata.primaryIdAttribute,
    },
    operation: profile.operation === 'delete' ? 'delete' : 'create',
    bindings,
    profile,
    pairs: planned.plan,
    resolveColumn: (column) => ({ kind: 'ignored', column, reason: 'not a side of the pair' }),
  };
}
