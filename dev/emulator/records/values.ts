/**
 * Request bodies → validated column values, the way Dataverse's OData reader and platform validate them:
 * unknown properties, JSON types per Edm type, max lengths, numeric ranges, choice options, lookups bound
 * with `<navigation>@odata.bind`.
 */
import { edmTypes } from './edmTypes';
import { faults } from './faults';
import { guidPattern } from './entityReference';
import { resolveReference } from './keys';
import type { Attribute, Schema, Table } from './schema';
import type { RecordStore, Row } from './store';

export type Operation = 'create' | 'update';

/** Dataverse returns date-times in UTC without milliseconds (memoised per second: every write stamps two). */
let lastSecond = NaN,
  lastText = '';
export function dataverseDateTime(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastText = d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return lastText;
}

function convert(table: Table, a: Attribute, value: unknown): unknown {
  if (value === null) {
    if (a.requiredLevel === 'SystemRequired') throw faults.requiredMissing(a.logicalName);
    return null;
  }
  const wrong = () =>
    faults.wrongType(
      table.entitySetName,
      value,
      a.type === 'DateTime' && a.format === 'DateOnly' ? 'Edm.Date' : (edmTypes[a.type] ?? 'Edm.String'),
    );
  switch (a.type) {
    case 'String':
    case 'Memo': {
      if (typeof value !== 'string') throw wrong();
      if (a.maxLength !== undefined && value.length > a.maxLength)
        throw faults.maxLength(a.logicalName, table.logicalName, a.maxLength);
      return value;
    }
    case 'Integer':
    case 'BigInt':
    case 'Decimal':
    case 'Money':
    case 'Double': {
      // Edm.Int64 and Edm.Decimal may travel as strings (IEEE754Compatible).
      const n =
        typeof value === 'number'
          ? value
          : typeof value === 'string' &&
              (a.type === 'BigInt' || a.type === 'Decimal' || a.type === 'Money') &&
              /^-?\d+(\.\d+)?$/.test(value)
            ? Number(value)
            : NaN;
      if (!Number.isFinite(n)) throw wrong();
      if ((a.type === 'Integer' || a.type === 'BigInt') && !Number.isInteger(n)) throw wrong();
      const min = a.minValue ?? (a.type === 'Integer' ? -2147483648 : -Number.MAX_VALUE);
      const max = a.maxValue ?? (a.type === 'Integer' ? 2147483647 : Number.MAX_VALUE);
      if (n < min || n > max) throw faults.numberOutOfRange(a.logicalName, table.logicalName, min, max);
      if (a.precision !== undefined && (a.type === 'Decimal' || a.type === 'Money')) {
        const f = 10 ** a.precision;
        return Math.round(n * f) / f;
      }
      return n;
    }
    case 'Boolean':
      if (typeof value !== 'boolean') throw wrong();
      return value;
    case 'DateTime': {
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value)) throw wrong();
      const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
      if (Number.isNaN(d.getTime())) throw wrong();
      return a.format === 'DateOnly' ? d.toISOString().slice(0, 10) : dataverseDateTime(d);
    }
    case 'Picklist':
    case 'State':
    case 'Status': {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw wrong();
      if (a.options && !a.options.some((o) => o.value === value))
        throw faults.outOfRange(value, a.logicalName, table.logicalName);
      return value;
    }
    case 'Uniqueidentifier':
      if (typeof value !== 'string' || !guidPattern.test(value)) throw wrong();
      return value.toLowerCase();
    case 'MultiSelectPicklist':
      return multiSelectValue(table, a, value);
    case 'Image': {
      // Image columns take the image as base64 in the body (Use image column data).
      if (typeof value !== 'string' || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value))
        throw faults.wrongType(table.entitySetName, value, 'Edm.Binary');
      if (a.maxSizeInKB !== undefined && Buffer.byteLength(value, 'base64') > a.maxSizeInKB * 1024)
        throw faults.fileTooBig();
      return value;
    }
    case 'File':
      throw faults.fileColumnNotSettable(a.logicalName);
    default:
      throw faults.invalidProperty(table.entitySetName, a.logicalName, table.logicalName);
  }
}

