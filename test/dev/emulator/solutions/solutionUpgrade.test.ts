import type { SolutionJson } from '../webApiJson';
import { createSolutionOperations } from '../../../../dev/emulator/solutions';
import type { EmulatorResponse } from '../../../../dev/emulator/types';
import { routeRequest } from '../testRoute';
import { importParameters } from './solutionEmulatorHarness';

const baseUrl = 'http://127.0.0.1:5555';

function setup() {
  let t = Date.UTC(2026, 0, 5, 9, 0, 0);
  const ops = createSolutionOperations({ baseUrl, timing: { queuedMs: 500, runMs: 5_000 }, now: () => t });
  const call = async (method: string, path: string, body: unknown, query = ''): Promise<SolutionJson> => {
    const res = (await ops.route(
      routeRequest(method, path, { query, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }),
    )) as EmulatorResponse;
    return { status: res.status, ...(res.body as SolutionJson) };
  };
  /** Submits, lets the job end, and returns its final asyncoperation row. */
  const run = async (action: string, params: unknown): Promise<SolutionJson> => {
    const submitted = await call('POST', action, params);
    expect(submitted.status).toBe(200);
    t += 10_000;
    return call('GET', `asyncoperations(${submitted.AsyncOperationId})`, undefined);
  };
  const installed = async (): Promise<Record<string, string>> => {
    const res = await call(
      'GET',
      'solutions',
      undefined,
      '$select=uniquename,version&$filter=isvisible eq true&$orderby=uniquename',
    );
    return Object.fromEntries(
      (res.value as Array<{ uniquename: string; version: string }>).map((s) => [s.uniquename, s.version]),
    );
  };
  return { call, run, installed };
}

