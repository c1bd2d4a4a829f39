/**
 * The subset of OData query options the solution entity sets answer: `$filter` with eq/ne/gt/ge/lt/le,
 * and/or/not and parentheses; `$select`; `$top`; `$orderby`. A long `id eq a or id eq b ...` chain is parsed
 * into one flat `or` node, and answered by key lookups (see `keyLookup`), so a poller's one-query sweep stays cheap.
 */

export type Literal = string | number | boolean | null;
export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterNode =
  | { kind: 'compare'; field: string; op: ComparisonOperator; value: Literal; isGuid: boolean }
  | { kind: 'and' | 'or'; items: FilterNode[] }
  | { kind: 'not'; item: FilterNode };

export class ODataQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ODataQueryError';
  }
}

type Token = { type: 'word' | 'string' | 'open' | 'close' | 'comma'; text: string; at: number };

const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ type: c === '(' ? 'open' : c === ')' ? 'close' : 'comma', text: c, at: i });
      i++;
    } else if (c === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new ODataQueryError(`Syntax error: unterminated string literal at position ${i} in '${text}'.`);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j];
        j++;
      }
      tokens.push({ type: 'string', text: value, at: i });
      i = j + 1;
    } else {
      const match = /^[^\s(),']+/.exec(text.slice(i));
      tokens.push({ type: 'word', text: match![0], at: i });
      i += match![0].length;
    }
  }
  return tokens;
}

const operators = new Set<string>(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);

function literalOf(token: Token, source: string): { value: Literal; isGuid: boolean } {
  if (token.type === 'string') return { value: token.text, isGuid: false };
  if (token.type !== 'word') throw new ODataQueryError(`Syntax error at position ${token.at} in '${source}'.`);
  const text = token.text;
  if (text === 'null') return { value: null, isGuid: false };
  if (text === 'true' || text === 'false') return { value: text === 'true', isGuid: false };
  if (guidPattern.test(text)) return { value: text.toLowerCase(), isGuid: true };
  if (/^-?\d+(\.\d+)?$/.test(text)) return { value: Number(text), isGuid: false };
  throw new ODataQueryError(`Syntax error at position ${token.at} in '${source}'.`);
}

