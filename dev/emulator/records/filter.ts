/**
 * `$filter` as Dataverse's Web API accepts it for record queries: eq ne gt ge lt le, and, or, not,
 * parentheses, contains/startswith/endswith, literals ('text' with '' escaping, numbers, true/false,
 * null, guids, dates). Comparisons of text are case-insensitive, as SQL Server's collation makes them.
 * Pure: parse → AST → predicate.
 */
import { DataverseFault, faults } from './faults';
import type { Table } from './schema';
import { isLookupValue, type Row } from './store';

export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type Literal =
  | { type: 'string'; value: string } | { type: 'number'; value: number } | { type: 'boolean'; value: boolean }
  | { type: 'null' } | { type: 'guid'; value: string } | { type: 'datetime'; value: number; text: string };

export type FilterExpression =
  | { kind: 'and' | 'or'; left: FilterExpression; right: FilterExpression }
  | { kind: 'not'; operand: FilterExpression }
  | { kind: 'compare'; op: ComparisonOperator; property: string; literal: Literal }
  | { kind: 'call'; fn: 'contains' | 'startswith' | 'endswith'; property: string; value: string };

type Token = { t: 'ident'; v: string } | { t: 'literal'; v: Literal } | { t: '(' } | { t: ')' } | { t: ',' };

const syntax = (message: string) => new DataverseFault(400, '0x80060888', `Syntax error: ${message}`);

const tokenPatterns: [RegExp, (m: string) => Token][] = [
  [/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])/, (m) => ({ t: 'literal', v: { type: 'guid', value: m.toLowerCase() } })],
  [/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?(?![\w:])/, (m) => {
    const ms = Date.parse(/T/.test(m) ? m : `${m}T00:00:00Z`);
    if (Number.isNaN(ms)) throw syntax(`invalid date '${m}'`);
    return { t: 'literal', v: { type: 'datetime', value: ms, text: m } };
  }],
  [/^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDfFlL]?(?![\w.])/, (m) => ({ t: 'literal', v: { type: 'number', value: Number(m.replace(/[mMdDfFlL]$/, '')) } })],
  [/^[A-Za-z_][A-Za-z0-9_.]*/, (m) => (m === 'true' || m === 'false' ? { t: 'literal', v: { type: 'boolean', value: m === 'true' } }
    : m === 'null' ? { t: 'literal', v: { type: 'null' } } : { t: 'ident', v: m })],
];

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    if (c === '(' || c === ')' || c === ',') { out.push({ t: c }); i++; continue; }
    if (c === "'") {
      let value = '', j = i + 1;
      for (;;) {
        const q = text.indexOf("'", j);
        if (q < 0) throw syntax(`unterminated string literal at position ${i}`);
        value += text.slice(j, q);
        if (text[q + 1] === "'") { value += "'"; j = q + 2; continue; }
        i = q + 1;
        break;
      }
      out.push({ t: 'literal', v: { type: 'string', value } });
      continue;
    }
    const rest = text.slice(i);
    const hit = tokenPatterns.find(([re]) => re.test(rest));
    if (!hit) throw syntax(`unexpected character '${c}' at position ${i}`);
    const m = hit[0].exec(rest)![0];
    out.push(hit[1](m));
    i += m.length;
  }
  return out;
}

const comparison = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const functions = new Set(['contains', 'startswith', 'endswith']);

