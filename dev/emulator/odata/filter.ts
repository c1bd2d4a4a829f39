/**
 * `$filter` as Dataverse's Web API accepts it, for records and for the solution entity sets alike: eq ne gt ge
 * lt le, and, or, not, parentheses, contains/startswith/endswith, literals ('text' with '' escaping, numbers,
 * true/false, null, guids, dates). Text compares case-insensitively, as SQL Server's collation makes it.
 * Pure: parse → AST → predicate.
 *
 * `and`/`or` chains are flat n-ary nodes built by loops, so `id eq A or id eq B ...` with thousands of terms
 * deepens neither the parser's stack nor the predicate's; `equalityChain` tells callers when a filter is only
 * such a chain, so they can answer it by key lookup instead of a scan.
 */
import { DataverseFault } from '../types';

export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type Literal =
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'null' }
  | { type: 'guid'; value: string }
  | { type: 'datetime'; value: number; text: string };

export type FilterExpression =
  | { kind: 'and' | 'or'; items: FilterExpression[] }
  | { kind: 'not'; operand: FilterExpression }
  | { kind: 'compare'; op: ComparisonOperator; property: string; literal: Literal }
  | { kind: 'call'; fn: 'contains' | 'startswith' | 'endswith'; property: string; value: string };

type Token = { t: 'ident'; v: string } | { t: 'literal'; v: Literal } | { t: '(' } | { t: ')' } | { t: ',' };

export const queryErrorCode = '0x80060888';
/** An Edm.Guid literal, as in keys (`accounts(<guid>)`) and action parameters. */
export const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const syntax = (message: string) => new DataverseFault(400, queryErrorCode, `Syntax error: ${message}`);
/** Deeper nesting than any real query; refused with a syntax error rather than a stack overflow. */
const maxNesting = 100;

// Sticky patterns, tried at the current position without slicing the text (long filters stay linear).
const tokenPatterns: [RegExp, (m: string) => Token][] = [
  [
    /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])/y,
    (m) => ({ t: 'literal', v: { type: 'guid', value: m.toLowerCase() } }),
  ],
  [
    /\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?(?![\w:])/y,
    (m) => {
      const ms = Date.parse(/T/.test(m) ? m : `${m}T00:00:00Z`);
      if (Number.isNaN(ms)) throw syntax(`invalid date '${m}'`);
      return { t: 'literal', v: { type: 'datetime', value: ms, text: m } };
    },
  ],
  [
    /-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDfFlL]?(?![\w.])/y,
    (m) => ({ t: 'literal', v: { type: 'number', value: Number(m.replace(/[mMdDfFlL]$/, '')) } }),
  ],
  [
    /[A-Za-z_][A-Za-z0-9_.]*/y,
    (m) =>
      m === 'true' || m === 'false'
        ? { t: 'literal', v: { type: 'boolean', value: m === 'true' } }
        : m === 'null'
          ? { t: 'literal', v: { type: 'null' } }
          : { t: 'ident', v: m },
  ],
];

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  next: while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      out.push({ t: c });
      i++;
      continue;
    }
    if (c === "'") {
      let value = '',
        j = i + 1;
      for (;;) {
        const q = text.indexOf("'", j);
        if (q < 0) throw syntax(`unterminated string literal at position ${i}`);
        value += text.slice(j, q);
        if (text[q + 1] === "'") {
          value += "'";
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      out.push({ t: 'literal', v: { type: 'string', value } });
      continue;
    }
    for (const [re, token] of tokenPatterns) {
      re.lastIndex = i;
      const m = re.exec(text);
      if (m) {
        out.push(token(m[0]));
        i += m[0].length;
        continue next;
      }
    }
    throw syntax(`unexpected character '${c}' at position ${i}`);
  }
  return out;
}

const comparison = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const functions = new Set(['contains', 'startswith', 'endswith']);

export function parseFilter(text: string): FilterExpression {
  const tokens = tokenize(text);
  let pos = 0;
  let depth = 0;
  const peek = () => tokens[pos];
  const isWord = (w: string) => {
    const t = peek();
    return t?.t === 'ident' && t.v.toLowerCase() === w;
  };
  const expect = (t: Token['t']) => {
    if (peek()?.t !== t) throw syntax(`expected '${t}' at token ${pos}`);
    pos++;
  };

  const parseChain = (word: 'or' | 'and', operand: () => FilterExpression): FilterExpression => {
    const items = [operand()];
    while (isWord(word)) {
      pos++;
      items.push(operand());
    }
    return items.length === 1 ? items[0]! : { kind: word, items };
  };
  const parseOr = (): FilterExpression => parseChain('or', parseAnd);
  const parseAnd = (): FilterExpression => parseChain('and', parseUnary);
  const parseUnary = (): FilterExpression => {
    if (++depth > maxNesting) throw syntax(`nesting deeper than ${maxNesting}`);
    try {
      return parseOperand();
    } finally {
      depth--;
    }
  };
  const parseOperand = (): FilterExpression => {
    if (isWord('not')) {
      pos++;
      return { kind: 'not', operand: parseUnary() };
    }
    const t = peek();
    if (t?.t === '(') {
      pos++;
      const e = parseOr();
      expect(')');
      return e;
    }
    if (t?.t !== 'ident') throw syntax(`expected a property name at token ${pos}`);
    pos++;
    if (functions.has(t.v.toLowerCase())) {
      expect('(');
      const p = peek();
      if (p?.t !== 'ident') throw syntax(`expected a property name in ${t.v}()`);
      pos++;
      expect(',');
      const l = peek();
      if (l?.t !== 'literal' || l.v.type !== 'string') throw syntax(`expected a string literal in ${t.v}()`);
      pos++;
      expect(')');
      return { kind: 'call', fn: t.v.toLowerCase() as 'contains', property: p.v, value: l.v.value };
    }
    const op = peek();
    if (op?.t !== 'ident' || !comparison.has(op.v.toLowerCase()))
      throw syntax(`expected a comparison operator after '${t.v}'`);
    pos++;
    const lit = peek();
    if (lit?.t !== 'literal') throw syntax(`expected a literal after '${t.v} ${op.v}'`);
    pos++;
    return { kind: 'compare', op: op.v.toLowerCase() as ComparisonOperator, property: t.v, literal: lit.v };
  };

  if (tokens.length === 0) throw syntax('empty $filter');
  const e = parseOr();
  if (pos !== tokens.length) throw syntax(`unexpected token at ${pos}`);
  return e;
}