test('HoldingSolution imports <name>_Upgrade next to the base; DeleteAndPromoteAsync replaces the base with it', async () => {
  const emu = setup();
  expect(
    (
      await emu.run(
        'ImportSolutionAsync',
        importParameters({ uniqueName: 'contoso_Core', version: '1.0.0.0', managed: true }),
      )
    ).statuscode,
  ).toBe(30);
  const holding = await emu.run('ImportSolutionAsync', {
    ...importParameters({ uniqueName: 'contoso_Core', version: '2.0.0.0', managed: true }),
    HoldingSolution: true,
  });
  expect(holding.statuscode).toBe(30);
  expect(await emu.installed()).toMatchObject({ contoso_Core: '1.0.0.0', contoso_Core_Upgrade: '2.0.0.0' });
  const upgrade = await emu.call(
    'GET',
    'solutions',
    undefined,
    "$filter=uniquename eq 'contoso_Core_Upgrade'&$select=_parentsolutionid_value",
  );
  const base = await emu.call('GET', 'solutions', undefined, "$filter=uniquename eq 'contoso_Core'&$select=solutionid");
  expect(upgrade.value[0]?._parentsolutionid_value).toBe(base.value[0]?.solutionid);

  const submitted = await emu.call('POST', 'DeleteAndPromoteAsync', { UniqueName: 'contoso_Core' });
  expect(Object.keys(submitted).sort()).toEqual(['@odata.context', 'AsyncOperationId', 'status']);
  expect(submitted['@odata.context']).toMatch(/#Microsoft\.Dynamics\.CRM\.DeleteAndPromoteAsyncResponse$/);
  // While it is queued or running, another solution operation is refused.
  const second = await emu.call('POST', 'DeleteAndPromoteAsync', { UniqueName: 'contoso_Core' });
  expect([second.status, second.error.code]).toEqual([400, '0x80071151']);
});

test('DeleteAndPromoteAsync promotes the holding solution (name, version) and the _Upgrade row disappears', async () => {
  const emu = setup();
  await emu.run(
    'ImportSolutionAsync',
    importParameters({ uniqueName: 'contoso_Core', version: '1.0.0.0', managed: true }),
  );
  await emu.run('ImportSolutionAsync', {
    ...importParameters({ uniqueName: 'contoso_Core', version: '2.0.0.0', managed: true }),
    HoldingSolution: true,
  });
  const job = await emu.run('DeleteAndPromoteAsync', { UniqueName: 'contoso_Core' });
  expect([job.statuscode, job.messagename, job.name]).toEqual([30, 'DeleteAndPromoteAsync', 'DeleteAndPromote']);
  const installed = await emu.installed();
  expect(installed['contoso_Core']).toBe('2.0.0.0');
  expect(installed['contoso_Core_Upgrade']).toBeUndefined();
});

test('DeleteAndPromoteAsync without a holding solution fails the job (31) with the reason', async () => {
  const emu = setup();
  await emu.run('ImportSolutionAsync', importParameters({ uniqueName: 'contoso_Core', managed: true }));
  const job = await emu.run('DeleteAndPromoteAsync', { UniqueName: 'contoso_Core' });
  expect([job.statecode, job.statuscode]).toEqual([3, 31]);
  expect(job.friendlymessage).toContain('no holding solution contoso_Core_Upgrade');
  expect((await emu.installed())['contoso_Core']).toBe('1.0.0.0');
  const missingName = await emu.call('POST', 'DeleteAndPromoteAsync', {});
  expect(missingName.status).toBe(400);
  expect(missingName.error.message).toContain('UniqueName');
});

test('StageAndUpgradeAsync answers with AsyncOperationId and ImportJobKey, takes no HoldingSolution, and holds the lock', async () => {
  const emu = setup();
  await emu.run(
    'ImportSolutionAsync',
    importParameters({ uniqueName: 'contoso_Core', version: '1.0.0.0', managed: true }),
  );
  const submitted = await emu.call(
    'POST',
    'StageAndUpgradeAsync',
    importParameters({ uniqueName: 'contoso_Core', version: '3.1.0.0', managed: true }),
  );
  expect(submitted['@odata.context']).toMatch(/#Microsoft\.Dynamics\.CRM\.StageAndUpgradeAsyncResponse$/);
  expect(submitted.ImportJobKey).toMatch(/^[0-9a-f-]{36}$/);
  const holdingParam = await emu.call('POST', 'StageAndUpgradeAsync', {
    ...importParameters({ uniqueName: 'x' }),
    HoldingSolution: true,
  });
  expect(holdingParam.status).toBe(400); // the reference lists no HoldingSolution for StageAndUpgradeAsync
  const other = await emu.call('POST', 'ImportSolutionAsync', importParameters({ uniqueName: 'other' }));
  expect(other.error.code).toBe('0x80071151'); // refused while the upgrade is queued
  const job = await emu.call('GET', `asyncoperations(${submitted.AsyncOperationId})`, undefined);
  expect([job.statecode, job.statuscode, job.messagename]).toEqual([0, 0, 'StageAndUpgradeAsync']);
});

test('StageAndUpgradeAsync result: base at the new version, no _Upgrade row; a holding import of an unmanaged package or without a base fails', async () => {
  const emu = setup();
  await emu.run(
    'ImportSolutionAsync',
    importParameters({ uniqueName: 'contoso_Core', version: '1.0.0.0', managed: true }),
  );
  const job = await emu.run(
    'StageAndUpgradeAsync',
    importParameters({ uniqueName: 'contoso_Core', version: '3.1.0.0', managed: true }),
  );
  expect([job.statuscode, job.name]).toEqual([30, 'StageAndUpgrade']);
  expect(await emu.installed()).toMatchObject({ contoso_Core: '3.1.0.0' });
  expect((await emu.installed())['contoso_Core_Upgrade']).toBeUndefined();

  const unmanaged = await emu.run('ImportSolutionAsync', {
    ...importParameters({ uniqueName: 'contoso_Core', version: '4.0.0.0', managed: false }),
    HoldingSolution: true,
  });
  expect([unmanaged.statuscode, unmanaged.errorcode]).toEqual([31, 0x80048041 | 0]);
  expect(unmanaged.friendlymessage).toContain('already installed on this system as a managed solution');
  const unmanagedHolding = await emu.run('ImportSolutionAsync', {
    ...importParameters({ uniqueName: 'contoso_Other', version: '1.0.0.0', managed: false }),
    HoldingSolution: true,
  });
  expect(unmanagedHolding.friendlymessage).toContain('only a managed solution');
  const noBase = await emu.run('ImportSolutionAsync', {
    ...importParameters({ uniqueName: 'contoso_New', managed: true }),
    HoldingSolution: true,
  });
  expect(noBase.statuscode).toBe(31);
  expect(noBase.friendlymessage).toContain('Cannot create a holding solution for missing base contoso_New.');
});
