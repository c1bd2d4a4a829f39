import fc from 'fast-check';
import {
  decideImport,
  importDecisionOptionsSchema,
  importModes,
  type ImportDecisionOptions,
} from '../../../../shared/jobs/release/importDecision';
import {
  readInstalledSolutions,
  targetStateOf,
  type InstalledSolutions,
} from '../../../../shared/jobs/release/installedSolutions';
import { compareVersions, parsePackageVersion } from '../../../../shared/jobs/release/solutionVersion';

const pkg = (versionText: string, managed = true) => ({
  uniqueName: 'contoso_Core',
  versionText,
  version: parsePackageVersion(versionText)!,
  managed,
});
const row = (uniquename: string, version: string, ismanaged = true) => ({
  solutionid: `00000000-0000-0000-0000-${String(uniquename.length).padStart(12, '0')}`,
  uniquename,
  version,
  ismanaged,
});
const installed = (...rows: ReturnType<typeof row>[]): InstalledSolutions => {
  const read = readInstalledSolutions({ value: rows });
  if (!read.ok) throw new Error(read.problems[0]!.message);
  return read.value;
};
const options = (o: Partial<ImportDecisionOptions> = {}): ImportDecisionOptions => importDecisionOptionsSchema.parse(o);
const decide = (p: ReturnType<typeof pkg>, target: InstalledSolutions, o: Partial<ImportDecisionOptions> = {}) =>
  decideImport(p, targetStateOf(target, p.uniqueName), options(o));

