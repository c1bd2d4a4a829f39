import fc from 'fast-check';
import { defaultSchema } from '../../../../dev/emulator/records/defaultSchema';
import {
  compileFilter,
  equalityChain,
  parseFilter,
  tokenize,
  type FilterExpression,
  type Literal,
} from '../../../../dev/emulator/odata/filter';
import { filterPredicate } from '../../../../dev/emulator/records/query';
import { compileSchema } from '../../../../dev/emulator/records/schema';
import { DataverseFault } from '../../../../dev/emulator/types';

const account = compileSchema(defaultSchema).tables.get('account')!;

type Row = { name: string | null; numberofemployees: number | null; creditonhold: boolean | null };
interface Generated {
  text: string;
  holds: (r: Row) => boolean;
}

const ops = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'] as const;
type Op = (typeof ops)[number];
/** The reference semantics, written independently: SQL three-valued logic collapsed to false, case-insensitive text. */
function reference(op: Op, left: string | number | boolean | null, right: string | number | boolean | null): boolean {
  const l = typeof left === 'string' ? left.toLowerCase() : left;
  const r = typeof right === 'string' ? right.toLowerCase() : right;
  if (op === 'eq') return l === r;
  if (op === 'ne') return l !== r;
  if (l === null || r === null) return false;
  return op === 'gt' ? l > r : op === 'ge' ? l >= r : op === 'lt' ? l < r : l <= r;
}

const text = fc.string({ unit: fc.constantFrom('a', 'B', "'", ' ', '(', ')', 'é', ','), maxLength: 6 });
const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

const comparison: fc.Arbitrary<Generated> = fc.oneof(
  fc.tuple(fc.constantFrom(...ops), fc.option(text, { nil: null })).map(([op, v]): Generated => ({
    text: `name ${op} ${v === null ? 'null' : quote(v)}`,
    holds: (r) => reference(op, r.name, v),
  })),
  fc
    .tuple(fc.constantFrom(...ops), fc.option(fc.integer({ min: -50, max: 50 }), { nil: null }))
    .map(([op, v]): Generated => ({
      text: `numberofemployees ${op} ${v === null ? 'null' : String(v)}`,
      holds: (r) => reference(op, r.numberofemployees, v),
    })),
  fc.tuple(fc.constantFrom('eq', 'ne'), fc.option(fc.boolean(), { nil: null })).map(([op, v]): Generated => ({
    text: `creditonhold ${op} ${v === null ? 'null' : String(v)}`,
    holds: (r) => reference(op, r.creditonhold, v),
  })),
  fc.tuple(fc.constantFrom('contains', 'startswith', 'endswith'), text).map(([fn, v]): Generated => ({
    text: `${fn}(name,${quote(v)})`,
    holds: (r) =>
      r.name !== null &&
      (fn === 'contains'
        ? r.name.toLowerCase().includes(v.toLowerCase())
        : fn === 'startswith'
          ? r.name.toLowerCase().startsWith(v.toLowerCase())
          : r.name.toLowerCase().endsWith(v.toLowerCase())),
  })),
);

const expression: fc.Arbitrary<Generated> = fc.letrec<{ e: Generated }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    comparison,
    fc.tuple(tie('e'), fc.constantFrom('and', 'or'), tie('e')).map(([a, op, b]): Generated => ({
      text: `(${a.text}) ${op} (${b.text})`,
      holds: op === 'and' ? (r) => a.holds(r) && b.holds(r) : (r) => a.holds(r) || b.holds(r),
    })),
    tie('e').map((a): Generated => ({ text: `not (${a.text})`, holds: (r) => !a.holds(r) })),
  ),
})).e;

const row: fc.Arbitrary<Row> = fc.record({
  name: fc.option(text, { nil: null }),
  numberofemployees: fc.option(fc.integer({ min: -50, max: 50 }), { nil: null }),
  creditonhold: fc.option(fc.boolean(), { nil: null }),
});

describe('$filter on records (typed against the table)', () => {
  it('evaluates every generated expression like the reference predicate', () => {
    fc.assert(
      fc.property(expression, fc.array(row, { maxLength: 8 }), (e, rows) => {
        const predicate = filterPredicate(account, e.text);
        for (const r of rows) expect(predicate(r)).toBe(e.holds(r));
      }),
      { numRuns: 400 },
    );
  });

  it("round-trips string literals with '' escaping", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const tokens = tokenize(quote(s));
        expect(tokens).toEqual([{ t: 'literal', v: { type: 'string', value: s } }]);
      }),
    );
  });

  it('gives and precedence over or, and parses guids, dates and negative numbers', () => {
    expect(parseFilter('a eq 1 or b eq 2 and c eq 3')).toMatchObject({
      kind: 'or',
      items: [{ kind: 'compare' }, { kind: 'and' }],
    });
    expect(tokenize('00000000-0000-0000-0000-00000000000A')).toEqual([
      { t: 'literal', v: { type: 'guid', value: '00000000-0000-0000-0000-00000000000a' } },
    ]);
    expect(tokenize('2024-02-03')[0]).toMatchObject({ v: { type: 'datetime', value: Date.UTC(2024, 1, 3) } });
    expect(tokenize('-12.5')).toEqual([{ t: 'literal', v: { type: 'number', value: -12.5 } }]);
  });

  it('refuses malformed input with a 400 fault, never an exception of another kind', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (s) => {
        try {
          filterPredicate(account, s);
        } catch (error) {
          expect(error).toBeInstanceOf(DataverseFault);
          expect((error as DataverseFault).status).toBe(400);
        }
      }),
      { numRuns: 500 },
    );
  });
});

