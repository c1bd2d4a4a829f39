/**
 * `$orderby` and `$top`, shared by the record and solution entity sets. Property names are resolved by the
 * caller (`columnOf`), which also refuses unknown ones with Dataverse's message.
 */
import { DataverseFault } from '../types';
import { comparableValue, queryErrorCode } from './filter';

export interface OrderBy {
  column: string;
  descending: boolean;
}

export function parseOrderBy(text: string | null, columnOf: (property: string) => string): OrderBy[] {
  if (text === null || text.trim() === '') return [];
  return text.split(',').map((part) => {
    const [name, direction, extra] = part.trim().split(/\s+/);
    if (!name || extra !== undefined || (direction !== undefined && !/^(asc|desc)$/i.test(direction))) {
      throw new DataverseFault(400, queryErrorCode, `Syntax error in $orderby: '${part.trim()}'.`);
    }
    return { column: columnOf(name), descending: direction?.toLowerCase() === 'desc' };
  });
}

/** Text case-insensitively, lookups by id; nulls sort first ascending, as in SQL Server. */
export function compareRows(
  order: readonly OrderBy[],
): (a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>) => number {
  return (a, b) => {
    for (const o of order) {
      const x = comparableValue(a[o.column]),
        y = comparableValue(b[o.column]);
      const c = x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
      if (c !== 0) return o.descending ? -c : c;
    }
    return 0;
  };
}

export function parseTop(text: string | null): number | undefined {
  if (text === null) return undefined;
  if (!/^\d+$/.test(text.trim())) {
    throw new DataverseFault(
      400,
      queryErrorCode,
      `Invalid value '${text}' for $top query option found. The $top query option requires a non-negative integer value.`,
    );
  }
  return Number(text);
}
