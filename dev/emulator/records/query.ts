/**
 * Collection queries: `$select`, `$filter`, `$orderby`, `$top`, `$count=true`, and server-driven paging
 * with `Prefer: odata.maxpagesize=N` → `@odata.nextLink` (an opaque `$skiptoken`) as Dataverse pages.
 */
import type { EmulatorResponse } from '../types';
import { faults } from './faults';
import { filterPredicate } from './filter';
import { contextUrl, parseSelect, represent, wantsAnnotations } from './representation';
import type { Table } from './schema';
import { isLookupValue, type Row } from './store';

/** Dataverse's default and maximum page size. */
export const defaultPageSize = 5000;

const supported = new Set(['$select', '$filter', '$orderby', '$top', '$count', '$skiptoken', '$expand']);

export interface OrderBy { column: string; descending: boolean }

export function parseOrderBy(table: Table, text: string | null): OrderBy[] {
  if (text === null || text.trim() === '') return [];
  return text.split(',').map((part) => {
    const [name, direction, extra] = part.trim().split(/\s+/);
    if (!name || extra !== undefined || (direction !== undefined && !/^(asc|desc)$/i.test(direction))) {
      throw faults.badQuery(`Syntax error in $orderby: '${part.trim()}'.`);
    }
    const a = table.properties.get(name);
    if (!a) throw faults.unknownQueryProperty(name, table.logicalName);
    return { column: a.logicalName, descending: direction?.toLowerCase() === 'desc' };
  });
}

function sortKey(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (isLookupValue(v)) return v.id;
  if (typeof v === 'string') return v.toLowerCase();
  return v as number | boolean;
}

/** Nulls sort first ascending, as in SQL Server. */
export function compareRows(order: OrderBy[]): (a: Row, b: Row) => number {
  return (a, b) => {
    for (const o of order) {
      const x = sortKey(a[o.column]), y = sortKey(b[o.column]);
      const c = x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
      if (c !== 0) return o.descending ? -c : c;
    }
    return 0;
  };
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
  } catch { /* fall through */ }
  throw faults.badQuery('The $skiptoken value is not valid.');
}

export interface CollectionRequest {
  webApiBase: string;
  path: string;
  query: URLSearchParams;
  prefer: string | undefined;
  nameOf: (table: string, id: string) => unknown;
}

export function queryRows(table: Table, source: Iterable<Row>, req: CollectionRequest): EmulatorResponse {
  for (const name of req.query.keys()) {
    if (name.startsWith('$') && !supported.has(name)) throw faults.badQuery(`The query parameter ${name} is not supported`);
  }
  if (req.query.get('$expand')) throw faults.badQuery('The emulator does not support $expand on record queries.');
  const select = parseSelect(table, req.query.get('$select'));
  const filterText = req.query.get('$filter');
  const predicate = filterText ? filterPredicate(table, filterText) : undefined;
  const order = parseOrderBy(table, req.query.get('$orderby'));
  const topText = req.query.get('$top');
  const top = topText === null ? undefined : Number(topText);
  if (top !== undefined && (!Number.isInteger(top) || top < 0)) throw faults.badQuery(`Invalid value '${topText}' for $top query option found.`);
  const countText = req.query.get('$count');
  if (countText !== null && countText !== 'true' && countText !== 'false') throw faults.badQuery(`'${countText}' is not a valid count option.`);

  let matches: Row[] = [];
  for (const row of source) if (!predicate || predicate(row)) matches.push(row);
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
  const applied = [maxPageSize !== undefined ? `odata.maxpagesize=${maxPageSize}` : '', shape.annotations ? 'odata.include-annotations="*"' : ''].filter(Boolean);
  return { status: 200, headers: applied.length ? { 'Preference-Applied': applied.join(',') } : {}, body };
}