export function parseFilter(text: string): FilterExpression {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (w: string) => { const t = peek(); return t?.t === 'ident' && t.v.toLowerCase() === w; };
  const expect = (t: Token['t']) => { if (peek()?.t !== t) throw syntax(`expected '${t}' at token ${pos}`); pos++; };

  const parseOr = (): FilterExpression => {
    let left = parseAnd();
    while (isWord('or')) { pos++; left = { kind: 'or', left, right: parseAnd() }; }
    return left;
  };
  const parseAnd = (): FilterExpression => {
    let left = parseUnary();
    while (isWord('and')) { pos++; left = { kind: 'and', left, right: parseUnary() }; }
    return left;
  };
  const parseUnary = (): FilterExpression => {
    if (isWord('not')) { pos++; return { kind: 'not', operand: parseUnary() }; }
    const t = peek();
    if (t?.t === '(') { pos++; const e = parseOr(); expect(')'); return e; }
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
    if (op?.t !== 'ident' || !comparison.has(op.v.toLowerCase())) throw syntax(`expected a comparison operator after '${t.v}'`);
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

const edm: Record<string, string> = { String: 'Edm.String', Memo: 'Edm.String', Integer: 'Edm.Int32', BigInt: 'Edm.Int64',
  Decimal: 'Edm.Decimal', Money: 'Edm.Decimal', Double: 'Edm.Double', Boolean: 'Edm.Boolean', DateTime: 'Edm.DateTimeOffset',
  Picklist: 'Edm.Int32', State: 'Edm.Int32', Status: 'Edm.Int32', Uniqueidentifier: 'Edm.Guid', Lookup: 'Edm.Guid', Customer: 'Edm.Guid', Owner: 'Edm.Guid' };
const literalEdm: Record<Literal['type'], string> = { string: 'Edm.String', number: 'Edm.Int32', boolean: 'Edm.Boolean', null: 'null', guid: 'Edm.Guid', datetime: 'Edm.DateTimeOffset' };
const accepts: Record<string, Literal['type'][]> = {
  'Edm.String': ['string'], 'Edm.Int32': ['number'], 'Edm.Int64': ['number'], 'Edm.Decimal': ['number'], 'Edm.Double': ['number'],
  'Edm.Boolean': ['boolean'], 'Edm.DateTimeOffset': ['datetime'], 'Edm.Guid': ['guid'],
};

/** Checks property names and operand types against the table (Dataverse's URI parser does this up front). */
export function checkFilter(table: Table, e: FilterExpression): void {
  switch (e.kind) {
    case 'and': case 'or': checkFilter(table, e.left); checkFilter(table, e.right); return;
    case 'not': checkFilter(table, e.operand); return;
    case 'call': {
      const a = table.properties.get(e.property);
      if (!a) throw faults.unknownQueryProperty(e.property, table.logicalName);
      if (edm[a.type] !== 'Edm.String') throw faults.badQuery(`No function signature for the function with name '${e.fn}' matches the specified arguments.`);
      return;
    }
    case 'compare': {
      const a = table.properties.get(e.property);
      if (!a) throw faults.unknownQueryProperty(e.property, table.logicalName);
      const type = edm[a.type]!;
      if (e.literal.type !== 'null' && !accepts[type]!.includes(e.literal.type)) {
        const kind = { eq: 'Equal', ne: 'NotEqual', gt: 'GreaterThan', ge: 'GreaterThanOrEqual', lt: 'LessThan', le: 'LessThanOrEqual' }[e.op];
        throw faults.badQuery(`A binary operator with incompatible types was detected. Found operand types '${type}' and '${literalEdm[e.literal.type]}' for operator kind '${kind}'.`);
      }
    }
  }
}

/** A comparable form of a column value: lower-cased text, epoch ms for dates, ids for lookups. */
function comparable(v: unknown, literal: Literal): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (isLookupValue(v)) return v.id;
  if (literal.type === 'datetime' && typeof v === 'string') return Date.parse(/T/.test(v) ? v : `${v}T00:00:00Z`);
  if (typeof v === 'string') return v.toLowerCase();
  return v as number | boolean;
}
function literalValue(l: Literal): string | number | boolean | null {
  switch (l.type) {
    case 'null': return null;
    case 'string': return l.value.toLowerCase();
    default: return l.value;
  }
}

export function compile(table: Table, e: FilterExpression): (row: Row) => boolean {
  switch (e.kind) {
    case 'and': { const l = compile(table, e.left), r = compile(table, e.right); return (row) => l(row) && r(row); }
    case 'or': { const l = compile(table, e.left), r = compile(table, e.right); return (row) => l(row) || r(row); }
    case 'not': { const o = compile(table, e.operand); return (row) => !o(row); }
    case 'call': {
      const column = table.properties.get(e.property)!.logicalName;
      const needle = e.value.toLowerCase();
      return (row) => {
        const v = row[column];
        if (typeof v !== 'string') return false;
        const h = v.toLowerCase();
        return e.fn === 'contains' ? h.includes(needle) : e.fn === 'startswith' ? h.startsWith(needle) : h.endsWith(needle);
      };
    }
    case 'compare': {
      const column = table.properties.get(e.property)!.logicalName;
      const right = literalValue(e.literal);
      return (row) => {
        const left = comparable(row[column], e.literal);
        if (e.op === 'eq') return left === right;
        if (e.op === 'ne') return left !== right;
        if (left === null || right === null) return false; // SQL: comparisons with NULL are not true
        switch (e.op) {
          case 'gt': return left > right;
          case 'ge': return left >= right;
          case 'lt': return left < right;
          default: return left <= right;
        }
      };
    }
  }
}

/** Parses, checks and compiles `$filter` for a table. */
export function filterPredicate(table: Table, text: string): (row: Row) => boolean {
  const e = parseFilter(text);
  checkFilter(table, e);
  return compile(table, e);
}
