/**
 * Collection queries: `$select`, `$filter`, `$orderby`, `$top`, `$count=true`, and server-driven paging
 * with `Prefer: odata.maxpagesize=N` → `@odata.nextLink` (an opaque `$skiptoken`) as Dataverse pages.
 */
import type { EmulatorResponse } from '../types';
import { compileFilter, equalityChain, parseFilter, type FilterExpression, type Literal } from '../odata/filter';
import { compareRows, parseOrderBy, parseTop } from '../odata/queryOptions';
import { edmTypes } from './edmTypes';
import { faults } from './faults';
import { contextUrl, parseSelect, represent, wantsAnnotations } from './representation';
import type { Table } from './schema';
import type { Row } from './store';

/** Dataverse's default and maximum page size. */
export const defaultPageSize = 5000;

const supported = new Set(['$select', '$filter', '$orderby', '$top', '$count', '$skiptoken', '$expand']);

const literalEdm: Record<Literal['type'], string> = {
  string: 'Edm.String',
  number: 'Edm.Int32',
  boolean: 'Edm.Boolean',
  null: 'null',
  guid: 'Edm.Guid',
  datetime: 'Edm.DateTimeOffset',
};
const accepts: Record<string, Literal['type'][]> = {
  'Edm.String': ['string'],
  'Edm.Int32': ['number'],
  'Edm.Int64': ['number'],
  'Edm.Decimal': ['number'],
  'Edm.Double': ['number'],
  'Edm.Boolean': ['boolean'],
  'Edm.DateTimeOffset': ['datetime'],
  'Edm.Guid': ['guid'],
};
const operatorKind = {
  eq: 'Equal',
  ne: 'NotEqual',
  gt: 'GreaterThan',
  ge: 'GreaterThanOrEqual',
  lt: 'LessThan',
  le: 'LessThanOrEqual',
} as const;

const columnOf =
  (table: Table) =>
  (property: string): string => {
    const a = table.properties.get(property);
    if (!a) throw faults.unknownQueryProperty(property, table.logicalName);
    return a.logicalName;
  };

/** Checks property names and operand types against the table (Dataverse's URI parser does this up front). */
export function checkFilter(table: Table, e: FilterExpression): void {
  switch (e.kind) {
    case 'and':
    case 'or':
      for (const item of e.items) checkFilter(table, item);
      return;
    case 'not':
      checkFilter(table, e.operand);
      return;
    case 'call': {
      const a = table.properties.get(e.property);
      if (!a) throw faults.unknownQueryProperty(e.property, table.logicalName);
      if (edmTypes[a.type] !== 'Edm.String')
        throw faults.badQuery(
          `No function signature for the function with name '${e.fn}' matches the specified arguments.`,
        );
      return;
    }
    case 'compare': {
      const a = table.properties.get(e.property);
      if (!a) throw faults.unknownQueryProperty(e.property, table.logicalName);
      const type = edmTypes[a.type]!;
      if (e.literal.type !== 'null' && !accepts[type]!.includes(e.literal.type)) {
        throw faults.badQuery(
          `A binary operator with incompatible types was detected. Found operand types '${type}' and '${literalEdm[e.literal.type]}' for operator kind '${operatorKind[e.op]}'.`,
        );
      }
    }
  }
}

/** Parses, checks and compiles `$filter` for a table. */
export function filterPredicate(table: Table, text: string): (row: Row) => boolean {
  const e = parseFilter(text);
  checkFilter(table, e);
  return compileFilter(e, columnOf(table));
}

/** The rows a query reads: all of them, or (when the source has indexes) those an equality chain names. */
export interface RowSource {
  all(): Iterable<Row>;
  /** Rows whose column equals one of the values (primary key or single-column alternate key); undefined when no index covers it. */
  byKey?(column: string, values: (string | number | boolean)[]): Row[] | undefined;
}

export function parsePageSize(prefer: string | undefined): number | undefined {
  const m = /odata\.maxpagesize\s*=\s*(\d+)/i.exec(prefer ?? '');
  return m ? Math.max(1, Math.min(Number(m[1]), defaultPageSize)) : undefined;
}

const encodeToken = (offset: number) => Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
function decodeToken(token: string): number {
  try {
    const o = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown }).o;
    if (typeof o === 'number' && Number.isInteger(o) && o >= 0) return o;
  } catch {
    /* fall through */
  }
  throw faults.badQuery('The $skiptoken value is not valid.');
}

export interface CollectionRequest {
  webApiBase: string;
  path: string;
  query: URLSearchParams;
  prefer: string | undefined;
  nameOf: (table: string, id: string) => unknown;
}

export function queryRows(table: Table, source: RowSource, req: CollectionRequest): EmulatorResponse {
  for (const name of req.query.keys()) {
    if (name.startsWith('$') && !supported.has(name))
      throw faults.badQuery(`The query parameter ${name} is not supported`);
  }
  if (req.query.get('$expand')) throw faults.badQuery('The emulator does not support $expand on record queries.');
  const select = parseSelect(table, req.query.get('$select'));
  const filterText = req.query.get('$filter');
  const filter = filterText ? parseFilter(filterText) : undefined;
  if (filter) checkFilter(table, filter);
  const predicate = filter ? compileFilter(filter, columnOf(table)) : undefined;
  const order = parseOrderBy(req.query.get('$orderby'), columnOf(table));
  const top = parseTop(req.query.get('$top'));
  const countText = req.query.get('$count');
  if (countText !== null && countText !== 'true' && countText !== 'false')
    throw faults.badQuery(`'${countText}' is not a valid count option.`);

  // `accountid eq A or accountid eq B ...` (an existence check of many ids) is answered by index lookup.
  const chain = filter ? equalityChain(filter) : undefined;
  const indexed =
    chain && chain.literals[0]!.type !== 'datetime'
      ? source.byKey?.(
          columnOf(table)(chain.property),
          chain.literals.map((l) => l.value),
        )
      : undefined;
  const candidates = indexed ?? source.all();
  let matches: Row[] = [];
  for (const row of candidates) if (!predicate || predicate(row)) matches.push(row);
  if (order.length) matches.sort(compareRows(order));
  const total = matches.length;
  if (top !== undefined) matches = matches.slice(0, top);

  const maxPageSize = parsePageSize(req.prefer);
  const pageSize = maxPageSize ?? defaultPageSize;
  const skiptoken = req.query.get('$skiptoken');
  const offset = skiptoken === null ? 0 : decodeToken(skiptoken);
  const page = matches.slice(offset, offset + pageSize);
  const shape = { select, annotations: wantsAnnotations(req.prefer) };

  const body: Record<string, unknown> = { '@odata.context': contextUrl(req.webApiBase, table, select, false) };
  if (countText === 'true') body['@odata.count'] = total;
  body.value = page.map((row) => represent(table, row, shape, req.nameOf));
  if (offset + pageSize < matches.length) {
    const next = new URLSearchParams(req.query);
    next.delete('$skiptoken');
    next.set('$skiptoken', encodeToken(offset + pageSize));
    body['@odata.nextLink'] = `${req.webApiBase}${req.path}?${next.toString()}`;
  }
  const applied = [
    maxPageSize !== undefined ? `odata.maxpagesize=${maxPageSize}` : '',
    shape.annotations ? 'odata.include-annotations="*"' : '',
  ].filter(Boolean);
  return { status: 200, headers: applied.length ? { 'Preference-Applied': applied.join(',') } : {}, body };
}
