/**
 * The attribute facts the column-kind rules need, in a small shape of their own: the load path's wiring builds it
 * from the table metadata (EntityDefinitions: Targets + ManyToOneRelationships, OptionSet, MaxSizeInKB), so these
 * rules stay pure and independent of how metadata is fetched. Every rule returns a value or a `ColumnKindFault`
 * naming the row, the column and the value (the row fails alone), never throws for bad input.
 */
import { truncateForMessage } from '../ingestionError';

export interface KindTarget {
  /** Logical name of the target table (`account`). */
  table: string;
  /** Single-valued navigation property for this target (`parentcustomerid_account`; `ownerid` for owners). */
  navigationProperty: string;
  entitySetName: string;
}

export interface KindOption {
  value: number;
  /** Labels, user-localized first. */
  labels: string[];
  /** Status options: the state they belong to (StatusOptionMetadata.State). */
  state?: number;
}

export type ColumnKind =
  'lookup' | 'owner' | 'multiSelect' | 'state' | 'status' | 'dateTime' | 'file' | 'image' | 'other';

export interface KindAttribute {
  logicalName: string;
  kind: ColumnKind;
  /** Lookups and owners: every table the column may point at. */
  targets?: KindTarget[];
  /** Multi-select, state and status options. */
  options?: KindOption[];
  /** File and image columns: MaxSizeInKB. */
  maxSizeInKB?: number;
}

export interface KindTable {
  logicalName: string;
  attributes: Record<string, KindAttribute>;
  /**
   * States a create may set. Not in Dataverse metadata (activities, e.g., take only Open); when unknown, only the
   * default state (the first status's state) is assumed, so any other state is reached by a second request.
   */
  statesSettableOnCreate?: number[];
}

export interface ColumnKindFault {
  rowNumber: number;
  column: string;
  /** The cell as text, truncated for messages. */
  value: string;
  message: string;
}

export type KindResult<T> = { ok: true; value: T } | { ok: false; fault: ColumnKindFault };

export const kindFault = (rowNumber: number, column: string, value: string, message: string): ColumnKindFault => ({
  rowNumber,
  column,
  value: truncateForMessage(value),
  message: `row ${rowNumber}, column '${column}': ${message}`,
});

export const done = <T>(value: T): KindResult<T> => ({ ok: true, value });
export const failed = <T>(fault: ColumnKindFault): KindResult<T> => ({ ok: false, fault });

/** Case-insensitive label match over every label of an option. */
export function optionByValueOrLabel(options: KindOption[], text: string): KindOption | undefined {
  const t = text.trim();
  if (/^[+-]?\d+$/.test(t)) {
    const byValue = options.find((o) => o.value === Number(t));
    if (byValue) return byValue;
  }
  const lower = t.toLowerCase();
  return options.find((o) => o.labels.some((l) => l.toLowerCase() === lower));
}

export const quote = (text: string): string => `'${truncateForMessage(text)}'`;
