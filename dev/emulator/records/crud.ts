/**
 * Entity-set requests: POST create, GET one row (by id or alternate key) or a collection, PATCH
 * update/upsert with If-Match / If-None-Match, DELETE, single-column PUT, `$ref` on lookups, and
 * one-to-many navigation collections (`accounts(<id>)/Account_Tasks`).
 */
import type { EmulatorRequest, EmulatorResponse } from '../types';
import { associationRequest, dropAssociations, isAssociationPath } from './associations';
import { callerOf, parseJsonBody, type RecordContext } from './context';
import { parseKey, parseSegment, type KeySpec } from './entityReference';
import { faults } from './faults';
import { fileColumnRequest } from './files';
import { locate, resolveReference } from './keys';
import { queryRows, type RowSource } from './query';
import { contextUrl, etagOf, parseSelect, represent, wantsAnnotations } from './representation';
import type { Table } from './schema';
import type { Row } from './store';
import { createRow, updateRow } from './writes';

const returnsRepresentation = (req: EmulatorRequest) => /return=representation/i.test(req.headers['prefer'] ?? '');

export function nameOf(ctx: RecordContext) {
  return (tableName: string, id: string): unknown => {
    const table = ctx.schema.tables.get(tableName);
    return table ? ctx.store.get(tableName, id)?.[table.primaryNameAttribute] : undefined;
  };
}

function entityBody(ctx: RecordContext, table: Table, row: Row, req: EmulatorRequest): Record<string, unknown> {
  const select = parseSelect(table, req.query.get('$select'));
  return {
    '@odata.context': contextUrl(ctx.webApiBase, table, select, true),
    ...represent(table, row, { select, annotations: wantsAnnotations(req.headers['prefer']) }, nameOf(ctx)),
  };
}

const notFound = (table: Table, spec: KeySpec) =>
  spec.kind === 'id'
    ? faults.recordNotFound(table.logicalName, spec.id)
    : faults.recordNotFoundByKey(table.logicalName);

function existingOrThrow(ctx: RecordContext, table: Table, spec: KeySpec): Row {
  const found = locate(ctx.store, table, spec);
  const row = found.id === undefined ? undefined : ctx.store.get(table.logicalName, found.id);
  if (!row) throw notFound(table, spec);
  return row;
}

function checkIfMatch(req: EmulatorRequest, row: Row | undefined, table: Table, spec: KeySpec): void {
  const ifMatch = req.headers['if-match'];
  if (ifMatch === undefined || ifMatch === 'null') return;
  if (!row) throw notFound(table, spec);
  if (ifMatch !== '*' && ifMatch !== etagOf(row)) throw faults.versionMismatch();
}

function create(ctx: RecordContext, table: Table, req: EmulatorRequest): EmulatorResponse {
  parseSelect(table, req.query.get('$select'));
  const row = createRow(ctx, table, parseJsonBody(req.body, table.entitySetName), callerOf(req));
  const id = row[table.primaryIdAttribute] as string;
  if (returnsRepresentation(req)) {
    return {
      status: 201,
      headers: { 'Preference-Applied': 'return=representation', ETag: etagOf(row) },
      body: entityBody(ctx, table, row, req),
    };
  }
  return { status: 204, headers: { 'OData-EntityId': `${ctx.webApiBase}${table.entitySetName}(${id})` } };
}

