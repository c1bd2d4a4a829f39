import { convertKindColumns, convertPairRow, type KindExtras } from './columnKindRow';
import type { Pair } from './columnKinds/index';
import { truncateForMessage } from './ingestionError';
import type { ColumnBinding, LoadPlan, ResolvedLookupTarget } from './loadPlan';
import type { LoadOperation } from './loadProfile';
import { recordPath, unaddressableCharacter, type KeyValue } from './odataKeys';
import type { CellValue, SourceRow } from './readers/readerTypes';
import { unboundKeyMessage } from './lookupKeys';
import { recordIdFor } from './recordId';
import { convertValue, isEmptyCell, normalizeGuid, type Conversion, type ConversionContext } from './valueConversion';
import type { RecordKey } from '../dataverse/organizationRequest';

/**
 * One source row → the Web API body and record key for the plan's operation, or the faults that make the row
 * fail alone. Empty cells are left out of the body (profile emptyValues 'skip', the default) or sent as null
 * ('null'); JSON null is always sent as null. Formula-looking text (=SUM(...), +, -, @) is loaded verbatim.
 */

export interface RowFault {
  rowNumber: number;
  column: string;
  /** The cell as text, truncated for messages. */
  value: string;
  message: string;
}

/**
 * A lookup bound by an alternate-key value that no URL can carry (docs/design.md "Key literals"): shared/loads
 * resolves it to the related record's id with a `$filter` query and binds by id.
 */
export interface KeyedBind {
  /** `<navigation property>@odata.bind`. */
  property: string;
  column: string;
  target: ResolvedLookupTarget;
  /** The related table's key attribute and the value as written. */
  attribute: string;
  value: string;
}

export interface ConvertedRow extends KindExtras {
  ok: true;
  rowNumber: number;
  line: number;
  operation: LoadOperation;
  /** Attributes and `<nav>@odata.bind` values. For creates it includes the primary id; key attributes of update/upsert/delete are in `key`, not here. */
  body: Record<string, unknown>;
  /** The record the operation targets (update, upsert, delete). */
  key?: RecordKey;
  /** The primary id sent with a create (deterministic when `fileKey` was given). */
  recordId?: string;
  /** Lookups whose key value can't be written in a bind URL; resolved to ids before the row is sent. */
  keyedBinds?: KeyedBind[];
  /** N:N pair files: the two records to associate or disassociate. */
  association?: Pair;
}

export interface FailedRow {
  ok: false;
  rowNumber: number;
  line: number;
  faults: RowFault[];
}

export interface ConvertRowOptions {
  /** Identity of the file's content (see recordIdFor); creates get deterministic ids when set. */
  fileKey?: string;
  /** The load's blob service URL: file and image cells must name blobs of that account. */
  accountUrl?: string;
}

function context(plan: LoadPlan): ConversionContext {
  return {
    dateFormat: plan.profile.dateFormat,
    timeZone: plan.profile.timeZone,
    choiceLabelLanguage: plan.profile.choiceLabelLanguage,
  };
}

function cellForMessage(value: CellValue): string {
  if (typeof value === 'string') return truncateForMessage(value);
  try {
    return truncateForMessage(JSON.stringify(value) ?? 'undefined');
  } catch {
    return Array.isArray(value) ? '[…] (nested too deeply to show)' : '{…} (nested too deeply to show)';
  }
}

function quoted(value: CellValue): string {
  return typeof value === 'string' ? `'${truncateForMessage(value)}'` : cellForMessage(value);
}

