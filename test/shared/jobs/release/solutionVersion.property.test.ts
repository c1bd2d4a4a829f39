import fc from 'fast-check';
import {
  compareVersions,
  formatVersion,
  packageVersionSchema,
  parseInstalledVersion,
  parsePackageVersion,
  type SolutionVersion,
} from '../../../../shared/jobs/release/solutionVersion';

const part = fc.integer({ min: 0, max: 2_147_483_647 });
const version = fc.tuple(part, part, part, part) as fc.Arbitrary<SolutionVersion>;
const lexicographic = (a: SolutionVersion, b: SolutionVersion): number => {
  const i = a.findIndex((x, k) => x !== b[k]);
  return i < 0 ? 0 : a[i]! < b[i]! ? -1 : 1;
};

describe('solution versions', () => {
  test('format and parse round-trip; comparison is the numeric order of the four parts, not the text order', () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(parsePackageVersion(formatVersion(a))).toEqual(a);
        expect(compareVersions(a, b)).toBe(lexicographic(a, b));
        expect(compareVersions(b, a)).toBe(-compareVersions(a, b));
      }),
    );
    expect(compareVersions(parsePackageVersion('1.10.0.0')!, parsePackageVersion('1.9.0.0')!)).toBe(1);
  });

  test('comparison is transitive, so sorting by it is consistent', () => {
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0)
          expect(compareVersions(a, c)).toBeLessThanOrEqual(0);
      }),
    );
  });

  test('a package version has exactly four whole numbers; installed versions may have two to four', () => {
    for (const bad of [
      '1.0.0',
      '1.0.0.0.0',
      '1.0.0.a',
      '1..0.0',
      '-1.0.0.0',
      ' 1.0.0.0',
      '1.0.0.2147483648',
      '',
      'v1.0.0.0',
    ]) {
      expect(parsePackageVersion(bad)).toBeUndefined();
      expect(packageVersionSchema.safeParse(bad).success).toBe(false);
    }
    expect(parseInstalledVersion('1.0')).toEqual([1, 0, 0, 0]);
    expect(parseInstalledVersion('1')).toBeUndefined();
    expect(parsePackageVersion('1.01.0.0')).toEqual([1, 1, 0, 0]);
    fc.assert(
      fc.property(fc.string(), (text) => {
        const parsed = parsePackageVersion(text);
        if (parsed) expect(text.split('.')).toHaveLength(4);
      }),
    );
  });
});
