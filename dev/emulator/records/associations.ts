/**
 * Associate and disassociate through collection-valued navigation properties ("Associate and disassociate table rows
 * using the Web API"): `POST {set}({id})/{nav}/$ref` with `{"@odata.id": "<url>"}`, `DELETE {set}({id})/{nav}({id2})/$ref`
 * or `DELETE {set}({id})/{nav}/$ref?$id=<url>`, for N:N relationships (a row of the intersect table per pair; a pair
 * already associated answers 412 0x80040237 "Cannot insert duplicate key.") and for one-to-many collections (the
 * related row's lookup is set or cleared). `GET {set}({id})/{N:N nav}` lists the associated rows.
 */
import type { EmulatorRequest, EmulatorResponse } from '../types';
import { callerOf, parseJsonBody, type RecordContext } from './context';
import { parseEntityReference, parseKey, parseSegment } from './entityReference';
import { faults } from './faults';
import { resolveReference } from './keys';
import { queryRows } from './query';
import type { ManyToManyNavigation, Table } from './schema';
import { isLookupValue, type LookupValue, type Row } from './store';
import { updateRow } from './writes';

export interface AssociationRequest {
  ctx: RecordContext;
  table: Table;
  row: Row;
  /** The path after `{set}({id})`: `[nav]`, `[nav, '$ref']` or `[nav(id2), '$ref']`. */
  rest: string[];
  req: EmulatorRequest;
  nameOf: (table: string, id: string) => unknown;
}

/** True when the path names a collection navigation property this module answers. */
export function isAssociationPath(table: Table, rest: string[]): boolean {
  const { name } = parseSegment(rest[0]!);
  return table.manyToMany.has(name) || (table.collections.has(name) && rest[1] === '$ref');
}

/** The other record of a `$ref` request: from the body's @odata.id (POST), the path key or `$id` (DELETE). */
function related(a: AssociationRequest, expected: string): LookupValue | undefined {
  const { ctx, req } = a;
  if (req.method === 'POST') {
    const ref = parseJsonBody(req.body, a.table.entitySetName)['@odata.id'];
    if (typeof ref !== 'string') throw faults.invalidArgument("The '@odata.id' of the reference is missing.");
    return resolveReference(ctx.schema, ctx.store, ref, [expected]);
  }
  const { key } = parseSegment(a.rest[0]!);
  const other = ctx.schema.tables.get(expected)!;
  if (key !== undefined) {
    const spec = parseKey(key);
    if (spec.kind !== 'id') throw faults.badQuery('Disassociate by key: the emulator takes the related id only.');
    return { id: spec.id, table: expected };
  }
  const byQuery = req.query.get('$id');
  if (!byQuery) throw faults.badQuery("A DELETE of a collection reference needs the related key or '$id'.");
  const ref = parseEntityReference(byQuery);
  if (!ref || ref.key.kind !== 'id' || ref.entitySetName !== other.entitySetName)
    throw faults.badQuery(`The URI '${byQuery}' is not a reference to a record of '${expected}'.`);
  return { id: ref.key.id, table: expected };
}

function intersectRows(ctx: RecordContext, nav: ManyToManyNavigation, thisId: string): Row[] {
  return [...ctx.store.rows(nav.relationship.intersectEntityName)].filter((r) => r[nav.thisAttribute] === thisId);
}

function manyToMany(a: AssociationRequest, nav: ManyToManyNavigation): EmulatorResponse {
  const { ctx, table, row, req } = a;
  const thisId = row[table.primaryIdAttribute] as string;
  const intersect = ctx.schema.tables.get(nav.relationship.intersectEntityName)!;
  if (a.rest.length === 1) {
    if (req.method !== 'GET') throw faults.methodNotAllowed(req.method);
    const other = ctx.schema.tables.get(nav.otherTable)!;
    const rows = intersectRows(ctx, nav, thisId)
      .map((r) => ctx.store.get(other.logicalName, r[nav.otherAttribute] as string))
      .filter((r): r is Row => r !== undefined);
    return queryRows(
      other,
      { all: () => rows },
      { webApiBase: ctx.webApiBase, path: req.path, query: req.query, prefer: req.headers['prefer'], nameOf: a.nameOf },
    );
  }
  if (a.rest[1] !== '$ref' || a.rest.length > 2) throw faults.resourceNotFound(a.rest.join('/'));
  if (req.method !== 'POST' && req.method !== 'DELETE') throw faults.methodNotAllowed(req.method);
  const other = related(a, nav.otherTable)!;
  const pair = (attribute: string) => (attribute === nav.thisAttribute ? thisId : other.id);
  const existing = ctx.store.findByKey(intersect.logicalName, intersect.keys[0]!.logicalName, pair);
  if (req.method === 'POST') {
    if (existing !== undefined) throw faults.duplicateAssociation();
    const id = ctx.newId();
    ctx.store.put(intersect.logicalName, id, {
      [intersect.primaryIdAttribute]: id,
      [nav.thisAttribute]: thisId,
      [nav.otherAttribute]: other.id,
      versionnumber: ctx.store.nextRowVersion(),
    });
    return { status: 204 };
  }
  // Disassociating a pair that is not associated changes nothing and succeeds (assumed: undocumented).
  if (existing !== undefined) ctx.store.remove(intersect.logicalName, existing);
  return { status: 204 };
}

function oneToMany(a: AssociationRequest): EmulatorResponse {
  const { ctx, table, row, req } = a;
  const collection = table.collections.get(parseSegment(a.rest[0]!).name)!;
  if (a.rest.length > 2) throw faults.resourceNotFound(a.rest.join('/'));
  if (req.method !== 'POST' && req.method !== 'DELETE') throw faults.methodNotAllowed(req.method);
  const child = ctx.schema.tables.get(collection.referencingTable)!;
  const other = related(a, child.logicalName)!;
  const childRow = ctx.store.get(child.logicalName, other.id);
  if (!childRow) throw faults.recordNotFound(child.logicalName, other.id);
  const lookup = child.attributes.get(collection.referencingAttribute)!;
  const nav = lookup.targets!.find((t) => t.table === table.logicalName)!.navigationProperty;
  const thisId = row[table.primaryIdAttribute] as string;
  if (req.method === 'POST') {
    updateRow(ctx, child, childRow, { [`${nav}@odata.bind`]: `/${table.entitySetName}(${thisId})` }, callerOf(req));
    return { status: 204 };
  }
  const current = childRow[lookup.logicalName];
  if (isLookupValue(current) && current.id === thisId && current.table === table.logicalName)
    updateRow(ctx, child, childRow, { [`${nav}@odata.bind`]: null }, callerOf(req));
  return { status: 204 };
}

export function associationRequest(a: AssociationRequest): EmulatorResponse {
  const nav = a.table.manyToMany.get(parseSegment(a.rest[0]!).name);
  return nav ? manyToMany(a, nav) : oneToMany(a);
}

/** A deleted record takes its associations with it (the intersect rows are cascade-deleted). */
export function dropAssociations(ctx: RecordContext, table: Table, id: string): void {
  for (const nav of table.manyToMany.values())
    for (const r of intersectRows(ctx, nav, id))
      ctx.store.remove(
        nav.relationship.intersectEntityName,
        r[ctx.schema.tables.get(nav.relationship.intersectEntityName)!.primaryIdAttribute] as string,
      );
}