describe('import decision', () => {
  test('not installed: install with a plain import, whatever the mode (StageAndUpgrade fails on a first install)', () => {
    for (const mode of importModes) {
      const d = decide(pkg('1.0.0.0'), installed(), { mode });
      expect(d).toMatchObject({
        action: 'install',
        steps: [{ message: 'ImportSolutionAsync', holdingSolution: false }],
      });
      expect(d.reason).toContain('contoso_Core is not installed');
    }
    expect(decide(pkg('1.0.0.0'), installed(), { mode: 'upgrade' }).reason).toContain(
      'first install is a plain import',
    );
  });

  test('same or older version: skip with the versions in the reason, unless force', () => {
    const target = installed(row('contoso_Core', '1.2.0.0'));
    expect(decide(pkg('1.2.0.0'), target)).toMatchObject({
      action: 'skip',
      steps: [],
      installedVersion: '1.2.0.0',
      reason:
        'contoso_Core 1.2.0.0 is the same version as the installed 1.2.0.0: nothing to import (force: true imports it anyway).',
    });
    expect(decide(pkg('1.1.9.0'), target).reason).toContain('older than the installed 1.2.0.0');
    expect(decide(pkg('1.2.0.0'), target, { force: true })).toMatchObject({ action: 'update' });
    expect(decide(pkg('1.2.0.0'), target, { force: true, mode: 'upgrade' })).toMatchObject({
      action: 'upgrade',
      steps: [{ message: 'StageAndUpgradeAsync' }],
    });
  });

  test('managed and newer: auto upgrades (StageAndUpgrade); update and holding modes pin the kind of import', () => {
    const target = installed(row('contoso_Core', '1.2.0.0'));
    expect(decide(pkg('1.10.0.0'), target)).toMatchObject({
      action: 'upgrade',
      steps: [{ message: 'StageAndUpgradeAsync' }],
    });
    expect(decide(pkg('1.10.0.0'), target, { mode: 'update' })).toMatchObject({
      action: 'update',
      steps: [{ message: 'ImportSolutionAsync', holdingSolution: false }],
    });
    expect(decide(pkg('1.10.0.0'), target, { mode: 'holding' })).toMatchObject({
      action: 'holding',
      steps: [{ message: 'ImportSolutionAsync', holdingSolution: true }],
    });
  });

  test('unmanaged: update in place; upgrade or holding of an unmanaged package is refused', () => {
    const target = installed(row('contoso_Core', '1.0.0.0', false));
    expect(decide(pkg('2.0.0.0', false), target)).toMatchObject({ action: 'update' });
    expect(decide(pkg('2.0.0.0', false), target, { mode: 'upgrade' })).toMatchObject({
      action: 'reject',
      refusal: 'UpgradeNeedsManaged',
    });
  });

  test('managed over unmanaged (or the reverse) is refused before Dataverse refuses it', () => {
    const d = decide(pkg('2.0.0.0', true), installed(row('contoso_Core', '1.0.0.0', false)));
    expect(d).toMatchObject({ action: 'reject', refusal: 'ManagedModeMismatch' });
    expect(d.reason).toContain('installed as a unmanaged solution and the package is managed');
    expect(decide(pkg('2.0.0.0', false), installed(row('contoso_Core', '1.0.0.0', true)))).toMatchObject({
      refusal: 'ManagedModeMismatch',
    });
  });

  test('a half-done upgrade is refused naming the holding solution, or finished first with finishUpgrade', () => {
    const target = installed(row('contoso_Core', '1.0.0.0'), row('contoso_Core_Upgrade', '2.0.0.0'));
    const refused = decide(pkg('3.0.0.0'), target);
    expect(refused).toMatchObject({ action: 'reject', refusal: 'UpgradePending' });
    expect(refused.reason).toContain('contoso_Core_Upgrade 2.0.0.0');
    expect(decide(pkg('3.0.0.0'), target, { finishUpgrade: true })).toMatchObject({
      action: 'upgrade',
      installedVersion: '2.0.0.0',
      steps: [{ message: 'DeleteAndPromoteAsync', uniqueName: 'contoso_Core' }, { message: 'StageAndUpgradeAsync' }],
    });
    // The package is the version being promoted: finishing the upgrade is all there is to do.
    const finishOnly = decide(pkg('2.0.0.0'), target, { finishUpgrade: true });
    expect(finishOnly).toMatchObject({ action: 'skip', steps: [{ message: 'DeleteAndPromoteAsync' }] });
    expect(finishOnly.reason).toMatch(/^The pending upgrade to 2\.0\.0\.0 \(contoso_Core_Upgrade\) is finished first/);
  });

  test('options come from outside: zod fills defaults and rejects unknown modes', () => {
    expect(importDecisionOptionsSchema.parse({})).toEqual({ mode: 'auto', force: false, finishUpgrade: false });
    expect(importDecisionOptionsSchema.safeParse({ mode: 'stage' }).success).toBe(false);
  });

  test('properties: skip exactly when installed in the same mode at the same or a newer version without force; steps match the action', () => {
    const part = fc.integer({ min: 0, max: 5 });
    const version = fc.tuple(part, part, part, part).map((p) => p.join('.'));
    fc.assert(
      fc.property(
        version,
        fc.boolean(),
        fc.option(fc.tuple(version, fc.boolean()), { nil: undefined }),
        fc.constantFrom(...importModes),
        fc.boolean(),
        (v, managed, there, mode, force) => {
          const p = pkg(v, managed);
          const target = there ? installed(row('contoso_Core', there[0], there[1])) : installed();
          const d = decide(p, target, { mode, force });
          const sameMode = there !== undefined && there[1] === managed;
          const notNewer = there !== undefined && compareVersions(p.version, parsePackageVersion(there[0])!) <= 0;
          expect(d.action === 'skip').toBe(sameMode && notNewer && !force);
          if (!there) expect(d.action).toBe('install');
          if (there && !sameMode) expect(d.action).toBe('reject');
          if (d.action === 'reject' || d.action === 'skip') return;
          const last = d.steps[d.steps.length - 1]!;
          expect(last.message).toBe(d.action === 'upgrade' ? 'StageAndUpgradeAsync' : 'ImportSolutionAsync');
          if (last.message === 'ImportSolutionAsync') expect(last.holdingSolution).toBe(d.action === 'holding');
          expect(d.reason.length).toBeGreaterThan(0);
        },
      ),
    );
  });
});
