import fc from 'fast-check';
import { readInstalledSolutions, type InstalledSolutions } from '../../../../shared/jobs/release/installedSolutions';
import { namesToLookUp, orderRelease, type ReleaseEntry } from '../../../../shared/jobs/release/releaseOrder';
import { parseInstalledVersion, parsePackageVersion } from '../../../../shared/jobs/release/solutionVersion';

const entry = (name: string, requires: Array<string | [string, string]> = [], version = '1.0.0.0'): ReleaseEntry => ({
  file: `${name}.zip`,
  contents: {
    uniqueName: name,
    versionText: version,
    version: parsePackageVersion(version)!,
    dependencies: requires.map((r) =>
      typeof r === 'string'
        ? { solution: r, components: [`${r}_table`] }
        : { solution: r[0], minVersion: parseInstalledVersion(r[1])!, components: [] },
    ),
  },
});
const none: InstalledSolutions = new Map();
const installed = (...rows: Array<[string, string]>): InstalledSolutions => {
  const read = readInstalledSolutions({
    value: rows.map(([uniquename, version]) => ({ solutionid: uniquename, uniquename, version, ismanaged: true })),
  });
  if (!read.ok) throw new Error('bad rows');
  return read.value;
};
const names = (r: ReturnType<typeof orderRelease>) => (r.ok ? r.value.map((e) => e.contents.uniqueName) : r.problems);

/** A random DAG over n solutions: i may require j only when j was drawn earlier in a hidden order. */
const dag = fc.integer({ min: 1, max: 9 }).chain((n) =>
  fc
    .tuple(
      fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
      fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 20 }),
    )
    .map(([hidden, pairs]) => {
      const rank = new Map(hidden.map((node, r) => [node, r]));
      const requires: string[][] = Array.from({ length: n }, () => []);
      for (const [a, b] of pairs) {
        if (rank.get(a)! > rank.get(b)!) requires[a]!.push(`s${b}`);
      }
      return Array.from({ length: n }, (_, i) => entry(`s${i}`, requires[i]));
    }),
);

describe('release order', () => {
  test('every solution comes after the solutions of the release it requires', () => {
    fc.assert(
      fc.property(dag, (entries) => {
        const result = orderRelease(entries, none);
        if (!result.ok) throw new Error(result.problems[0]!.message);
        expect(result.value).toHaveLength(entries.length);
        const position = new Map(result.value.map((e, i) => [e.contents.uniqueName, i]));
        for (const e of entries) {
          for (const d of e.contents.dependencies) {
            expect(position.get(d.solution)!).toBeLessThan(position.get(e.contents.uniqueName)!);
          }
        }
      }),
    );
  });

  test('stable: independent solutions keep the order given, and each step takes the earliest given that is ready', () => {
    fc.assert(
      fc.property(dag, (entries) => {
        const result = orderRelease(entries, none);
        if (!result.ok) throw new Error('expected an order');
        const placed = new Set<string>();
        for (const e of result.value) {
          const ready = entries.find(
            (c) => !placed.has(c.contents.uniqueName) && c.contents.dependencies.every((d) => placed.has(d.solution)),
          )!;
          expect(e).toBe(ready);
          placed.add(e.contents.uniqueName);
        }
      }),
    );
    const free = ['c', 'a', 'b'].map((n) => entry(n));
    expect(names(orderRelease(free, none))).toEqual(['c', 'a', 'b']);
    expect(names(orderRelease([entry('app', ['base']), entry('base')], none))).toEqual(['base', 'app']);
  });

  test('a cycle is reported naming the solutions in it; nothing is ordered', () => {
    const result = orderRelease(
      [entry('x'), entry('a', ['b']), entry('b', ['c']), entry('c', ['a']), entry('d', ['a'])],
      none,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems).toHaveLength(1);
      expect(result.problems[0]).toMatchObject({ code: 'DependencyCycle', item: 'a' });
      expect(result.problems[0]!.message).toContain('(a requires b requires c requires a)');
    }
    // A solution naming itself is not a cycle (solution.xml never lists its own components as missing).
    expect(names(orderRelease([entry('self', ['self'])], none))).toEqual(['self']);
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), (n) => {
        const ring = Array.from({ length: n }, (_, i) => entry(`r${i}`, [`r${(i + 1) % n}`]));
        const r = orderRelease(ring, none);
        return !r.ok && r.problems.some((p) => p.code === 'DependencyCycle');
      }),
    );
  });

  test('duplicates, missing dependencies and versions too low are all reported at once, naming files and solutions', () => {
    const result = orderRelease(
      [
        entry('core', [['msdyn_Base', '9.0.0.0']], '2.0.0.0'),
        entry('app', ['core', 'contoso_Missing', ['lib', '3.0.0.0']]),
        entry('lib', [], '2.5.0.0'),
        { ...entry('CORE'), file: 'again/core.zip' },
      ],
      installed(['msdyn_Base', '8.1']),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => [p.code, p.file, p.item])).toEqual([
      ['DuplicateSolution', 'again/core.zip', 'CORE'],
      ['MissingDependency', 'core.zip', 'msdyn_Base'],
      ['MissingDependency', 'app.zip', 'contoso_Missing'],
      ['MissingDependency', 'app.zip', 'lib'],
    ]);
    expect(result.problems[1]!.message).toContain('requires msdyn_Base 9.0.0.0 or later; the target has 8.1');
    expect(result.problems[2]!.message).toContain('neither in the release nor installed in the target');
    expect(result.problems[3]!.message).toContain('the release has 2.5.0.0 (lib.zip)');
  });

  test('a dependency installed in the target is enough; namesToLookUp lists the release and what it requires', () => {
    const entries = [entry('app', ['msdyn_Base', 'core']), entry('core', ['MSDYN_base'])];
    expect(names(orderRelease(entries, installed(['msdyn_Base', '1.0.0.0'])))).toEqual(['core', 'app']);
    expect(namesToLookUp(entries)).toEqual(['app', 'msdyn_Base', 'core']);
  });
});