/** PATCH to a key URL: update, or create when missing (upsert) unless If-Match forbids it. */
function patch(
  ctx: RecordContext,
  table: Table,
  spec: KeySpec,
  keyText: string,
  req: EmulatorRequest,
): EmulatorResponse {
  const body = parseJsonBody(req.body, table.entitySetName);
  parseSelect(table, req.query.get('$select'));
  const found = locate(ctx.store, table, spec);
  const existing = found.id === undefined ? undefined : ctx.store.get(table.logicalName, found.id);
  checkIfMatch(req, existing, table, spec);
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch === '*' && existing) throw faults.duplicateKey();
  const caller = callerOf(req);
  const row = existing
    ? updateRow(ctx, table, existing, body, caller, { dropColumns: found.keyValues?.keys() })
    : createRow(ctx, table, body, caller, { requestedId: found.requestedId, keyValues: found.keyValues });
  if (returnsRepresentation(req)) {
    const headers: Record<string, string> = { ETag: etagOf(row) };
    if (!existing) headers['Preference-Applied'] = 'return=representation';
    return { status: existing ? 200 : 201, headers, body: entityBody(ctx, table, row, req) };
  }
  return {
    status: 204,
    // A URL in a header: the key echoed percent-encoded (a raw non-ASCII character can't go in an HTTP header).
    headers: {
      'OData-EntityId': `${ctx.webApiBase}${table.entitySetName}(${spec.kind === 'id' ? spec.id : encodeURI(keyText)})`,
    },
  };
}

function remove(ctx: RecordContext, table: Table, spec: KeySpec, req: EmulatorRequest): EmulatorResponse {
  const row = existingOrThrow(ctx, table, spec);
  checkIfMatch(req, row, table, spec);
  ctx.store.remove(table.logicalName, row[table.primaryIdAttribute] as string);
  dropAssociations(ctx, table, row[table.primaryIdAttribute] as string);
  return { status: 204 };
}

function retrieve(ctx: RecordContext, table: Table, spec: KeySpec, req: EmulatorRequest): EmulatorResponse {
  for (const name of req.query.keys()) {
    if (name.startsWith('$') && name !== '$select')
      throw faults.badQuery(`The query parameter ${name} is not supported on a single record by the emulator.`);
  }
  const row = existingOrThrow(ctx, table, spec);
  const body = entityBody(ctx, table, row, req);
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch && ifNoneMatch === etagOf(row)) return { status: 304, headers: { ETag: etagOf(row) } };
  return { status: 200, headers: { ETag: etagOf(row) }, body };
}

/** `<set>(<key>)/<segment>[/$ref]`: a column, a one-to-many collection, or a lookup reference. */
function subresource(
  ctx: RecordContext,
  table: Table,
  spec: KeySpec,
  rest: string[],
  req: EmulatorRequest,
): EmulatorResponse {
  if (isAssociationPath(table, rest))
    return associationRequest({ ctx, table, row: existingOrThrow(ctx, table, spec), rest, req, nameOf: nameOf(ctx) });
  const column = table.attributes.get(rest[0]!);
  if (
    (column?.type === 'File' || column?.type === 'Image') &&
    ((rest.length === 2 && rest[1] === '$value') || (rest.length === 1 && req.method === 'DELETE'))
  )
    return fileColumnRequest(ctx, table, existingOrThrow(ctx, table, spec), column, req);
  const [name, ref, ...extra] = rest as [string, string | undefined];
  if (extra.length || (ref !== undefined && ref !== '$ref')) throw faults.resourceNotFound(rest.join('/'));
  const row = existingOrThrow(ctx, table, spec);
  const id = row[table.primaryIdAttribute] as string;
  const caller = callerOf(req);
  const collection = table.collections.get(name);
  if (collection && ref === undefined && req.method === 'GET') {
    const child = ctx.schema.tables.get(collection.referencingTable)!;
    const related = [...ctx.store.rows(child.logicalName)].filter((r) => {
      const v = r[collection.referencingAttribute] as { id?: string; table?: string } | null;
      return v?.id === id && v.table === table.logicalName;
    });
    return queryRows(
      child,
      { all: () => related },
      {
        webApiBase: ctx.webApiBase,
        path: req.path,
        query: req.query,
        prefer: req.headers['prefer'],
        nameOf: nameOf(ctx),
      },
    );
  }
  const nav = table.navigation.get(name);
  if (nav && ref === '$ref') {
    if (req.method === 'DELETE') {
      updateRow(ctx, table, row, { [`${name}@odata.bind`]: null }, caller);
      return { status: 204 };
    }
    if (req.method !== 'PUT') throw faults.methodNotAllowed(req.method);
    const target = parseJsonBody(req.body, table.entitySetName)['@odata.id'];
    if (typeof target !== 'string') throw faults.invalidArgument("The '@odata.id' of the reference is missing.");
    resolveReference(ctx.schema, ctx.store, target, nav.targets);
    updateRow(ctx, table, row, { [`${name}@odata.bind`]: target }, caller);
    return { status: 204 };
  }
  const attribute = table.properties.get(name);
  if (attribute && ref === undefined) {
    if (req.method === 'GET') {
      return {
        status: 200,
        body: {
          '@odata.context': `${ctx.webApiBase}$metadata#${table.entitySetName}(${id})/${name}`,
          value: represent(table, row, { select: [name], annotations: false })[name],
        },
      };
    }
    if (req.method === 'PUT') {
      updateRow(ctx, table, row, { [name]: parseJsonBody(req.body, table.entitySetName).value ?? null }, caller);
      return { status: 204 };
    }
    if (req.method === 'DELETE') {
      updateRow(ctx, table, row, { [name]: null }, caller);
      return { status: 204 };
    }
    throw faults.methodNotAllowed(req.method);
  }
  throw faults.resourceNotFound(name);
}