function convertLookup(
  binding: Extract<ColumnBinding, { kind: 'lookup' }>,
  value: CellValue,
):
  | { ok: true; property: string; path: string | null }
  | { ok: true; property: string; keyed: KeyedBind }
  | { ok: false; message: string } {
  const only = binding.targets.length === 1 ? binding.targets[0] : undefined;
  if (value === null) {
    if (!only)
      return {
        ok: false,
        message: `null can't clear a lookup with several targets (${binding.targets.map((t) => t.table).join(', ')})`,
      };
    return { ok: true, property: `${only.navigationProperty}@odata.bind`, path: null };
  }
  if (typeof value !== 'string' && typeof value !== 'number')
    return { ok: false, message: `${quoted(value)} can't be used as a lookup value` };
  const keyTarget = binding.inferredKey ? binding.targets.find((t) => t.table === binding.inferredKey!.table) : only;
  if (binding.by !== 'id' && keyTarget && !(binding.inferredKey && isIdForm(binding, String(value)))) {
    // A key value is matched exactly as written (no trimming): ' A-1' and 'A-1' are different keys.
    const text = String(value);
    const target = keyTarget;
    const property = `${target.navigationProperty}@odata.bind`;
    if (unaddressableCharacter(text) !== undefined)
      return {
        ok: true,
        property,
        keyed: { property, column: binding.column, target, attribute: binding.by, value: text },
      };
    return { ok: true, property, path: recordPath(target.entitySetName, { alternateKey: { [binding.by]: text } }) };
  }
  const text = String(value).trim();
  // '/accounts(<guid>)' or 'accounts(...)' as written by someone who knows the Web API
  const reference = /^\/?([A-Za-z_][A-Za-z0-9_]*)\((.+)\)$/.exec(text);
  if (reference) {
    const target = binding.targets.find((t) => t.entitySetName === reference[1]);
    if (!target)
      return {
        ok: false,
        message: `'${reference[1]}' is not the entity set of a target of ${binding.attribute.logicalName} (${binding.targets.map((t) => t.entitySetName).join(', ')})`,
      };
    return { ok: true, property: `${target.navigationProperty}@odata.bind`, path: `/${reference[1]}(${reference[2]})` };
  }
  // 'contact:<guid>' picks the target of a multi-table lookup
  const prefixed = /^([A-Za-z_][A-Za-z0-9_]*):(.+)$/.exec(text);
  let target = only;
  let idText = text;
  if (prefixed) {
    target = binding.targets.find((t) => t.table === prefixed[1]!.toLowerCase());
    if (!target)
      return {
        ok: false,
        message: `'${prefixed[1]}' is not a target table of ${binding.attribute.logicalName} (${binding.targets.map((t) => t.table).join(', ')})`,
      };
    idText = prefixed[2]!;
  }
  const id = normalizeGuid(idText);
  if (!id)
    return {
      ok: false,
      message: prefixed
        ? `${quoted(value)} is not a GUID after '${prefixed[1]}:' (the '<table>:<id>' form takes the record's id)`
        : unboundKeyMessage(String(value), binding.column, binding.attribute.logicalName, binding.targets),
    };
  if (!target)
    return {
      ok: false,
      message: `${binding.attribute.logicalName} can refer to ${binding.targets.map((t) => t.table).join(' or ')}: write the value as '<table>:<id>' or set lookups.${binding.column}.table`,
    };
  return {
    ok: true,
    property: `${target.navigationProperty}@odata.bind`,
    path: recordPath(target.entitySetName, { id }),
  };
}

/** A value written as an id (GUID, `<table>:<GUID>`, `/<set>(<GUID>)` of a target): not a key value. */
function isIdForm(binding: Extract<ColumnBinding, { kind: 'lookup' }>, value: string): boolean {
  const text = value.trim();
  if (normalizeGuid(text)) return true;
  const reference = /^\/?([A-Za-z_][A-Za-z0-9_]*)\((.+)\)$/.exec(text);
  if (reference) return binding.targets.some((t) => t.entitySetName === reference[1]) && !!normalizeGuid(reference[2]!);
  const prefixed = /^([A-Za-z_][A-Za-z0-9_]*):(.+)$/.exec(text);
  return (
    !!prefixed && binding.targets.some((t) => t.table === prefixed[1]!.toLowerCase()) && !!normalizeGuid(prefixed[2]!)
  );
}

function keyValue(conversion: Conversion): KeyValue | undefined {
  if (!conversion.ok) return undefined;
  const v = conversion.value;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v !== null && typeof v === 'object') return Number(JSON.stringify(v)); // rawJSON number
  return undefined;
}

/** What every row of a plan shares, computed once per plan (convertRow runs once per row). */
interface PlanShared {
  keyAttributes: Set<string>;
  ctx: ConversionContext;
}
const planShared = new WeakMap<LoadPlan, PlanShared>();

function sharedOf(plan: LoadPlan): PlanShared {
  let shared = planShared.get(plan);
  if (!shared) {
    shared = {
      keyAttributes: new Set(
        plan.key ? (plan.key.kind === 'primaryId' ? [plan.key.attribute] : plan.key.attributes) : [],
      ),
      ctx: context(plan),
    };
    planShared.set(plan, shared);
  }
  return shared;
}

