/**
 * Many-to-many pair files: one row per pair of records to associate (or disassociate) through an N:N relationship
 * named by its schema name. Columns name each side by table: `account` or `accountid` (the record's id),
 * `account.accountnumber` (an alternate-key value); `entity1` / `entity2` (and `entity1.<key>`) work too and are the
 * only way for a relationship of a table with itself. Requests: `POST {set1}({id1})/{Entity1NavigationPropertyName}/$ref`
 * with `{"@odata.id": "{set2}({id2})"}`, `DELETE {set1}({id1})/{nav}({id2})/$ref`; an existing association
 * (`0x80040237`) counts as done. A relationship that does not exist fails the load, naming it.
 */
import { normalizeGuid } from '../valueConversion';
import type { RecordReference } from './polymorphic';
import { done, failed, kindFault, quote, type KindResult } from './types';

export interface RelationshipSide {
  table: string;
  entitySetName: string;
  primaryIdAttribute: string;
  /** EntityN NavigationPropertyName: the collection on this side's records. */
  navigationProperty: string;
}

export interface KindRelationship {
  schemaName: string;
  entity1: RelationshipSide;
  entity2: RelationshipSide;
}

interface SideColumn {
  column: string;
  /** Undefined: by id. */
  keyAttribute?: string;
}

export interface PairFilePlan {
  relationship: KindRelationship;
  entity1: SideColumn;
  entity2: SideColumn;
}

export type PlanResult = { ok: true; plan: PairFilePlan } | { ok: false; problems: string[] };

function sideColumn(headers: string[], side: RelationshipSide, n: 1 | 2, selfReferencing: boolean): SideColumn[] {
  const names = [`entity${n}`, ...(selfReferencing ? [] : [side.table, side.primaryIdAttribute])];
  const out: SideColumn[] = [];
  for (const column of headers) {
    const h = column.trim().toLowerCase();
    const dot = h.indexOf('.');
    const head = dot < 0 ? h : h.slice(0, dot);
    if (!names.includes(head)) continue;
    if (dot < 0) out.push({ column });
    else if (head !== side.primaryIdAttribute) out.push({ column, keyAttribute: h.slice(dot + 1) });
  }
  return out;
}

export function planPairFile(relationships: KindRelationship[], schemaName: string, headers: string[]): PlanResult {
  const relationship = relationships.find((r) => r.schemaName.toLowerCase() === schemaName.trim().toLowerCase());
  if (!relationship)
    return {
      ok: false,
      problems: [
        `the N:N relationship ${quote(schemaName)} does not exist${relationships.length ? ` (known: ${relationships.map((r) => r.schemaName).join(', ')})` : ''}`,
      ],
    };
  const self = relationship.entity1.table === relationship.entity2.table;
  const problems: string[] = [];
  const pick = (n: 1 | 2): SideColumn | undefined => {
    const side = n === 1 ? relationship.entity1 : relationship.entity2;
    const found = sideColumn(headers, side, n, self);
    const forms = self
      ? `entity${n} or entity${n}.<key>`
      : `${side.table}, ${side.primaryIdAttribute} or ${side.table}.<key>`;
    if (found.length === 0)
      problems.push(`no column for the ${side.table} side of ${relationship.schemaName} (${forms})`);
    if (found.length > 1)
      problems.push(`${found.map((f) => `'${f.column}'`).join(' and ')} both name the ${side.table} side: keep one`);
    return found.length === 1 ? found[0] : undefined;
  };
  const entity1 = pick(1),
    entity2 = pick(2);
  return problems.length || !entity1 || !entity2
    ? { ok: false, problems }
    : { ok: true, plan: { relationship, entity1, entity2 } };
}

export interface Pair {
  entity1: RecordReference;
  entity2: RecordReference;
}

export function readPair(
  plan: PairFilePlan,
  cells: Record<string, string | null | undefined>,
  rowNumber: number,
): KindResult<Pair> {
  const side = (c: SideColumn, s: RelationshipSide): KindResult<RecordReference> => {
    const text = (cells[c.column] ?? '').trim();
    if (text === '') return failed(kindFault(rowNumber, c.column, text, `the ${s.table} of the pair is empty`));
    if (c.keyAttribute) return done({ kind: 'key', attribute: c.keyAttribute, value: text });
    const id = normalizeGuid(text);
    return id
      ? done({ kind: 'id', id })
      : failed(kindFault(rowNumber, c.column, text, `${quote(text)} is not a GUID (the id of the ${s.table} record)`));
  };
  const one = side(plan.entity1, plan.relationship.entity1);
  if (!one.ok) return one;
  const two = side(plan.entity2, plan.relationship.entity2);
  if (!two.ok) return two;
  return done({ entity1: one.value, entity2: two.value });
}

/** Requests for a pair whose two sides are ids (keys are resolved to ids first, as for lookups). */
export function associateRequest(r: KindRelationship, id1: string, id2: string) {
  return {
    method: 'POST' as const,
    path: `${r.entity1.entitySetName}(${id1})/${r.entity1.navigationProperty}/$ref`,
    body: { '@odata.id': `${r.entity2.entitySetName}(${id2})` },
  };
}

export function disassociateRequest(r: KindRelationship, id1: string, id2: string) {
  return {
    method: 'DELETE' as const,
    path: `${r.entity1.entitySetName}(${id1})/${r.entity1.navigationProperty}(${id2})/$ref`,
  };
}

/** An association that already exists is done (idempotent loads and retries); other failures fail the row. */
export function associationOutcome(status: number, errorCode?: string): 'done' | 'failed' {
  return status < 300 || errorCode?.toLowerCase() === '0x80040237' ? 'done' : 'failed';
}