/** Parses a `$filter` expression; throws ODataQueryError with a Dataverse-like message. */
export function parseFilter(source: string): FilterNode {
  const tokens = tokenize(source);
  let pos = 0;
  const peekWord = (word: string): boolean => tokens[pos]?.type === 'word' && tokens[pos]!.text === word;
  const fail = (): never => {
    const at = tokens[pos]?.at ?? source.length;
    throw new ODataQueryError(`Syntax error at position ${at} in '${source}'.`);
  };

  // Iterative over the operands of one level, so a chain of thousands of `or`s does not deepen the stack.
  const parseOr = (): FilterNode => {
    const items = [parseAnd()];
    while (peekWord('or')) {
      pos++;
      items.push(parseAnd());
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  };
  const parseAnd = (): FilterNode => {
    const items = [parseUnary()];
    while (peekWord('and')) {
      pos++;
      items.push(parseUnary());
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  };
  const parseUnary = (): FilterNode => {
    if (peekWord('not')) {
      pos++;
      return { kind: 'not', item: parseUnary() };
    }
    if (tokens[pos]?.type === 'open') {
      pos++;
      const inner = parseOr();
      if (tokens[pos]?.type !== 'close') fail();
      pos++;
      return inner;
    }
    const field = tokens[pos];
    const op = tokens[pos + 1];
    const value = tokens[pos + 2];
    if (field?.type !== 'word' || op?.type !== 'word' || !operators.has(op.text) || !value) return fail();
    pos += 3;
    return { kind: 'compare', field: field.text.toLowerCase(), op: op.text as ComparisonOperator, ...literalOf(value, source) };
  };

  if (tokens.length === 0) fail();
  const node = parseOr();
  if (pos !== tokens.length) fail();
  return node;
}

/** Every field the filter names, to check them against the entity's columns. */
export function filterFields(node: FilterNode, into: Set<string> = new Set()): Set<string> {
  if (node.kind === 'compare') into.add(node.field);
  else if (node.kind === 'not') filterFields(node.item, into);
  else node.items.forEach((item) => filterFields(item, into));
  return into;
}

/**
 * When the filter is `key eq <guid>` or an `or` of those, the keys it asks for (lower-cased), so the caller can
 * look rows up instead of scanning; undefined otherwise.
 */
export function keyLookup(node: FilterNode, keyField: string): string[] | undefined {
  const items = node.kind === 'or' ? node.items : [node];
  const keys: string[] = [];
  for (const item of items) {
    if (item.kind !== 'compare' || item.field !== keyField || item.op !== 'eq' || typeof item.value !== 'string') return undefined;
    keys.push(item.value.toLowerCase());
  }
  return keys;
}

function compareValues(left: unknown, right: Literal, caseInsensitive: boolean): number | undefined {
  if (left === null || left === undefined || right === null) return undefined;
  if (typeof left === 'string' && typeof right === 'string') {
    const a = caseInsensitive ? left.toLowerCase() : left;
    const b = caseInsensitive ? right.toLowerCase() : right;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof left === 'number' && typeof right === 'number') return left - right;
  if (typeof left === 'boolean' && typeof right === 'boolean') return Number(left) - Number(right);
  return undefined;
}

/** Evaluates a filter on one row. String comparison is case-insensitive, as in Dataverse's default collation. */
export function matchesFilter(node: FilterNode, row: Readonly<Record<string, unknown>>): boolean {
  switch (node.kind) {
    case 'and':
      return node.items.every((item) => matchesFilter(item, row));
    case 'or':
      return node.items.some((item) => matchesFilter(item, row));
    case 'not':
      return !matchesFilter(node.item, row);
    case 'compare': {
      const left = row[node.field];
      if (node.value === null || left === null || left === undefined) {
        const bothNull = node.value === null && (left === null || left === undefined);
        return node.op === 'eq' ? bothNull : node.op === 'ne' ? !bothNull : false;
      }
      const order = compareValues(left, node.value, true);
      if (order === undefined) return node.op === 'ne';
      switch (node.op) {
        case 'eq': return order === 0;
        case 'ne': return order !== 0;
        case 'gt': return order > 0;
        case 'ge': return order >= 0;
        case 'lt': return order < 0;
        case 'le': return order <= 0;
      }
    }
  }
}

export interface OrderBy {
  field: string;
  descending: boolean;
}

export function parseOrderBy(source: string): OrderBy[] {
  return source.split(',').map((part) => {
    const [field, direction, extra] = part.trim().split(/\s+/);
    if (!field || extra !== undefined || (direction !== undefined && direction !== 'asc' && direction !== 'desc')) {
      throw new ODataQueryError(`Syntax error in $orderby '${source}'.`);
    }
    return { field: field.toLowerCase(), descending: direction === 'desc' };
  });
}

export function sortRows<T extends Readonly<Record<string, unknown>>>(rows: T[], orderBy: readonly OrderBy[]): T[] {
  return [...rows].sort((a, b) => {
    for (const { field, descending } of orderBy) {
      const x = a[field];
      const y = b[field];
      // Nulls first in ascending order, as SQL Server sorts them.
      const order =
        x === y ? 0 : x === null || x === undefined ? -1 : y === null || y === undefined ? 1 : compareValues(x, y as Literal, true) ?? 0;
      if (order !== 0) return descending ? -order : order;
    }
    return 0;
  });
}

export function parseSelect(source: string | null): string[] | undefined {
  if (source === null || source.trim() === '') return undefined;
  return source.split(',').map((field) => field.trim().toLowerCase());
}

export function parseTop(source: string | null): number | undefined {
  if (source === null) return undefined;
  if (!/^\d+$/.test(source.trim())) throw new ODataQueryError(`Invalid value '${source}' for $top query option found. The $top query option requires a non-negative integer value.`);
  return Number(source);
}