export function convertRow(plan: LoadPlan, row: SourceRow, options: ConvertRowOptions = {}): ConvertedRow | FailedRow {
  if (plan.pairs) {
    const pair = convertPairRow(plan.pairs, row.rowNumber, row.values);
    return pair.ok
      ? {
          ok: true,
          rowNumber: row.rowNumber,
          line: row.line,
          operation: plan.operation,
          body: {},
          association: pair.pair,
        }
      : { ok: false, rowNumber: row.rowNumber, line: row.line, faults: pair.faults };
  }
  const faults: RowFault[] = [];
  const body: Record<string, unknown> = {};
  const keyValues: Record<string, KeyValue> = {};
  const keyedBinds: KeyedBind[] = [];
  const { keyAttributes, ctx } = sharedOf(plan);
  const fault = (column: string, value: CellValue, message: string) =>
    faults.push({
      rowNumber: row.rowNumber,
      column,
      value: cellForMessage(value),
      message: `row ${row.rowNumber}, column '${column}': ${message}`,
    });

  const values = row.values;
  for (const column in values) {
    if (!Object.hasOwn(values, column)) continue;
    const value = values[column]!;
    const binding = plan.resolveColumn(column);
    if (binding instanceof Error) {
      fault(column, value, binding.message);
      continue;
    }
    if (binding.kind === 'ignored') continue;
    const attribute = binding.attribute;
    const isKey = keyAttributes.has(attribute.logicalName);
    if (value === undefined || isEmptyCell(attribute, value)) {
      if (isKey) fault(column, value ?? '', `the key column is empty`);
      else if (plan.profile.emptyValues === 'null' && plan.operation !== 'create') {
        if (binding.kind === 'lookup') {
          const cleared = convertLookup(binding, null);
          if (cleared.ok) body[cleared.property] = null;
          else fault(column, '', cleared.message);
        } else body[attribute.logicalName] = null;
      }
      continue;
    }
    if (binding.kind === 'lookup') {
      if (isKey) {
        // a lookup in an alternate key is keyed as _<attr>_value=<guid>
        const id = typeof value === 'string' ? normalizeGuid(value) : undefined;
        if (!id) fault(column, value, `${quoted(value)} is not a GUID (key lookups take the related record's id)`);
        else keyValues[`_${attribute.logicalName}_value`] = id;
        continue;
      }
      const lookup = convertLookup(binding, value);
      if (!lookup.ok) fault(column, value, lookup.message);
      else if ('keyed' in lookup) keyedBinds.push(lookup.keyed);
      else body[lookup.property] = lookup.path;
      continue;
    }
    const converted = convertValue(attribute, value, ctx);
    if (!converted.ok) {
      fault(column, value, converted.message);
      continue;
    }
    if (isKey && plan.operation !== 'create') {
      if (converted.value === null) {
        fault(column, value, 'the key column is null');
        continue;
      }
      // A value a key URL can't carry is kept: shared/loads writes that row by id (docs/design.md "Key literals").
      const kv = keyValue(converted);
      if (kv !== undefined) keyValues[attribute.logicalName] = kv;
      continue;
    }
    body[attribute.logicalName] = converted.value;
  }

  let extras: KindExtras | undefined;
  if (plan.columnKinds) {
    const kinds = convertKindColumns(
      plan.columnKinds,
      {
        rowNumber: row.rowNumber,
        values,
        operation: plan.operation,
        clearEmpty: plan.profile.emptyValues === 'null' && plan.operation !== 'create',
        accountUrl: options.accountUrl ?? '',
      },
      body,
      keyedBinds,
    );
    if (kinds.ok) extras = kinds.extras;
    else faults.push(...kinds.faults);
  }

  let key: RecordKey | undefined;
  if (plan.key && plan.operation !== 'create' && faults.length === 0) {
    if (plan.key.kind === 'primaryId') {
      const id = keyValues[plan.key.attribute];
      if (typeof id !== 'string') fault(plan.key.column, '', 'the key column is missing');
      else key = id;
    } else {
      const missing = plan.key.attributes.filter(
        (a) => keyValues[a] === undefined && keyValues[`_${a}_value`] === undefined,
      );
      if (missing.length > 0)
        fault(plan.key.columns.join(', '), '', `the key column(s) ${missing.join(', ')} are missing`);
      else key = keyValues;
    }
  }
  if (faults.length > 0) return { ok: false, rowNumber: row.rowNumber, line: row.line, faults };

  let recordId: string | undefined;
  if (plan.operation === 'create') {
    const given = body[plan.table.primaryIdAttribute];
    if (typeof given === 'string') recordId = given;
    else if (options.fileKey !== undefined) {
      recordId = recordIdFor(options.fileKey, row.rowNumber);
      body[plan.table.primaryIdAttribute] = recordId;
    }
  }
  if (plan.operation === 'delete')
    return { ok: true, rowNumber: row.rowNumber, line: row.line, operation: 'delete', body: {}, key };
  const converted: ConvertedRow = {
    ok: true,
    rowNumber: row.rowNumber,
    line: row.line,
    operation: plan.operation,
    body,
    key,
    recordId,
  };
  if (keyedBinds.length > 0) converted.keyedBinds = keyedBinds;
  if (extras) Object.assign(converted, extras);
  return converted;
}
