import fc from 'fast-check';
import { strToU8, zipSync } from 'fflate';
import { keyLookup, matchesFilter, parseFilter, type FilterNode, type Literal } from '../../../../dev/emulator/solutions/odataQuery';
import { readSolutionPackage, unmetRequirements } from '../../../../dev/emulator/solutions/solutionPackage';
import { buildSolutionZip, solutionXml } from '../../../../dev/emulator/solutions/solutionZip';

const field = fc.constantFrom('statecode', 'statuscode', 'name', 'asyncoperationid');
const literal: fc.Arbitrary<{ value: Literal; isGuid: boolean }> = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map((value) => ({ value, isGuid: false })),
  fc.boolean().map((value) => ({ value, isGuid: false })),
  fc.constant({ value: null, isGuid: false }),
  fc.string({ maxLength: 12 }).map((value) => ({ value, isGuid: false })),
  fc.uuid().map((value) => ({ value: value.toLowerCase(), isGuid: true })),
);
const comparison: fc.Arbitrary<FilterNode> = fc
  .record({ field, op: fc.constantFrom('eq', 'ne', 'gt', 'ge', 'lt', 'le'), literal })
  .map(({ field, op, literal }) => ({ kind: 'compare', field, op, ...literal }) as FilterNode);
const { filter } = fc.letrec<{ filter: FilterNode }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    comparison,
    fc.record({ kind: fc.constantFrom('and', 'or'), items: fc.array(tie('filter'), { minLength: 2, maxLength: 4 }) }) as fc.Arbitrary<FilterNode>,
    tie('filter').map((item) => ({ kind: 'not', item }) as FilterNode),
  ),
}));

/** Prints a filter with every composite operand in parentheses, so parsing must give back the same tree. */
function print(node: FilterNode): string {
  switch (node.kind) {
    case 'compare': {
      const v = node.value;
      const text = typeof v === 'string' && !node.isGuid ? `'${v.replace(/'/g, "''")}'` : String(v);
      return `${node.field} ${node.op} ${text}`;
    }
    case 'not':
      return `not (${print(node.item)})`;
    default:
      return node.items.map((item) => (item.kind === 'compare' ? print(item) : `(${print(item)})`)).join(` ${node.kind} `);
  }
}

describe('$filter parser', () => {
  test('parse(print(tree)) gives the tree back', () => {
    fc.assert(fc.property(filter, (tree) => expect(parseFilter(print(tree))).toEqual(tree)));
  });

  test('an or-chain of key comparisons is answered by lookup with exactly those keys, and matches the rows it names', () => {
    fc.assert(
      fc.property(fc.array(fc.uuid(), { minLength: 1, maxLength: 300 }), fc.uuid(), (ids, other) => {
        const tree = parseFilter(ids.map((id) => `asyncoperationid eq ${id.toUpperCase()}`).join(' or '));
        expect(keyLookup(tree, 'asyncoperationid')).toEqual(ids.map((id) => id.toLowerCase()));
        expect(matchesFilter(tree, { asyncoperationid: ids[0]!.toLowerCase() })).toBe(true);
        expect(matchesFilter(tree, { asyncoperationid: other })).toBe(ids.some((id) => id.toLowerCase() === other.toLowerCase()));
      }),
    );
  });

  test('anything that is not a key chain is not answered by lookup', () => {
    expect(keyLookup(parseFilter('statecode eq 3'), 'asyncoperationid')).toBeUndefined();
    expect(keyLookup(parseFilter(`asyncoperationid eq ${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)} and statecode eq 3`), 'asyncoperationid')).toBeUndefined();
  });

  test('malformed filters throw a syntax error, never something else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        try {
          parseFilter(text);
        } catch (error) {
          expect((error as Error).name).toBe('ODataQueryError');
        }
      }),
    );
  });
});

const uniqueName = fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/);
const version = fc.array(fc.integer({ min: 0, max: 9999 }), { minLength: 2, maxLength: 4 }).map((parts) => parts.join('.'));

describe('solution package', () => {
  test('buildSolutionZip and readSolutionPackage agree on the manifest, including names with XML characters', () => {
    fc.assert(
      fc.property(
        uniqueName,
        version,
        fc.boolean(),
        fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() === s && s.trim() !== ''),
        fc.array(fc.record({ solution: uniqueName, schemaName: uniqueName }), { maxLength: 4 }),
        (name, v, managed, friendlyName, dependencies) => {
          const pkg = readSolutionPackage(buildSolutionZip({ uniqueName: name, version: v, managed, friendlyName, missingDependencies: dependencies }));
          expect(pkg).toEqual({
            ok: true,
            manifest: expect.objectContaining({
              uniqueName: name,
              version: v,
              managed,
              friendlyName,
              requires: dependencies.map((d) => expect.objectContaining({ solution: d.solution, schemaName: d.schemaName })),
            }),
          });
        },
      ),
    );
  });

  test('arbitrary bytes never throw: they are a failure with a Dataverse error code', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const pkg = readSolutionPackage(bytes);
        if (!pkg.ok) expect(pkg.failure.code).toMatch(/^0x8004/);
      }),
    );
  });

  test('arbitrary solution.xml text never throws', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (xml) => {
        const pkg = readSolutionPackage(zipSync({ 'solution.xml': strToU8(xml), 'customizations.xml': strToU8('<x/>') }));
        expect(pkg.ok).toBe(false);
      }),
    );
  });

  test('a manifest without a version, or with an invalid one, is rejected with the element named', () => {
    const xml = solutionXml({ uniqueName: 'a', version: 'one' });
    const pkg = readSolutionPackage(zipSync({ 'solution.xml': strToU8(xml), 'customizations.xml': strToU8('<x/>') }));
    expect(pkg).toEqual({ ok: false, failure: { code: '0x80048033', message: expect.stringContaining("<Version> 'one'") } });
  });

  test('requirements on built-in solutions are met; versioned requirements compare numerically', () => {
    const pkg = readSolutionPackage(
      buildSolutionZip({ uniqueName: 'a', missingDependencies: ['Active', { solution: 'base', version: '1.10.0.0' }] }),
    );
    if (!pkg.ok) throw new Error('expected a valid package');
    expect(unmetRequirements(pkg.manifest, new Map([['base', '1.9.0.0']]))).toHaveLength(1);
    expect(unmetRequirements(pkg.manifest, new Map([['base', '1.10.0.0']]))).toHaveLength(0);
  });
});
