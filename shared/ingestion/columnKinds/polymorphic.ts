/**
 * Polymorphic lookups (Customer, Regarding, any lookup with several targets): each row's target table comes from
 * the column it is in (`parentcustomerid@account`), from the companion type column (`parentcustomerid.type`), or
 * from the profile's default; the value is the target's id, or the value of the alternate-key attribute the profile
 * names for that table. A table that is not a target fails the row, naming the column, the table and the targets.
 */
import { normalizeGuid } from '../valueConversion';
import type { PolymorphicColumns } from './headers';
import { done, failed, kindFault, quote, type KindAttribute, type KindResult, type KindTarget } from './types';

export type RecordReference = { kind: 'id'; id: string } | { kind: 'key'; attribute: string; value: string };

/** What the load binds: `<navigationProperty>@odata.bind` to the target record. */
export interface LookupBinding {
  attribute: string;
  target: KindTarget;
  reference: RecordReference;
}

export interface PolymorphicOptions {
  /** Profile: the target table when the file says none (logical name). */
  defaultTable?: string;
  /** Profile: bind by this alternate-key attribute of the target table instead of by id (table → attribute). */
  keyAttributes?: Record<string, string>;
  /**
   * Metadata, when the profile names no key for a table: its one alternate key of a single attribute (table →
   * attribute). Used for values that are not GUIDs (a GUID stays an id). Tables with none or several are absent.
   */
  metadataKeys?: Record<string, string>;
}

/** `account` or `accounts` (logical or entity set name, any case) → the target, if it is one. */
export function findTarget(a: KindAttribute, table: string): KindTarget | undefined {
  const t = table.trim().toLowerCase();
  return a.targets?.find((x) => x.table === t || x.entitySetName.toLowerCase() === t);
}

const allowedTargets = (a: KindAttribute) => (a.targets ?? []).map((t) => t.table).join(', ');
const blank = (v: string | null | undefined): v is null | undefined | '' =>
  v === null || v === undefined || v.trim() === '';

function reference(
  attribute: string,
  rowNumber: number,
  column: string,
  value: string,
  target: KindTarget,
  options: PolymorphicOptions,
): KindResult<RecordReference> {
  const key = options.keyAttributes?.[target.table];
  if (key) return done({ kind: 'key', attribute: key, value });
  const id = normalizeGuid(value);
  if (id) return done({ kind: 'id', id });
  const metadataKey = options.metadataKeys?.[target.table];
  if (metadataKey) return done({ kind: 'key', attribute: metadataKey, value });
  return failed(
    kindFault(
      rowNumber,
      column,
      value,
      `${quote(value)} is not a GUID (the id of the ${target.table} record), and ${target.table} has no single alternate key of one column to find it by; to bind by another column, name the ${target.table} key attribute in the profile (lookups.${attribute}.keys)`,
    ),
  );
}

/**
 * One row's binding for one polymorphic lookup, or null when the row leaves it empty. `cells` holds the row's
 * text by header (null or '' = empty).
 */
export function resolvePolymorphic(
  columns: PolymorphicColumns,
  cells: Record<string, string | null | undefined>,
  rowNumber: number,
  options: PolymorphicOptions = {},
): KindResult<LookupBinding | null> {
  const a = columns.attribute;
  const filled = columns.perTarget.filter((c) => !blank(cells[c.column]));
  if (filled.length > 1)
    return failed(
      kindFault(
        rowNumber,
        filled[1]!.column,
        cells[filled[1]!.column]!,
        `${a.logicalName} can point at one record; this row fills ${filled.map((c) => `'${c.column}'`).join(' and ')}`,
      ),
    );
  if (filled.length === 1) {
    const { column, table } = filled[0]!;
    const target = findTarget(a, table)!;
    const value = cells[column]!.trim();
    const ref = reference(a.logicalName, rowNumber, column, value, target, options);
    return ref.ok ? done({ attribute: a.logicalName, target, reference: ref.value }) : ref;
  }
  const valueColumn = columns.valueColumn;
  const value = valueColumn ? cells[valueColumn] : undefined;
  if (!valueColumn || blank(value)) return done(null);
  const typeCell = columns.typeColumn ? cells[columns.typeColumn] : undefined;
  const tableText = blank(typeCell) ? options.defaultTable : typeCell;
  if (blank(tableText))
    return failed(
      kindFault(
        rowNumber,
        valueColumn,
        value,
        `no target table for ${a.logicalName} (one of: ${allowedTargets(a)}): fill '${a.logicalName}.type', use '${a.logicalName}@<table>' columns, or set the table in the profile`,
      ),
    );
  const target = findTarget(a, tableText);
  if (!target) {
    const column = blank(typeCell) ? valueColumn : columns.typeColumn!;
    return failed(
      kindFault(
        rowNumber,
        column,
        tableText,
        `${quote(tableText)} is not a target of ${a.logicalName} (allowed: ${allowedTargets(a)})`,
      ),
    );
  }
  const ref = reference(a.logicalName, rowNumber, valueColumn, value.trim(), target, options);
  return ref.ok ? done({ attribute: a.logicalName, target, reference: ref.value }) : ref;
}