/** Every property the filter names, to check them against the table's columns. */
export function filterProperties(e: FilterExpression, into: Set<string> = new Set()): Set<string> {
  switch (e.kind) {
    case 'and':
    case 'or':
      for (const item of e.items) filterProperties(item, into);
      break;
    case 'not':
      filterProperties(e.operand, into);
      break;
    default:
      into.add(e.property);
  }
  return into;
}

/**
 * When the filter is `p eq v` or `p eq v1 or p eq v2 ...` (one property, literals of one type, no null),
 * that property and its literals; undefined otherwise. Callers answer such filters by index lookup.
 */
export function equalityChain(
  e: FilterExpression,
): { property: string; literals: Exclude<Literal, { type: 'null' }>[] } | undefined {
  const items = e.kind === 'or' ? e.items : [e];
  const first = items[0];
  if (first?.kind !== 'compare') return undefined;
  const literals: Exclude<Literal, { type: 'null' }>[] = [];
  for (const item of items) {
    if (item.kind !== 'compare' || item.op !== 'eq' || item.property !== first.property) return undefined;
    if (item.literal.type === 'null' || item.literal.type !== first.literal.type) return undefined;
    literals.push(item.literal);
  }
  return { property: first.property, literals };
}

type Comparable = string | number | boolean | null;

/** A comparable form of a column value: lower-cased text, ids for lookups (`{ id, table }` values). */
export function comparableValue(v: unknown): Comparable {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v.toLowerCase();
  if (typeof v === 'object') return typeof (v as { id?: unknown }).id === 'string' ? (v as { id: string }).id : null;
  return v as number | boolean;
}
/** Against a date literal, date text compares as epoch ms. */
function comparable(v: unknown, literal: Literal): Comparable {
  if (literal.type === 'datetime' && typeof v === 'string') return Date.parse(/T/.test(v) ? v : `${v}T00:00:00Z`);
  return comparableValue(v);
}
export function literalValue(l: Literal): Comparable {
  switch (l.type) {
    case 'null':
      return null;
    case 'string':
      return l.value.toLowerCase();
    default:
      return l.value;
  }
}

/**
 * The predicate of a parsed filter. `columnOf` maps a property name of the query to the row's column
 * (records store `_parentcustomerid_value` under `parentcustomerid`); properties are assumed checked.
 */
export function compileFilter(
  e: FilterExpression,
  columnOf: (property: string) => string,
): (row: Readonly<Record<string, unknown>>) => boolean {
  switch (e.kind) {
    case 'and': {
      const items = e.items.map((i) => compileFilter(i, columnOf));
      return (row) => items.every((p) => p(row));
    }
    case 'or': {
      const chain = equalityChain(e);
      if (chain) {
        // A long `in`-style list: one set membership test per row instead of one comparison per term.
        const column = columnOf(chain.property);
        const wanted = new Set(chain.literals.map(literalValue));
        const first = chain.literals[0]!;
        return (row) => wanted.has(comparable(row[column], first));
      }
      const items = e.items.map((i) => compileFilter(i, columnOf));
      return (row) => items.some((p) => p(row));
    }
    case 'not': {
      const o = compileFilter(e.operand, columnOf);
      return (row) => !o(row);
    }
    case 'call': {
      const column = columnOf(e.property);
      const needle = e.value.toLowerCase();
      return (row) => {
        const v = row[column];
        if (typeof v !== 'string') return false;
        const h = v.toLowerCase();
        return e.fn === 'contains'
          ? h.includes(needle)
          : e.fn === 'startswith'
            ? h.startsWith(needle)
            : h.endsWith(needle);
      };
    }
    case 'compare': {
      const column = columnOf(e.property);
      const right = literalValue(e.literal);
      return (row) => {
        const left = comparable(row[column], e.literal);
        if (e.op === 'eq') return left === right;
        if (e.op === 'ne') return left !== right;
        // SQL: comparisons with NULL are not true; nor are those across types (unchecked entity sets).
        if (left === null || right === null || typeof left !== typeof right) return false;
        switch (e.op) {
          case 'gt':
            return left > right;
          case 'ge':
            return left >= right;
          case 'lt':
            return left < right;
          default:
            return left <= right;
        }
      };
    }
  }
}
