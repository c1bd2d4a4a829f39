import { expect } from '@jest/globals';
import fc from 'fast-check';
import { strToU8, zipSync } from 'fflate';
import { readSolutionPackage, unmetRequirements } from '../../../../dev/emulator/solutions/solutionPackage';
import { buildSolutionZip, solutionXml } from '../../../../dev/emulator/solutions/solutionZip';

const uniqueName = fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/);
const version = fc
  .array(fc.integer({ min: 0, max: 9999 }), { minLength: 2, maxLength: 4 })
  .map((parts) => parts.join('.'));

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
          const pkg = readSolutionPackage(
            buildSolutionZip({
              uniqueName: name,
              version: v,
              managed,
              friendlyName,
              missingDependencies: dependencies,
            }),
          );
          expect(pkg).toEqual({
            ok: true,
            manifest: expect.objectContaining({
              uniqueName: name,
              version: v,
              managed,
              friendlyName,
              requires: dependencies.map((d) =>
                expect.objectContaining({ solution: d.solution, schemaName: d.schemaName }),
              ),
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
        const pkg = readSolutionPackage(
          zipSync({ 'solution.xml': strToU8(xml), 'customizations.xml': strToU8('<x/>') }),
        );
        expect(pkg.ok).toBe(false);
      }),
    );
  });

  test('a manifest without a version, or with an invalid one, is rejected with the element named', () => {
    const xml = solutionXml({ uniqueName: 'a', version: 'one' });
    const pkg = readSolutionPackage(zipSync({ 'solution.xml': strToU8(xml), 'customizations.xml': strToU8('<x/>') }));
    expect(pkg).toEqual({
      ok: false,
      failure: { code: '0x80048033', message: expect.stringContaining("<Version> 'one'") },
    });
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