const field = fc.constantFrom('statecode', 'statuscode', 'name', 'asyncoperationid');
const literal: fc.Arbitrary<Literal> = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map((value): Literal => ({ type: 'number', value })),
  fc.boolean().map((value): Literal => ({ type: 'boolean', value })),
  fc.constant<Literal>({ type: 'null' }),
  fc.string({ maxLength: 12 }).map((value): Literal => ({ type: 'string', value })),
  fc.uuid().map((value): Literal => ({ type: 'guid', value: value.toLowerCase() })),
);
const compare: fc.Arbitrary<FilterExpression> = fc
  .record({ property: field, op: fc.constantFrom('eq', 'ne', 'gt', 'ge', 'lt', 'le'), literal })
  .map(({ property, op, literal }): FilterExpression => ({ kind: 'compare', op, property, literal }));
const { tree } = fc.letrec<{ tree: FilterExpression }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    compare,
    fc.record({
      kind: fc.constantFrom('and', 'or'),
      items: fc.array(tie('tree'), { minLength: 2, maxLength: 4 }),
    }) as fc.Arbitrary<FilterExpression>,
    tie('tree').map((operand): FilterExpression => ({ kind: 'not', operand })),
  ),
}));

const printLiteral = (l: Literal): string =>
  l.type === 'null' ? 'null' : l.type === 'string' ? quote(l.value) : l.type === 'datetime' ? l.text : String(l.value);
/** Prints a filter with every composite operand in parentheses, so parsing must give back the same tree. */
function print(e: FilterExpression): string {
  switch (e.kind) {
    case 'compare':
      return `${e.property} ${e.op} ${printLiteral(e.literal)}`;
    case 'call':
      return `${e.fn}(${e.property},${quote(e.value)})`;
    case 'not':
      return `not (${print(e.operand)})`;
    default:
      return e.items.map((item) => (item.kind === 'compare' ? print(item) : `(${print(item)})`)).join(` ${e.kind} `);
  }
}
const identity = (property: string) => property;

describe('$filter syntax (shared by records and solution entity sets)', () => {
  it('parse(print(tree)) gives the tree back', () => {
    fc.assert(fc.property(tree, (t) => expect(parseFilter(print(t))).toEqual(t)));
  });

  it('an or-chain of key comparisons is an equality chain with exactly those keys, and matches the rows it names', () => {
    fc.assert(
      fc.property(fc.array(fc.uuid(), { minLength: 1, maxLength: 300 }), fc.uuid(), (ids, other) => {
        const e = parseFilter(ids.map((id) => `asyncoperationid eq ${id.toUpperCase()}`).join(' or '));
        expect(equalityChain(e)).toEqual({
          property: 'asyncoperationid',
          literals: ids.map((id) => ({ type: 'guid', value: id.toLowerCase() })),
        });
        const predicate = compileFilter(e, identity);
        expect(predicate({ asyncoperationid: ids[0]!.toLowerCase() })).toBe(true);
        expect(predicate({ asyncoperationid: other })).toBe(ids.some((id) => id.toLowerCase() === other.toLowerCase()));
      }),
    );
  });

  it('an or-chain of text comparisons matches like the term-by-term reference (case-insensitive, nulls never equal)', () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 2, maxLength: 40 }), fc.option(text, { nil: null }), (values, value) => {
        const predicate = compileFilter(parseFilter(values.map((v) => `name eq ${quote(v)}`).join(' or ')), identity);
        expect(predicate({ name: value })).toBe(values.some((v) => reference('eq', value, v)));
      }),
    );
  });

  it('anything that is not one eq chain on one property is not an equality chain', () => {
    const id = '00000000-0000-0000-0000-000000000000';
    expect(equalityChain(parseFilter('statecode gt 3'))).toBeUndefined();
    expect(equalityChain(parseFilter(`asyncoperationid eq ${id} and statecode eq 3`))).toBeUndefined();
    expect(equalityChain(parseFilter(`asyncoperationid eq ${id} or statecode eq 3`))).toBeUndefined();
    expect(equalityChain(parseFilter(`asyncoperationid eq ${id} or asyncoperationid eq null`))).toBeUndefined();
    expect(equalityChain(parseFilter(`name eq 'a' or name eq 1`))).toBeUndefined();
  });

  it('a chain of 20,000 terms parses and evaluates without deep recursion; absurd nesting is a 400, not a stack overflow', () => {
    const e = parseFilter(Array.from({ length: 20_000 }, (_, i) => `n eq ${i}`).join(' or '));
    expect(e).toMatchObject({ kind: 'or' });
    expect(
      compileFilter(
        {
          kind: 'or',
          items: [
            ...(e as { items: FilterExpression[] }).items,
            { kind: 'compare', op: 'gt', property: 'n', literal: { type: 'number', value: 1e9 } },
          ],
        },
        identity,
      )({ n: 19_999 }),
    ).toBe(true);
    expect(() => parseFilter(`${'('.repeat(5000)}n eq 1${')'.repeat(5000)}`)).toThrow(DataverseFault);
  });

  it('malformed filters throw a 400 DataverseFault, never something else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        try {
          parseFilter(s);
        } catch (error) {
          expect(error).toBeInstanceOf(DataverseFault);
          expect((error as DataverseFault).status).toBe(400);
        }
      }),
    );
  });
});
