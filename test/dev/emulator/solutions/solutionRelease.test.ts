/**
 * What the release work of issue 18 needs from the emulator: installed versions and modes in the `solutions`
 * set, holding solutions, declared dependencies checked at import, import progress over time, and the failures
 * Dataverse gives (fixtures/dataverse/solution-import-failures.observed.json).
 */
import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import type { SolutionZipOptions } from '../../../../dev/emulator/solutions/solutionZip';
import type { EmulatorResponse } from '../../../../dev/emulator/types';
import { importParameters, QUEUED, RUN, setupSolutionEmulator } from './solutionEmulatorHarness';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const solutionsFixture = require('../../../fixtures/dataverse/solutions-filter-uniquename.response.json') as {
  value: Array<Record<string, unknown>>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const observed = require('../../../fixtures/dataverse/solution-import-failures.observed.json') as {
  failures: Array<{ case: string; name: string; text: string; code?: string }>;
};
const observedText = (which: string, name: string): string => {
  const f = observed.failures.find((x) => x.case === which)!;
  return f.text.split(f.name).join(name);
};

const body = (res: EmulatorResponse) => res.body as Record<string, unknown>;
const jobRow = z.object({
  statuscode: z.number(),
  errorcode: z.number().nullable(),
  friendlymessage: z.string().nullable(),
});

function setup() {
  const emu = setupSolutionEmulator();
  /** Submits an import or upgrade, lets it end, and returns its asyncoperation row and import job id. */
  const run = async (
    action: 'ImportSolutionAsync' | 'StageAndUpgradeAsync',
    zip: SolutionZipOptions,
    extra: Record<string, unknown> = {},
  ) => {
    const res = await emu.call('POST', action, importParameters(zip, extra));
    expect(res.status).toBe(200);
    emu.finish();
    const job = jobRow.parse(await emu.asyncOperation(String(body(res).AsyncOperationId)));
    return { job, importJobId: String(body(res).ImportJobKey) };
  };
  const promote = async (uniqueName: string) => {
    const res = await emu.call('POST', 'DeleteAndPromoteAsync', { UniqueName: uniqueName });
    emu.finish();
    return jobRow.parse(await emu.asyncOperation(String(body(res).AsyncOperationId)));
  };
  return { ...emu, run, promote };
}

describe('the solutions set', () => {
  test('a uniquename filter answers with the columns of the captured answer, typed alike', async () => {
    const emu = setup();
    await emu.run('ImportSolutionAsync', {
      uniqueName: 'TerraformTestSolution',
      friendlyName: 'Terraform Test Solution',
    });
    const columns = Object.keys(solutionsFixture.value[0]!);
    const res = body(
      await emu.call('GET', `solutions?$select=${columns.join(',')}&$filter=uniquename eq 'TerraformTestSolution'`),
    );
    expect(res.value).toHaveLength(1);
    const row = (res.value as Array<Record<string, unknown>>)[0]!;
    expect(Object.keys(row).sort()).toEqual([...columns].sort());
    for (const column of columns) {
      const expected = solutionsFixture.value[0]![column];
      // The emulator's package has no <Descriptions>, so its description is null, as Dataverse returns it then.
      if (expected === null || (column === 'description' && row[column] === null)) continue;
      expect([column, typeof row[column]]).toEqual([column, typeof expected]);
      if (/edon$/.test(column)) expect(row[column]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    expect(row).toMatchObject({ uniquename: 'TerraformTestSolution', version: '1.0.0.0', ismanaged: false });
  });

  test('versions and modes follow imports, holding imports, StageAndUpgrade and DeleteAndPromote', async () => {
    const emu = setup();
    const rows = async () =>
      Object.fromEntries(
        (
          body(
            await emu.call(
              'GET',
              "solutions?$select=uniquename,version,ismanaged&$filter=uniquename eq 'contoso_Core' or uniquename eq 'contoso_Core_Upgrade'",
            ),
          ).value as Array<{ uniquename: string; version: string; ismanaged: boolean }>
        ).map((r) => [r.uniquename, `${r.version}${r.ismanaged ? ' managed' : ''}`]),
      );
    expect(await rows()).toEqual({});
    await emu.run('ImportSolutionAsync', { uniqueName: 'contoso_Core', version: '1.0.0.0', managed: true });
    expect(await rows()).toEqual({ contoso_Core: '1.0.0.0 managed' });
    await emu.run('ImportSolutionAsync', { uniqueName: 'contoso_Core', version: '1.1.0.0', managed: true });
    expect(await rows()).toEqual({ contoso_Core: '1.1.0.0 managed' });
    await emu.run('StageAndUpgradeAsync', { uniqueName: 'contoso_Core', version: '2.0.0.0', managed: true });
    expect(await rows()).toEqual({ contoso_Core: '2.0.0.0 managed' });
    await emu.run(
      'ImportSolutionAsync',
      { uniqueName: 'contoso_Core', version: '3.0.0.0', managed: true },
      { HoldingSolution: true },
    );
    expect(await rows()).toEqual({ contoso_Core: '2.0.0.0 managed', contoso_Core_Upgrade: '3.0.0.0 managed' });
    expect((await emu.promote('contoso_Core')).statuscode).toBe(30);
    expect(await rows()).toEqual({ contoso_Core: '3.0.0.0 managed' });
  });
});

describe('failures as Dataverse gives them', () => {
  test('a missing dependency: 0x8004801D, the documented sentence, and the missing components as <MissingDependencies>', async () => {
    const emu = setup();
    const { job, importJobId } = await emu.run('ImportSolutionAsync', {
      uniqueName: 'contoso_App',
      missingDependencies: [
        { solution: 'contoso_Base', version: '2.0.0.0', schemaName: 'contoso_invoice', displayName: 'Invoice' },
      ],
    });
    expect([job.statuscode, job.errorcode]).toEqual([31, 0x8004801d | 0]);
    const prefix = observedText('a required solution is missing', 'contoso_App');
    expect(job.friendlymessage!.startsWith(prefix)).toBe(true);
    const list = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(
      job.friendlymessage!.slice(prefix.length),
    ) as { MissingDependencies: { MissingDependency: Record<string, Record<string, string>> } };
    expect(list.MissingDependencies.MissingDependency.Required).toMatchObject({
      schemaName: 'contoso_invoice',
      displayName: 'Invoice',
      solution: 'contoso_Base (2.0.0.0)',
    });
    expect(list.MissingDependencies.MissingDependency.Dependent!.schemaName).toBe('dependent_contoso_invoice');
    const log = body(await emu.call('GET', `importjobs(${importJobId})?$select=data`)).data as string;
    expect(log).toContain('errorcode="0x8004801D"');
    expect(await emu.solution('contoso_App')).toBeUndefined();
  });

  test('StageAndUpgrade of a solution that is not installed fails (it starts with a holding import)', async () => {
    const emu = setup();
    const { job } = await emu.run('StageAndUpgradeAsync', { uniqueName: 'contoso_New', managed: true });
    expect(job.statuscode).toBe(31);
    expect(job.friendlymessage).toBe(
      observedText('StageAndUpgrade of a solution that is not installed', 'contoso_New'),
    );
    expect(await emu.solution('contoso_New')).toBeUndefined();
  });

  test('while <name>_Upgrade is installed every import of the solution fails; after DeleteAndPromote it works again', async () => {
    const emu = setup();
    const core = (version: string): SolutionZipOptions => ({ uniqueName: 'contoso_Core', version, managed: true });
    await emu.run('ImportSolutionAsync', core('1.0.0.0'));
    await emu.run('ImportSolutionAsync', core('2.0.0.0'), { HoldingSolution: true });

    const update = await emu.run('ImportSolutionAsync', core('3.0.0.0'));
    expect(update.job.friendlymessage).toBe(observedText('update while <name>_Upgrade is installed', 'contoso_Core'));
    const stage = await emu.run('StageAndUpgradeAsync', core('3.0.0.0'));
    expect(stage.job.friendlymessage).toBe(
      observedText('StageAndUpgrade while <name>_Upgrade is installed', 'contoso_Core'),
    );
    const holding = await emu.run('ImportSolutionAsync', core('3.0.0.0'), { HoldingSolution: true });
    expect(holding.job.friendlymessage).toBe(
      observedText('holding import while <name>_Upgrade is installed (import log row)', 'contoso_Core'),
    );
    const log = body(await emu.call('GET', `importjobs(${holding.importJobId})?$select=data`)).data as string;
    expect(log).toContain('errorcode="0x80048539"');
    expect((await emu.solution('contoso_Core'))!.version).toBe('1.0.0.0');

    await emu.promote('contoso_Core');
    const after = await emu.run('StageAndUpgradeAsync', core('3.0.0.0'));
    expect(after.job.statuscode).toBe(30);
    expect((await emu.solution('contoso_Core'))!.version).toBe('3.0.0.0');
  });

  test('a managed package over an unmanaged solution (and the reverse) fails with the documented mismatch', async () => {
    const emu = setup();
    await emu.run('ImportSolutionAsync', { uniqueName: 'contoso_Dev', managed: false });
    const { job } = await emu.run('ImportSolutionAsync', {
      uniqueName: 'contoso_Dev',
      version: '2.0.0.0',
      managed: true,
    });
    expect([job.statuscode, job.errorcode]).toEqual([31, 0x80048040 | 0]);
    expect(job.friendlymessage).toMatch(/^The solution is already installed on this system as an unmanaged solution/);
    expect((await emu.solution('contoso_Dev'))!.ismanaged).toBe(false);
  });
});

test('the import job progress rises while the import runs: 0 queued, between 0 and 100 running, 100 at the end', async () => {
  const emu = setup();
  const res = body(await emu.call('POST', 'ImportSolutionAsync', importParameters({ uniqueName: 'contoso_Big' })));
  const progress = async (): Promise<number> => {
    const row = body(await emu.call('GET', `importjobs(${String(res.ImportJobKey)})?$select=progress`));
    expect(Object.keys(row).sort()).toEqual(['@odata.context', 'importjobid', 'progress']);
    return row.progress as number;
  };
  const seen = [await progress()];
  emu.advance(QUEUED);
  for (let step = 0; step < 10; step++) {
    emu.advance(RUN / 10);
    seen.push(await progress());
  }
  expect(seen[0]).toBe(0);
  expect(seen[seen.length - 1]).toBe(100);
  expect(seen.filter((p) => p > 0 && p < 100).length).toBeGreaterThanOrEqual(5);
  for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
});