/** A table's rows, with its primary key and single-column alternate keys as indexes for equality chains. */
function tableSource(ctx: RecordContext, table: Table): RowSource {
  return {
    all: () => ctx.store.rows(table.logicalName),
    byKey(column, values) {
      const key =
        column === table.primaryIdAttribute
          ? undefined
          : table.keys.find((k) => k.attributes.length === 1 && k.attributes[0] === column);
      if (column !== table.primaryIdAttribute && !key) return undefined;
      const rows = new Map<string, Row>();
      for (const value of values) {
        const id = key
          ? ctx.store.findByKey(table.logicalName, key.logicalName, () => value)
          : typeof value === 'string'
            ? value.toLowerCase()
            : undefined;
        const row = id === undefined ? undefined : ctx.store.get(table.logicalName, id);
        if (row) rows.set(id!, row);
      }
      return [...rows.values()];
    },
  };
}

/** Answers a request whose first segment is an entity set; `segments[0]` is `set` or `set(key)`. */
export function entitySetRequest(
  ctx: RecordContext,
  table: Table,
  segments: string[],
  req: EmulatorRequest,
): EmulatorResponse {
  const { key } = parseSegment(segments[0]!);
  const rest = segments.slice(1);
  if (key === undefined) {
    if (rest.length === 1 && rest[0] === '$count' && req.method === 'GET') {
      // `<set>/$count` answers the number of matching rows (capped at 5000 in Dataverse; not here).
      const res = queryRows(table, tableSource(ctx, table), {
        webApiBase: ctx.webApiBase,
        path: req.path,
        query: req.query,
        prefer: undefined,
        nameOf: nameOf(ctx),
      });
      return { status: 200, body: (res.body as { value: unknown[] }).value.length };
    }
    if (rest.length) throw faults.resourceNotFound(rest[0]!);
    if (req.method === 'GET') {
      return queryRows(table, tableSource(ctx, table), {
        webApiBase: ctx.webApiBase,
        path: req.path,
        query: req.query,
        prefer: req.headers['prefer'],
        nameOf: nameOf(ctx),
      });
    }
    if (req.method === 'POST') return create(ctx, table, req);
    throw faults.methodNotAllowed(req.method);
  }
  const spec = parseKey(key);
  if (rest.length) return subresource(ctx, table, spec, rest, req);
  switch (req.method) {
    case 'GET':
      return retrieve(ctx, table, spec, req);
    case 'PATCH':
      return patch(ctx, table, spec, spec.kind === 'id' ? spec.id : key, req);
    case 'DELETE':
      return remove(ctx, table, spec, req);
    default:
      throw faults.methodNotAllowed(req.method);
  }
}
