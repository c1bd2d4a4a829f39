/**
 * The release core's decisions carried out against the emulator: the query it builds is answered, the answer
 * reads back, the ordered steps are accepted and leave the target as the decision said. Stands in for the job
 * flow the wiring step adds; no storage involved.
 */
import {
  buildSolutionZip,
  buildSolutionZipBase64,
  type SolutionZipOptions,
} from '../../../../dev/emulator/solutions/solutionZip';
import { setupSolutionEmulator } from '../../../dev/emulator/solutions/solutionEmulatorHarness';
import {
  decideImport,
  importDecisionOptionsSchema,
  type ImportDecisionOptions,
} from '../../../../shared/jobs/release/importDecision';
import {
  installedSolutionsQuery,
  readInstalledSolutions,
  targetStateOf,
} from '../../../../shared/jobs/release/installedSolutions';
import { namesToLookUp, orderRelease, type ReleaseEntry } from '../../../../shared/jobs/release/releaseOrder';
import { readSolutionContents, type SolutionContents } from '../../../../shared/jobs/release/solutionContents';

interface Zip {
  options: SolutionZipOptions;
  entry: ReleaseEntry & { contents: SolutionContents };
}
const zip = (options: SolutionZipOptions): Zip => {
  const file = `${options.uniqueName}_${options.version ?? '1.0.0.0'}.zip`;
  const read = readSolutionContents(buildSolutionZip(options), file);
  if (!read.ok) throw new Error(read.problems[0]!.message);
  return { options, entry: { file, contents: read.value } };
};

function setup() {
  const emu = setupSolutionEmulator();
  const installed = async (names: string[]) => {
    const res = await emu.call('GET', installedSolutionsQuery(names));
    expect(res.status).toBe(200);
    const read = readInstalledSolutions(res.body);
    if (!read.ok) throw new Error(read.problems[0]!.message);
    return read.value;
  };
  /** Decides for each solution of a release, in order, and sends the steps; returns the actions taken. */
  const release = async (zips: Zip[], options: Partial<ImportDecisionOptions> = {}) => {
    const byFile = new Map(zips.map((z) => [z.entry.file, z]));
    const target = await installed(namesToLookUp(zips.map((z) => z.entry)));
    const ordered = orderRelease(
      zips.map((z) => z.entry),
      target,
    );
    if (!ordered.ok) return ordered.problems.map((p) => p.code);
    const actions: string[] = [];
    for (const entry of ordered.value) {
      const now = await installed([entry.contents.uniqueName]);
      const decision = decideImport(
        entry.contents,
        targetStateOf(now, entry.contents.uniqueName),
        importDecisionOptionsSchema.parse(options),
      );
      actions.push(`${entry.contents.uniqueName}:${decision.action}`);
      if (decision.action === 'reject') break;
      for (const step of decision.steps) {
        const customizationFile = buildSolutionZipBase64(byFile.get(entry.file)!.options);
        const params =
          step.message === 'DeleteAndPromoteAsync'
            ? { UniqueName: step.uniqueName }
            : {
                OverwriteUnmanagedCustomizations: false,
                PublishWorkflows: true,
                CustomizationFile: customizationFile,
                ...(step.message === 'ImportSolutionAsync' && step.holdingSolution ? { HoldingSolution: true } : {}),
              };
        const res = await emu.call('POST', step.message, params);
        expect(res.status).toBe(200);
        emu.finish();
        const job = await emu.asyncOperation(String((res.body as Record<string, unknown>).AsyncOperationId));
        expect([step.message, job.statuscode, job.friendlymessage]).toEqual([step.message, 30, null]);
      }
    }
    return actions;
  };
  const versions = async (names: string[]) =>
    Object.fromEntries([...(await installed(names)).values()].map((s) => [s.uniqueName, s.versionText]));
  return { emu, release, versions };
}

const base = (version: string) => zip({ uniqueName: 'contoso_Base', version, managed: true });
const app = (version: string, needsBase = '1.0.0.0') =>
  zip({
    uniqueName: 'contoso_App',
    version,
    managed: true,
    missingDependencies: [{ solution: 'contoso_Base', version: needsBase, schemaName: 'contoso_invoice' }],
  });

test('a first release installs in dependency order (never StageAndUpgrade on a first install); the next upgrades; the same again skips', async () => {
  const { release, versions } = setup();
  expect(await release([app('1.0.0.0'), base('1.0.0.0')], { mode: 'upgrade' })).toEqual([
    'contoso_Base:install',
    'contoso_App:install',
  ]);
  expect(await release([app('2.0.0.0', '2.0.0.0'), base('2.0.0.0')])).toEqual([
    'contoso_Base:upgrade',
    'contoso_App:upgrade',
  ]);
  expect(await versions(['contoso_Base', 'contoso_App'])).toEqual({ contoso_Base: '2.0.0.0', contoso_App: '2.0.0.0' });
  expect(await release([base('2.0.0.0'), app('2.0.0.0', '2.0.0.0')])).toEqual([
    'contoso_Base:skip',
    'contoso_App:skip',
  ]);
});

test('a required solution neither in the release nor installed rejects the release before anything is sent', async () => {
  const { emu, release } = setup();
  expect(await release([app('1.0.0.0')])).toEqual(['MissingDependency']);
  expect(emu.ops.stats().submitted).toBe(0);
});

test('a holding import leaves a half-done upgrade the core finds; finishUpgrade promotes it before the next upgrade', async () => {
  const { release, versions } = setup();
  await release([base('1.0.0.0')]);
  expect(await release([base('2.0.0.0')], { mode: 'holding' })).toEqual(['contoso_Base:holding']);
  expect(await versions(['contoso_Base'])).toEqual({ contoso_Base: '1.0.0.0', contoso_Base_Upgrade: '2.0.0.0' });
  expect(await release([base('3.0.0.0')])).toEqual(['contoso_Base:reject']);
  expect(await release([base('3.0.0.0')], { finishUpgrade: true })).toEqual(['contoso_Base:upgrade']);
  expect(await versions(['contoso_Base'])).toEqual({ contoso_Base: '3.0.0.0' });
});
