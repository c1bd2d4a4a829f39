import fc from 'fast-check';
import { defaultSchema } from '../../../../dev/emulator/records/defaultSchema';
import { filterPredicate, parseFilter, tokenize } from '../../../../dev/emulator/records/filter';
import { compileSchema } from '../../../../dev/emulator/records/schema';
import { DataverseFault } from '../../../../dev/emulator/records/faults';

const account = compileSchema(defaultSchema).tables.get('account')!;

type Row = { name: string | null; numberofemployees: number | null; creditonhold: boolean | null };
interface Generated { text: string; holds: (r: Row) => boolean }

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
    text: `name ${op} ${v === null ? 'null' : quote(v)}`, holds: (r) => reference(op, r.name, v),
  })),
  fc.tuple(fc.constantFrom(...ops), fc.option(fc.integer({ min: -50, max: 50 }), { nil: null })).map(([op, v]): Generated => ({
    text: `numberofemployees ${op} ${v === null ? 'null' : String(v)}`, holds: (r) => reference(op, r.numberofemployees, v),
  })),
  fc.tuple(fc.constantFrom('eq', 'ne'), fc.option(fc.boolean(), { nil: null })).map(([op, v]): Generated => ({
    text: `creditonhold ${op} ${v === null ? 'null' : String(v)}`, holds: (r) => reference(op as Op, r.creditonhold, v),
  })),
  fc.tuple(fc.constantFrom('contains', 'startswith', 'endswith'), text).map(([fn, v]): Generated => ({
    text: `${fn}(name,${quote(v)})`,
    holds: (r) => r.name !== null && (fn === 'contains' ? r.name.toLowerCase().includes(v.toLowerCase())
      : fn === 'startswith' ? r.name.toLowerCase().startsWith(v.toLowerCase()) : r.name.toLowerCase().endsWith(v.toLowerCase())),
  })),
);

const expression: fc.Arbitrary<Generated> = fc.letrec<{ e: Generated }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    comparison,
    fc.tuple(tie('e'), fc.constantFrom('and', 'or'), tie('e')).map(([a, op, b]): Generated => ({
      text: `(${a.text}) ${op} (${b.text})`, holds: op === 'and' ? (r) => a.holds(r) && b.holds(r) : (r) => a.holds(r) || b.holds(r),
    })),
    tie('e').map((a): Generated => ({ text: `not (${a.text})`, holds: (r) => !a.holds(r) })),
  ),
})).e;

const row: fc.Arbitrary<Row> = fc.record({
  name: fc.option(text, { nil: null }),
  numberofemployees: fc.option(fc.integer({ min: -50, max: 50 }), { nil: null }),
  creditonhold: fc.option(fc.boolean(), { nil: null }),
});

describe('$filter', () => {
  it('evaluates every generated expression like the reference predicate', () => {
    fc.assert(fc.property(expression, fc.array(row, { maxLength: 8 }), (e, rows) => {
      const predicate = filterPredicate(account, e.text);
      for (const r of rows) expect(predicate(r)).toBe(e.holds(r));
    }), { numRuns: 400 });
  });

  it("round-trips string literals with '' escaping", () => {
    fc.assert(fc.property(fc.string(), (s) => {
      const tokens = tokenize(quote(s));
      expect(tokens).toEqual([{ t: 'literal', v: { type: 'string', value: s } }]);
    }));
  });

  it('gives and precedence over or, and parses guids, dates and negative numbers', () => {
    expect(parseFilter("a eq 1 or b eq 2 and c eq 3")).toMatchObject({ kind: 'or', right: { kind: 'and' } });
    expect(tokenize('00000000-0000-0000-0000-00000000000A')).toEqual([{ t: 'literal', v: { type: 'guid', value: '00000000-0000-0000-0000-00000000000a' } }]);
    expect(tokenize('2024-02-03')[0]).toMatchObject({ v: { type: 'datetime', value: Date.UTC(2024, 1, 3) } });
    expect(tokenize('-12.5')).toEqual([{ t: 'literal', v: { type: 'number', value: -12.5 } }]);
  });

  it('refuses malformed input with a 400 fault, never an exception of another kind', () => {
    fc.assert(fc.property(fc.string({ maxLength: 30 }), (s) => {
      try {
        filterPredicate(account, s);
      } catch (error) {
        expect(error).toBeInstanceOf(DataverseFault);
        expect((error as DataverseFault).status).toBe(400);
      }
    }), { numRuns: 500 });
  });
});