/** `"1, 9"` → `"1,9"`: comma-separated option values in a string (Choices columns, "Setting choices values"). */
function multiSelectValue(table: Table, a: Attribute, value: unknown): string {
  if (typeof value !== 'string') throw faults.wrongType(table.entitySetName, value, 'Edm.String');
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length === 1 && parts[0] === '') return '';
  const values: number[] = [];
  for (const part of parts) {
    if (!/^-?\d+$/.test(part)) throw faults.wrongType(table.entitySetName, value, 'Edm.String');
    const n = Number(part);
    if (a.options && !a.options.some((o) => o.value === n))
      throw faults.outOfRange(n, a.logicalName, table.logicalName);
    if (!values.includes(n)) values.push(n);
  }
  return values.join(',');
}

/**
 * The column changes a body asks for. Read-only columns are ignored as Dataverse does; the primary id
 * is returned apart so the caller can honour a client-supplied id.
 */
export function readBody(
  schema: Schema,
  store: RecordStore,
  table: Table,
  body: Record<string, unknown>,
  op: Operation,
): Row {
  const changes: Row = {};
  for (const [name, value] of Object.entries(body)) {
    if (name.startsWith('@')) continue; // @odata.type / @odata.id / @odata.etag: the caller checks them
    const at = name.indexOf('@');
    if (at > 0) {
      const annotation = name.slice(at + 1);
      if (annotation !== 'odata.bind') continue; // other instance annotations are ignored on write
      const nav = table.navigation.get(name.slice(0, at));
      if (!nav) throw faults.undeclaredNavigation(table.entitySetName, name.slice(0, at));
      if (value === null) {
        changes[nav.attribute.logicalName] = null;
        continue;
      }
      if (typeof value !== 'string') throw faults.wrongType(table.entitySetName, value, 'Edm.String');
      changes[nav.attribute.logicalName] = resolveReference(schema, store, value, nav.targets);
      continue;
    }
    const a = table.attributes.get(name);
    if (!a || a.propertyName !== name) throw faults.invalidProperty(table.entitySetName, name, table.logicalName);
    if (op === 'create' ? !a.isValidForCreate : !a.isValidForUpdate) {
      if (!a.isPrimaryId) continue;
    }
    changes[a.logicalName] = convert(table, a, value);
  }
  return changes;
}

/** Column defaults for a new row (state/status, booleans and choices with a default). */
const templates = new WeakMap<Table, Row>();
export function defaults(table: Table): Row {
  let template = templates.get(table);
  if (!template) {
    template = {};
    for (const a of table.attributes.values()) template[a.logicalName] = a.defaultValue ?? null;
    templates.set(table, template);
  }
  return { ...template };
}

/** Checks SystemRequired columns of a new row (ApplicationRequired is a form rule: the API does not enforce it). */
export function checkRequired(table: Table, row: Row): void {
  for (const a of table.attributes.values()) {
    if (
      a.requiredLevel === 'SystemRequired' &&
      !a.isPrimaryId &&
      (row[a.logicalName] === null || row[a.logicalName] === undefined)
    ) {
      throw faults.requiredMissing(a.logicalName);
    }
  }
}

/** Keeps statuscode consistent with a statecode change, and fills computed name columns. */
export function derive(table: Table, row: Row, changes: Row): void {
  if ('statecode' in changes && !('statuscode' in changes)) {
    const first = table.attributes.get('statuscode')?.options?.find((o) => o.state === changes.statecode);
    if (first) row.statuscode = first.value;
  }
  const fullname = table.attributes.get('fullname');
  if (fullname && !fullname.isValidForCreate && table.attributes.has('firstname') && table.attributes.has('lastname')) {
    const parts = [row.firstname, row.lastname].filter((p) => typeof p === 'string' && p !== '');
    row.fullname = parts.length ? parts.join(' ') : null;
  }
}
