/**
 * One row's kind columns (see columnKindPlan.ts) → body entries, plus what the load does around the row's request:
 * the owner to look up (`ownerBind`), an update to a state the table does not take on create (`stateUpdate`), and
 * file/image blobs to upload once the record exists (`uploads`). Faults name the row, the column and the value.
 */
import {
  convertFileCell,
  convertMultiSelect,
  convertStateStatus,
  ownerQuery,
  resolvePolymorphic,
  type BlobPath,
  type ColumnKindFault,
  type OwnerQuery,
  type Pair,
  type PairFilePlan,
  readPair,
  type StateStatusCells,
} from './columnKinds/index';
import type { ColumnKindPlan } from './columnKindPlan';
import type { LoadOperation } from './loadProfile';
import { recordPath, unaddressableCharacter } from './odataKeys';
import type { CellValue } from './readers/readerTypes';
import type { KeyedBind } from './rowConversion';

export interface OwnerBind {
  column: string;
  /** The cell as written (messages quote it). */
  text: string;
  query: OwnerQuery;
}

export interface FileUpload {
  column: string;
  text: string;
  attribute: string;
  maxSizeInKB?: number;
  blob: BlobPath;
}

export interface KindExtras {
  ownerBind?: OwnerBind;
  stateUpdate?: { statecode: number; statuscode?: number };
  uploads?: FileUpload[];
}

export interface KindRowInput {
  rowNumber: number;
  values: Record<string, CellValue | undefined>;
  operation: LoadOperation;
  /** Empty cells clear the attribute (profile emptyValues 'null', not on create). */
  clearEmpty: boolean;
  /** The load's blob service URL (file cells must be in that account). */
  accountUrl: string;
}

const text = (v: CellValue | undefined): string | null =>
  v === undefined || v === null
    ? null
    : typeof v === 'string'
      ? v
      : typeof v === 'object'
        ? JSON.stringify(v)
        : String(v);
const blank = (t: string | null): t is null | '' => t === null || t.trim() === '';

/** Writes the kind columns into `body`; returns the extras, or the row's faults. */
export function convertKindColumns(
  plan: ColumnKindPlan,
  row: KindRowInput,
  body: Record<string, unknown>,
  keyedBinds: KeyedBind[],
): { ok: true; extras: KindExtras } | { ok: false; faults: ColumnKindFault[] } {
  const faults: ColumnKindFault[] = [];
  const extras: KindExtras = {};
  const cell = (column: string) => text(row.values[column]);
  const { rowNumber } = row;

  for (const { columns, options } of plan.polymorphic) {
    const cells: Record<string, string | null> = {};
    for (const c of [...columns.perTarget.map((p) => p.column), columns.typeColumn, columns.valueColumn])
      if (c) cells[c] = cell(c);
    const bound = resolvePolymorphic(columns, cells, rowNumber, options);
    if (!bound.ok) faults.push(bound.fault);
    else if (bound.value) {
      const { target, reference } = bound.value;
      const property = `${target.navigationProperty}@odata.bind`;
      if (reference.kind === 'id') body[property] = recordPath(target.entitySetName, { id: reference.id });
      else if (unaddressableCharacter(reference.value) !== undefined) {
        const column = columns.perTarget.find((p) => p.table === target.table)?.column ?? columns.valueColumn!;
        keyedBinds.push({ property, column, target, attribute: reference.attribute, value: reference.value });
      } else
        body[property] = recordPath(target.entitySetName, {
          alternateKey: { [reference.attribute]: reference.value },
        });
    }
  }

  if (plan.owner) {
    const value = cell(plan.owner.column);
    if (!blank(value)) {
      const q = ownerQuery(value, rowNumber, plan.owner.column, plan.owner.by);
      if (!q.ok) faults.push(q.fault);
      else extras.ownerBind = { column: plan.owner.column, text: value, query: q.value };
    }
  }

  if (plan.state || plan.status) {
    const cells: StateStatusCells = {};
    const state = plan.state ? cell(plan.state) : null;
    const status = plan.status ? cell(plan.status) : null;
    if (plan.state && !blank(state)) cells.state = { column: plan.state, text: state };
    if (plan.status && !blank(status)) cells.status = { column: plan.status, text: status };
    if (cells.state || cells.status) {
      const op = row.operation === 'delete' ? 'update' : row.operation;
      const converted = convertStateStatus(plan.table, cells, rowNumber, op);
      if (!converted.ok) faults.push(converted.fault);
      else {
        Object.assign(body, converted.value.body);
        if (converted.value.secondRequest) extras.stateUpdate = converted.value.secondRequest;
      }
    }
  }

  for (const { column, attribute } of plan.multiSelect) {
    const value = cell(column);
    if (blank(value)) {
      if (row.clearEmpty) body[attribute.logicalName] = null;
      continue;
    }
    const converted = convertMultiSelect(attribute, value, rowNumber, column, plan.separator);
    if (!converted.ok) faults.push(converted.fault);
    else body[attribute.logicalName] = converted.value;
  }

  for (const { column, attribute } of plan.files) {
    const value = cell(column);
    if (blank(value)) continue;
    const converted = convertFileCell(attribute, value, rowNumber, column, {
      accountUrl: row.accountUrl,
      images: plan.images,
    });
    if (!converted.ok) faults.push(converted.fault);
    else if (converted.value?.kind === 'bytes') body[attribute.logicalName] = converted.value.data.toString('base64');
    else if (converted.value?.kind === 'blob')
      (extras.uploads ??= []).push({
        column,
        text: value,
        attribute: attribute.logicalName,
        ...(attribute.maxSizeInKB !== undefined ? { maxSizeInKB: attribute.maxSizeInKB } : {}),
        blob: converted.value.blob,
      });
  }
  return faults.length ? { ok: false, faults } : { ok: true, extras };
}

/** One row of an N:N pair file → its two references, or the row's fault. */
export function convertPairRow(
  plan: PairFilePlan,
  rowNumber: number,
  values: Record<string, CellValue | undefined>,
): { ok: true; pair: Pair } | { ok: false; faults: ColumnKindFault[] } {
  const cells: Record<string, string | null> = {};
  for (const c of [plan.entity1.column, plan.entity2.column]) cells[c] = text(values[c]);
  const pair = readPair(plan, cells, rowNumber);
  return pair.ok ? { ok: true, pair: pair.value } : { ok: false, faults: [pair.fault] };
}
