/**
 * GET on an entity set or one of its rows, with `$select`, `$filter`, `$top`, `$orderby` and `$count`, answered
 * in the Web API's shapes (`@odata.context`, `value`). Rows are computed on read, so a key lookup only builds
 * the rows asked for.
 */
import { compileFilter, equalityChain, filterProperties, parseFilter, queryErrorCode } from '../odata/filter';
import { compareRows, parseOrderBy, parseTop } from '../odata/queryOptions';
import { DataverseFault, dataverseError, type EmulatorResponse } from '../types';
import { objectDoesNotExistCode } from './solutionStore';

export interface EntitySetDefinition<T> {
  entitySet: string;
  logicalName: string;
  /** Primary key column. */
  key: string;
  get(id: string): T | undefined;
  all(): Iterable<T>;
  row(item: T): Record<string, unknown>;
}

/** Columns of the entity, from any row it can build (rows of one set always have the same columns). */
function columnsOf<T>(
  set: EntitySetDefinition<T>,
  sample: Record<string, unknown> | undefined,
): Set<string> | undefined {
  if (sample) return new Set(Object.keys(sample));
  const first = set.all()[Symbol.iterator]().next();
  return first.done ? undefined : new Set(Object.keys(set.row(first.value)));
}

function unknownProperty(set: EntitySetDefinition<unknown>, field: string): EmulatorResponse {
  return dataverseError(
    400,
    queryErrorCode,
    `Could not find a property named '${field}' on type 'Microsoft.Dynamics.CRM.${set.logicalName}'.`,
  );
}

function parseSelect(text: string | null): string[] | undefined {
  if (text === null || text.trim() === '') return undefined;
  return text.split(',').map((field) => field.trim());
}

function project(row: Record<string, unknown>, select: string[] | undefined, key: string): Record<string, unknown> {
  if (!select) return row;
  // The Web API always returns the primary key, selected or not.
  const out: Record<string, unknown> = {};
  for (const field of select) out[field] = row[field];
  out[key] = row[key];
  return out;
}

export function queryEntitySet<T>(
  set: EntitySetDefinition<T>,
  key: string | undefined,
  query: URLSearchParams,
  contextBase: string,
): EmulatorResponse {
  try {
    const select = parseSelect(query.get('$select'));
    const selectSuffix = select ? `(${select.join(',')})` : '';
    if (key !== undefined) {
      const item = set.get(key);
      if (item === undefined)
        return dataverseError(
          404,
          objectDoesNotExistCode,
          `Entity '${set.logicalName}' With Id = ${key} Does Not Exist`,
        );
      const row = set.row(item);
      const unknown = select?.find((field) => !(field in row));
      if (unknown) return unknownProperty(set, unknown);
      return {
        status: 200,
        headers: { 'OData-Version': '4.0' },
        body: {
          '@odata.context': `${contextBase}${set.entitySet}${selectSuffix}/$entity`,
          ...project(row, select, set.key),
        },
      };
    }

    const filterText = query.get('$filter');
    const filter = filterText ? parseFilter(filterText) : undefined;
    const orderBy = parseOrderBy(query.get('$orderby'), (property) => property);
    const top = parseTop(query.get('$top'));

    // A poller's `asyncoperationid eq A or asyncoperationid eq B ...` sweep only builds the rows it names.
    const chain = filter ? equalityChain(filter) : undefined;
    const ids =
      chain?.property === set.key && (chain.literals[0]!.type === 'guid' || chain.literals[0]!.type === 'string')
        ? new Set(chain.literals.map((l) => String(l.value).toLowerCase()))
        : undefined;
    const items: T[] = [];
    if (ids) {
      for (const id of ids) {
        const item = set.get(id);
        if (item !== undefined) items.push(item);
      }
    } else {
      items.push(...set.all());
    }
    let rows = items.map((item) => set.row(item));
    const columns = columnsOf(set, rows[0]);
    if (columns) {
      const named = [...(select ?? []), ...(filter ? filterProperties(filter) : []), ...orderBy.map((o) => o.column)];
      const unknown = named.find((field) => !columns.has(field));
      if (unknown) return unknownProperty(set, unknown);
    }
    if (filter && !ids) {
      const predicate = compileFilter(filter, (property) => property);
      rows = rows.filter(predicate);
    }
    if (orderBy.length > 0) rows.sort(compareRows(orderBy));
    const count = rows.length;
    if (top !== undefined) rows = rows.slice(0, top);
    const body: Record<string, unknown> = { '@odata.context': `${contextBase}${set.entitySet}${selectSuffix}` };
    if (query.get('$count') === 'true') body['@odata.count'] = count;
    body['value'] = rows.map((row) => project(row, select, set.key));
    return { status: 200, headers: { 'OData-Version': '4.0' }, body };
  } catch (error) {
    if (error instanceof DataverseFault) return error.toResponse();
    throw error;
  }
}
