import type { SolutionJson } from '../webApiJson';
import { expect } from '@jest/globals';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import fixture from '../../../fixtures/dataverse/asyncoperation-importsolutionasync-succeeded.response.json';
import { customizationLockCode, customizationLockMessage } from '../../../../dev/emulator/solutions';
import { buildSolutionZipBase64, type SolutionZipOptions } from '../../../../dev/emulator/solutions/solutionZip';
import type { EmulatorResponse } from '../../../../dev/emulator/types';

import { routeRequest } from '../testRoute';
import { baseUrl, importParameters, QUEUED, RUN, setupSolutionEmulator as setup } from './solutionEmulatorHarness';

/** The part of an importjob's data (the import log XML) these tests read. */
const importLog = z.object({
  importexportxml: z.object({
    solutionManifests: z.object({
      solutionManifest: z.object({
        result: z.object({ result: z.string(), errorcode: z.string(), errortext: z.string() }),
      }),
    }),
  }),
});

const body = (res: EmulatorResponse) => res.body as SolutionJson;

describe('ImportSolutionAsync', () => {
  test('answers like importsolutionasync.response.json and the job goes 0/0 → 2/20 → 3/30 with the fixture columns', async () => {
    const emu = setup();
    const res = await emu.importSolution({ uniqueName: 'contoso_Core', version: '1.2.0.0', managed: true });
    expect(res.status).toBe(200);
    expect(body(res)).toEqual({
      '@odata.context': `${baseUrl}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.ImportSolutionAsyncResponse`,
      ImportJobKey: expect.stringMatching(/^[0-9a-f-]{36}$/),
      AsyncOperationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const id = body(res).AsyncOperationId;

    const queued = await emu.asyncOperation(id);
    expect([queued.statecode, queued.statuscode, queued.startedon, queued.completedon]).toEqual([0, 0, null, null]);

    emu.advance(QUEUED + 1);
    const running = await emu.asyncOperation(id);
    expect([running.statecode, running.statuscode, running.completedon]).toEqual([2, 20, null]);
    expect(running.startedon).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(await emu.solution('contoso_Core')).toBeUndefined();

    emu.advance(RUN);
    const done = await emu.asyncOperation(id);
    expect(Object.keys(done).sort()).toEqual(Object.keys(fixture).sort());
    expect(done).toMatchObject({
      '@odata.context': `${baseUrl}/api/data/v9.2/$metadata#asyncoperations/$entity`,
      statecode: 3,
      statuscode: 30,
      operationtype: 54,
      messagename: 'ImportSolutionAsync',
      name: 'ImportSolution',
      subtype: 1,
      message: null,
      friendlymessage: null,
      errorcode: null,
      dependencytoken: expect.stringMatching(/^SolutionOperation_\{[0-9a-f-]{36}\}$/),
    });
    expect(Date.parse(done.completedon)).toBeGreaterThan(Date.parse(done.startedon));
    expect(Date.parse(done.startedon)).toBeGreaterThanOrEqual(Date.parse(done.createdon));
    expect(done.executiontimespan).toBeCloseTo(RUN / 1000);

    expect(await emu.solution('contoso_Core')).toMatchObject({
      uniquename: 'contoso_Core',
      version: '1.2.0.0',
      ismanaged: true,
      friendlyname: 'contoso_Core',
    });
  });

  test('the import job reports progress and its log, and ImportJobId from the request becomes the ImportJobKey', async () => {
    const emu = setup();
    const importJobId = '6f1c2a3b-0000-4000-8000-000000000001';
    const res = await emu.importSolution({ uniqueName: 'contoso_Jobs' }, { ImportJobId: importJobId });
    expect(body(res).ImportJobKey).toBe(importJobId);
    emu.advance(QUEUED + RUN / 2);
    const half = body(await emu.call('GET', `importjobs(${importJobId})`));
    expect(half.progress).toBeGreaterThan(0);
    expect(half.progress).toBeLessThan(100);
    expect(half.completedon).toBeNull();
    emu.advance(RUN);
    const job = body(
      await emu.call(
        'GET',
        `importjobs(${importJobId})?$select=importjobid,solutionname,progress,startedon,completedon,data`,
      ),
    );
    expect(job).toMatchObject({ importjobid: importJobId, solutionname: 'contoso_Jobs', progress: 100 });
    expect(job.completedon).not.toBeNull();
    expect(XMLValidator.validate(job.data)).toBe(true);
    expect(job.data).toContain('result="success"');
  });

  test('a missing required parameter, a wrong type, an unknown parameter and a ComponentParameters item without @odata.type are 400', async () => {
    const emu = setup();
    const missing = await emu.call('POST', 'ImportSolutionAsync', {
      PublishWorkflows: true,
      CustomizationFile: buildSolutionZipBase64({ uniqueName: 'a' }),
    });
    expect(missing.status).toBe(400);
    expect(body(missing).error.message).toContain('OverwriteUnmanagedCustomizations');

    const wrongType = await emu.importSolution({ uniqueName: 'a' }, { PublishWorkflows: 'yes' });
    expect(wrongType.status).toBe(400);
    expect(body(wrongType).error).toEqual({
      code: '0x80048d19',
      message: "Cannot convert the literal 'yes' to the expected type 'Edm.Boolean'.",
    });

    const unknown = await emu.importSolution({ uniqueName: 'a' }, { Foo: 1 });
    expect(body(unknown).error.message).toBe(
      "The parameter 'Foo' in the request payload is not a valid parameter for the operation 'ImportSolutionAsync'.",
    );

    const untyped = await emu.importSolution(
      { uniqueName: 'a' },
      { ComponentParameters: [{ connectionreferencelogicalname: 'x' }] },
    );
    expect(untyped.status).toBe(400);
    expect(body(untyped).error.message).toContain('@odata.type');

    const typed = await emu.importSolution(
      { uniqueName: 'a' },
      {
        HoldingSolution: false,
        ConvertToManaged: false,
        SkipProductUpdateDependencies: false,
        ComponentParameters: [
          {
            '@odata.type': 'Microsoft.Dynamics.CRM.connectionreference',
            connectionreferencelogicalname: 'x',
            connectionid: 'y',
          },
          { '@odata.type': 'Microsoft.Dynamics.CRM.environmentvariablevalue', schemaname: 'v', value: '1' },
        ],
      },
    );
    expect(typed.status).toBe(200);
    expect(emu.ops.stats().submitted).toBe(1);
  });
});

describe('failed imports (31) carry a readable reason in the job and the import job log', () => {
  const cases: Array<[string, SolutionZipOptions, RegExp]> = [
    ['not a zip', { uniqueName: 'broken', corrupt: 'notZip' }, /solution file is invalid.*not a valid zip/i],
    [
      'no solution.xml',
      { uniqueName: 'broken', corrupt: 'noSolutionXml' },
      /must contain the following files.*Missing: solution\.xml/,
    ],
    ['bad XML', { uniqueName: 'broken', corrupt: 'badXml' }, /solution\.xml is not well-formed XML/],
    [
      'a missing dependency',
      {
        uniqueName: 'contoso_App',
        missingDependencies: [{ solution: 'contoso_Base', schemaName: 'contoso_invoice', displayName: 'Invoice' }],
      },
      /The following solution cannot be imported: contoso_App\. Some dependencies are missing\. .*schemaName="contoso_invoice" displayName="Invoice" solution="contoso_Base"/,
    ],
  ];

  test.each(cases)('%s', async (_name, zip, reason) => {
    const emu = setup();
    const res = await emu.importSolution(zip);
    expect(res.status).toBe(200); // the POST is accepted; the job fails, as Dataverse validates the package in the job
    const { AsyncOperationId, ImportJobKey } = body(res);
    emu.advance(QUEUED + 1);
    expect((await emu.asyncOperation(AsyncOperationId)).statuscode).toBe(20);
    emu.finish();
    const job = await emu.asyncOperation(AsyncOperationId);
    expect([job.statecode, job.statuscode]).toEqual([3, 31]);
    expect(job.friendlymessage).toMatch(reason);
    expect(job.message).toMatch(reason);
    expect(job.errorcode).toBeLessThan(0);

    const importJob = body(await emu.call('GET', `importjobs(${ImportJobKey})`));
    expect(importJob.completedon).not.toBeNull();
    const log = importLog.parse(
      new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(importJob.data),
    );
    const manifestResult = log.importexportxml.solutionManifests.solutionManifest.result;
    expect(manifestResult.result).toBe('failure');
    expect(manifestResult.errorcode).toMatch(/^0x8004/);
    expect(manifestResult.errortext).toMatch(reason);

    const formatted = await emu.call('GET', `RetrieveFormattedImportJobResults(ImportJobId=${ImportJobKey})`);
    expect(body(formatted)['@odata.context']).toBe(
      `${baseUrl}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.RetrieveFormattedImportJobResultsResponse`,
    );
    expect(XMLValidator.validate(body(formatted).FormattedResults)).toBe(true);
    expect(body(formatted).FormattedResults).toContain('Failure');
    expect(body(formatted).FormattedResults).toContain(manifestResult.errorcode);
    expect(await emu.solution('contoso_App')).toBeUndefined();

    // The same function called with a parameter alias, as clients that build URLs generically do.
    const aliased = await emu.call('GET', `RetrieveFormattedImportJobResults(ImportJobId=@p1)?@p1=${ImportJobKey}`);
    expect(body(aliased).FormattedResults).toBe(body(formatted).FormattedResults);
    const unknownJob = await emu.call(
      'GET',
      'RetrieveFormattedImportJobResults(ImportJobId=00000000-0000-4000-8000-000000000000)',
    );
    expect(unknownJob.status).toBe(404);
  });

  test('the missing component is named in its own failure result; installing the dependency first makes the import succeed', async () => {
    const emu = setup();
    const app: SolutionZipOptions = {
      uniqueName: 'contoso_App',
      missingDependencies: [{ solution: 'contoso_Base', version: '2.0.0.0', schemaName: 'contoso_invoice' }],
    };
    const failed = body(await emu.importSolution(app));
    emu.finish();
    const data = body(await emu.call('GET', `importjobs(${failed.ImportJobKey})?$select=data`)).data;
    expect(data).toMatch(
      /<missingDependency id="contoso_invoice"[^>]*><result result="failure" errorcode="0x8004801D" errortext="Missing component contoso_invoice/,
    );

    await emu.importSolution({ uniqueName: 'contoso_Base', version: '1.0.0.0' });
    emu.finish();
    const tooOld = body(await emu.importSolution(app));
    emu.finish();
    expect((await emu.asyncOperation(tooOld.AsyncOperationId)).statuscode).toBe(31);

    await emu.importSolution({ uniqueName: 'contoso_Base', version: '2.0.0.0' });
    emu.finish();
    const ok = body(await emu.importSolution(app));
    emu.finish();
    expect((await emu.asyncOperation(ok.AsyncOperationId)).statuscode).toBe(30);
  });
});

describe('cancel', () => {
  test('PATCH statecode 3 / statuscode 32 stops a running import: 32, the import job ends canceled, nothing installed', async () => {
    const emu = setup();
    const { AsyncOperationId, ImportJobKey } = body(await emu.importSolution({ uniqueName: 'contoso_Cancel' }));
    emu.advance(QUEUED + RUN / 4);
    const res = await emu.call('PATCH', `asyncoperations(${AsyncOperationId})`, { statecode: 3, statuscode: 32 });
    expect(res.status).toBe(204);
    emu.finish();
    const job = await emu.asyncOperation(AsyncOperationId);
    expect([job.statecode, job.statuscode]).toEqual([3, 32]);
    expect(Date.parse(job.completedon)).toBeLessThan(Date.parse(job.startedon) + RUN);
    const importJob = body(await emu.call('GET', `importjobs(${ImportJobKey})`));
    expect(importJob.completedon).toBe(job.completedon);
    expect(importJob.progress).toBeLessThan(100);
    expect(importJob.data).toContain('canceled');
    expect(await emu.solution('contoso_Cancel')).toBeUndefined();
    // The lock is released: the next operation is accepted.
    expect((await emu.importSolution({ uniqueName: 'contoso_Next' })).status).toBe(200);
  });

  test('cancelling a finished job, or any other state change, is refused like Dataverse', async () => {
    const emu = setup();
    const { AsyncOperationId } = body(await emu.importSolution({ uniqueName: 'contoso_Done' }));
    const complete = await emu.call('PATCH', `asyncoperations(${AsyncOperationId})`, { statecode: 3, statuscode: 30 });
    expect(body(complete).error.code).toBe('0x80044165');
    emu.finish();
    const late = await emu.call('PATCH', `asyncoperations(${AsyncOperationId})`, { statecode: 3, statuscode: 32 });
    expect(late.status).toBe(400);
    expect(body(late).error).toEqual({
      code: '0x80044162',
      message: 'The target state could not be set because the state transition is not valid.',
    });
    expect((await emu.asyncOperation(AsyncOperationId)).statuscode).toBe(30);
    const missing = await emu.call('PATCH', 'asyncoperations(00000000-0000-4000-8000-000000000000)', {
      statecode: 3,
      statuscode: 32,
    });
    expect(missing.status).toBe(404);
  });
});

describe('one solution operation at a time per organization', () => {
  test('a second operation while one is queued or running is refused with 0x80071151; accepted once the first ends', async () => {
    const emu = setup();
    await emu.importSolution({ uniqueName: 'first' });
    const whileQueued = await emu.importSolution({ uniqueName: 'second' });
    expect(whileQueued.status).toBe(400);
    expect(body(whileQueued).error).toEqual({ code: customizationLockCode, message: customizationLockMessage });
    emu.advance(QUEUED + 1);
    const stage = await emu.call('POST', 'StageAndUpgradeAsync', importParameters({ uniqueName: 'x', managed: true }));
    expect(body(stage).error.code).toBe(customizationLockCode);
    const promote = await emu.call('POST', 'DeleteAndPromoteAsync', { UniqueName: 'first' });
    expect(body(promote).error.code).toBe(customizationLockCode);
    expect(emu.ops.stats().refused).toBe(3);
    emu.advance(RUN);
    expect((await emu.importSolution({ uniqueName: 'second' })).status).toBe(200);
  });

  test('the refusal status is configurable; with 429 it carries an integer Retry-After', async () => {
    const emu = setup({ refusalStatus: 429 });
    await emu.importSolution({ uniqueName: 'first' });
    const refused = await emu.importSolution({ uniqueName: 'second' });
    expect(refused.status).toBe(429);
    expect(refused.headers?.['Retry-After']).toBe(String((QUEUED + RUN) / 1000));
  });
});

describe('queries', () => {
  test('many jobs in one filtered query, with $select and $top, and the queries counted in stats', async () => {
    const emu = setup();
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      ids.push(
        body(await emu.importSolution({ uniqueName: `bulk_${i}`, corrupt: i % 3 === 0 ? 'badXml' : undefined }))
          .AsyncOperationId,
      );
      emu.finish();
    }
    const before = emu.ops.stats().solutionQueries;
    const wanted = ids.slice(0, 50);
    const filter = wanted.map((id) => `asyncoperationid eq ${id}`).join(' or ');
    const res = await emu.call(
      'GET',
      `asyncoperations?$select=asyncoperationid,statecode,statuscode,message,friendlymessage,completedon&$filter=${encodeURIComponent(filter)}`,
    );
    expect(res.status).toBe(200);
    const rows = body(res).value;
    expect(rows.map((r) => r.asyncoperationid).sort()).toEqual([...wanted].sort());
    expect(Object.keys(rows[0]!).sort()).toEqual([
      'asyncoperationid',
      'completedon',
      'friendlymessage',
      'message',
      'statecode',
      'statuscode',
    ]);
    expect(rows.filter((r) => r.statuscode === 31)).toHaveLength(wanted.filter((_, i) => i % 3 === 0).length);
    expect(body(res)['@odata.context']).toBe(
      `${baseUrl}/api/data/v9.2/$metadata#asyncoperations(asyncoperationid,statecode,statuscode,message,friendlymessage,completedon)`,
    );

    const finished = await emu.call(
      'GET',
      `asyncoperations?$filter=${encodeURIComponent('statecode eq 3 and statuscode eq 31')}&$select=asyncoperationid&$top=5`,
    );
    expect(body(finished).value).toHaveLength(5);
    const all = await emu.call('GET', `asyncoperations?$filter=statecode eq 3&$count=true&$top=1`);
    expect(body(all)['@odata.count']).toBe(60);

    expect(emu.ops.stats().solutionQueries - before).toBe(3);
    expect(emu.ops.stats().asyncOperationsByStatus).toEqual({ '30': 40, '31': 20 });
  });

  test('a long or-chain (1000 ids) parses without deep recursion; bad filters and unknown columns are 400', async () => {
    const emu = setup();
    const { AsyncOperationId } = body(await emu.importSolution({ uniqueName: 'one' }));
    const ids = Array.from({ length: 999 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`).concat(
      AsyncOperationId,
    );
    const res = await emu.call(
      'GET',
      `asyncoperations?$filter=${encodeURIComponent(ids.map((id) => `asyncoperationid eq ${id}`).join(' or '))}`,
    );
    expect((body(res).value as unknown[]).length).toBe(1);
    const bad = await emu.call('GET', `asyncoperations?$filter=${encodeURIComponent('statecode eq')}`);
    expect(bad.status).toBe(400);
    expect(body(bad).error.code).toBe('0x80060888');
    const unknown = await emu.call('GET', 'asyncoperations?$select=nosuchcolumn');
    expect(body(unknown).error.message).toBe(
      "Could not find a property named 'nosuchcolumn' on type 'Microsoft.Dynamics.CRM.asyncoperation'.",
    );
    const missing = await emu.call('GET', 'asyncoperations(00000000-0000-4000-8000-000000000000)');
    expect(missing.status).toBe(404);
  });

  test('paths that are not its own are left to other routes', async () => {
    const { ops } = setup();
    const req = (path: string) => routeRequest('GET', path);
    expect(await ops.route(req('accounts'))).toBeUndefined();
    expect(await ops.route(req('asyncoperationsx'))).toBeUndefined();
    expect(await ops.route(req('WhoAmI'))).toBeUndefined();
  });

  test('reset clears operations, installed solutions and counters', async () => {
    const emu = setup();
    await emu.importSolution({ uniqueName: 'gone' });
    emu.finish();
    expect(await emu.solution('gone')).toBeDefined();
    expect(emu.ops.stats().submittedByMessage).toEqual({ ImportSolutionAsync: 1 });
    emu.ops.reset();
    expect(emu.ops.stats()).toEqual({
      asyncOperationsByStatus: {},
      solutionQueries: 0,
      submitted: 0,
      refused: 0,
      submittedByMessage: {},
    });
    expect(await emu.solution('gone')).toBeUndefined();
    expect(await emu.solution('Default')).toBeDefined();
  });
});
