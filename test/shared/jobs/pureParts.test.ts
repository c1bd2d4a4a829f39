import { expect } from '@jest/globals';
import fc from 'fast-check';
import { strToU8, zipSync } from 'fflate';
import { componentParametersOf, parseAsyncOperationMessage } from '../../../shared/jobs/asyncOperationMessage';
import { DataverseError } from '../../../shared/dataverse/dataverseError';
import { asyncOperationQueries, isSolutionOperationBusy } from '../../../shared/jobs/asyncOperationApi';
import { summariseFormattedResults, summariseImportJobLog } from '../../../shared/jobs/importJobLog';
import {
  batchOutcome,
  blockingPredecessor,
  canTransition,
  isPastMaxWait,
  jobStates,
  stateOfAsyncOperation,
} from '../../../shared/jobs/jobRecord';
import { checkSolutionZip } from '../../../shared/jobs/solutionPackage';
import { readSolutionContents } from '../../../shared/jobs/release/solutionContents';
import { buildSolutionZip } from '../../../dev/emulator/solutions/solutionZip';
import { classifyImportBody } from '../../../shared/jobs/importRequest';

const guid = '11111111-2222-3333-4444-555555555555';
const blob = { container: 'solutions', name: 'a.zip' };

describe('queue message validation', () => {
  it('accepts the three ExecuteAsync kinds with defaults like pac', () => {
    const r = parseAsyncOperationMessage({ kind: 'ImportSolution', solution: blob });
    expect(r).toMatchObject({
      ok: true,
      message: {
        kind: 'single',
        operation: { publishWorkflows: true, overwriteUnmanagedCustomizations: false, stageAndUpgrade: false },
      },
    });
    expect(parseAsyncOperationMessage({ kind: 'DeleteAndPromote', uniqueName: 'contoso' }).ok).toBe(true);
    expect(
      parseAsyncOperationMessage({ kind: 'Merge', table: 'account', target: guid, subordinate: guid.replace('1', '9') })
        .ok,
    ).toBe(true);
  });
  it('rejects any other kind, naming it', () => {
    fc.assert(
      fc.property(
        fc.string().filter((k) => !['ImportSolution', 'DeleteAndPromote', 'Merge'].includes(k)),
        (kind) => {
          const r = parseAsyncOperationMessage({ kind, solution: blob });
          return !r.ok && r.reason.includes('is not one of ImportSolution, DeleteAndPromote, Merge');
        },
      ),
    );
    const stage = parseAsyncOperationMessage({ kind: 'StageAndUpgrade' });
    expect(!stage.ok && stage.reason).toMatch(/stageAndUpgrade: true/);
  });
  it('names the field path and what was expected', () => {
    const r = parseAsyncOperationMessage({
      kind: 'ImportSolution',
      solution: { container: 'solutions' },
      publishWorkflows: 'yes',
    });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toMatch(/solution\.name: .*expected string/);
      expect(r.reason).toMatch(/publishWorkflows: .*expected boolean/);
    }
    const both = parseAsyncOperationMessage({
      kind: 'ImportSolution',
      solution: blob,
      holdingSolution: true,
      stageAndUpgrade: true,
    });
    expect(!both.ok && both.reason).toMatch(/mutually exclusive/);
    const list = parseAsyncOperationMessage({
      operations: [{ kind: 'ImportSolution', solution: blob }, { kind: 'Export' }],
    });
    expect(!list.ok && list.reason).toMatch(/^operations\.1\.kind 'Export'/);
    expect(parseAsyncOperationMessage('text').ok).toBe(false);
  });
  it('maps a pac deployment settings file to ComponentParameters', () => {
    expect(
      componentParametersOf({
        EnvironmentVariables: [{ SchemaName: 'cr_url', Value: 'https://x' }],
        ConnectionReferences: [{ LogicalName: 'cr_sql', ConnectionId: 'c1', ConnectorId: '/providers/x/sql' }],
      }),
    ).toEqual([
      { '@odata.type': 'Microsoft.Dynamics.CRM.environmentvariablevalue', schemaname: 'cr_url', value: 'https://x' },
      {
        '@odata.type': 'Microsoft.Dynamics.CRM.connectionreference',
        connectionreferencelogicalname: 'cr_sql',
        connectionid: 'c1',
        connectorid: '/providers/x/sql',
      },
    ]);
  });
});

describe('asyncoperations query', () => {
  it('one query for a sweep, split only when the URL gets long, every id exactly once', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.uuid(), { minLength: 1, maxLength: 120 }), (ids) => {
        const queries = asyncOperationQueries(ids, 2000);
        const found = queries.flatMap((q) =>
          decodeURIComponent(q.split('$filter=')[1]!)
            .split(' or ')
            .map((t) => t.replace('asyncoperationid eq ', '')),
        );
        expect(found).toEqual(ids);
        for (const q of queries) expect(q.length <= 2000 || !q.includes(' or ')).toBe(true);
        expect(queries.length).toBe(Math.max(1, queries.length));
      }),
    );
    expect(
      asyncOperationQueries(
        Array.from({ length: 50 }, (_, i) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`),
        8000,
      ),
    ).toHaveLength(1);
  });
  it('recognises the Cannot start another [Import] refusal', () => {
    expect(isSolutionOperationBusy(new DataverseError({ code: '0x80071151', message: 'x', status: 400 }))).toBe(true);
    expect(
      isSolutionOperationBusy(
        new DataverseError({
          code: '',
          message: 'Cannot start another [Import] because there is a previous [Import] running at this moment.',
        }),
      ),
    ).toBe(true);
    expect(isSolutionOperationBusy(new DataverseError({ code: '0x80040237', message: 'duplicate' }))).toBe(false);
    expect(isSolutionOperationBusy({ code: '0x80071151', message: 'not an error of the client' })).toBe(false);
  });
});

describe('job states', () => {
  it('only move forward and end once', () => {
    fc.assert(
      fc.property(fc.constantFrom(...jobStates), fc.constantFrom(...jobStates), (from, to) => {
        if (['succeeded', 'partiallySucceeded', 'failed', 'canceled', 'timedOut', 'rejected'].includes(from))
          expect(canTransition(from, to)).toBe(false);
        if (canTransition(from, to) && canTransition(to, from)) throw new Error(`${from} <-> ${to}`);
      }),
    );
  });
  it('maps asyncoperation status codes', () => {
    expect(stateOfAsyncOperation({ asyncoperationid: guid, statecode: 3, statuscode: 30 })).toBe('succeeded');
    expect(stateOfAsyncOperation({ asyncoperationid: guid, statecode: 3, statuscode: 31 })).toBe('failed');
    expect(stateOfAsyncOperation({ asyncoperationid: guid, statecode: 3, statuscode: 32 })).toBe('canceled');
    expect(stateOfAsyncOperation({ asyncoperationid: guid, statecode: 2, statuscode: 20 })).toBe('running');
    expect(stateOfAsyncOperation({ asyncoperationid: guid, statecode: 0, statuscode: 0 })).toBe('submitted');
  });
  it('times out only submitted/running jobs past the maximum wait', () => {
    const submittedAt = '2026-01-01T00:00:00Z';
    const t = Date.parse(submittedAt);
    expect(isPastMaxWait({ state: 'running', submittedAt }, t + 61 * 60_000, 60)).toBe(true);
    expect(isPastMaxWait({ state: 'running', submittedAt }, t + 59 * 60_000, 60)).toBe(false);
    expect(isPastMaxWait({ state: 'queued', submittedAt }, t + 999 * 60_000, 60)).toBe(false);
  });
  it('settles batches', () => {
    expect(batchOutcome(['succeeded', 'running']).done).toBe(false);
    expect(batchOutcome(['succeeded', 'succeeded']).state).toBe('succeeded');
    expect(batchOutcome(['succeeded', 'failed', 'canceled'])).toMatchObject({
      state: 'partiallySucceeded',
      counts: { succeeded: 1, failed: 1, canceled: 1 },
    });
    expect(batchOutcome(['failed', 'canceled']).state).toBe('failed');
    expect(
      blockingPredecessor(
        [
          { id: 'a', state: 'failed', batchIndex: 0 },
          { id: 'b', state: 'queued', batchIndex: 1 },
        ],
        { batchIndex: 1 },
      )?.id,
    ).toBe('a');
    expect(blockingPredecessor([{ id: 'a', state: 'succeeded', batchIndex: 0 }], { batchIndex: 1 })).toBeUndefined();
  });
});

describe('solution zip checks', () => {
  it('reads name and version from solution.xml', () => {
    const read = readSolutionContents(
      buildSolutionZip({ uniqueName: 'contoso', version: '1.2.3.4', managed: true }),
      'contoso.zip',
    );
    expect(read).toEqual({
      ok: true,
      value: expect.objectContaining({ uniqueName: 'contoso', versionText: '1.2.3.4', managed: true }),
    });
  });
  it('refuses a zip bomb before inflating it', () => {
    const bomb = zipSync({ 'solution.xml': new Uint8Array(20 * 1024 * 1024) }, { level: 9 });
    expect(() => checkSolutionZip(bomb)).toThrow(expect.objectContaining({ code: 'ZipBomb' }));
    expect(() =>
      checkSolutionZip(buildSolutionZip({ uniqueName: 'x' }), {
        maxZipBytes: 10,
        maxEntries: 10,
        maxUncompressedBytes: 1e9,
        maxRatio: 200,
      }),
    ).toThrow(/over the limit/);
    const many = zipSync(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}.xml`, strToU8('x')])));
    expect(() =>
      checkSolutionZip(many, { maxZipBytes: 1e9, maxEntries: 20, maxUncompressedBytes: 1e9, maxRatio: 200 }),
    ).toThrow(/entries/);
  });
  it('names what is wrong with a package that is not a solution', () => {
    expect(readSolutionContents(strToU8('not a zip at all'), 'a.zip')).toEqual({
      ok: false,
      problems: [expect.objectContaining({ code: 'SolutionZipUnreadable', message: expect.stringContaining('a.zip') })],
    });
    expect(readSolutionContents(zipSync({ 'other.xml': strToU8('<a/>') }), 'b.zip')).toEqual({
      ok: false,
      problems: [
        expect.objectContaining({ code: 'NoSolutionXml', message: expect.stringMatching(/b\.zip.*no solution\.xml/) }),
      ],
    });
  });
  it('never throws on arbitrary bytes: a problem naming the file instead', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const read = readSolutionContents(bytes, 'any.zip');
        if (!read.ok) expect(read.problems[0]!.message).toContain('any.zip');
      }),
    );
  });
});

describe('import job log summary', () => {
  const log =
    `<importexportxml><solutionManifests><solutionManifest languagecode="1033" id="contoso" LocalizedName="Contoso">` +
    `<result result="failure" errorcode="0x8004F016" errortext="Missing dependency contoso_base" /></solutionManifest></solutionManifests>` +
    `<entities><entity id="{1}" name="account" LocalizedName="Account"><result result="success" errorcode="0" errortext="" /></entity>` +
    `<entity id="{2}" name="cr_thing" LocalizedName="Thing"><result result="warning" errorcode="0" errortext="w" /></entity></entities>` +
    `<workflows><workflow id="{3}" name="Flow A"><result result="failure" errorcode="0x80045043" errortext="Connection reference missing" /></workflow></workflows></importexportxml>`;
  it('keeps the failing components only', () => {
    const s = summariseImportJobLog(log);
    expect(s.failures).toEqual([
      {
        componentType: 'solutionManifest',
        name: 'Contoso',
        errorCode: '0x8004F016',
        errorText: 'Missing dependency contoso_base',
      },
      { componentType: 'workflow', name: 'Flow A', errorCode: '0x80045043', errorText: 'Connection reference missing' },
    ]);
    expect(s).toMatchObject({ warnings: 1, successes: 1, failureCount: 2, processed: 4 });
    // The count of processed components includes failures beyond those shown.
    expect(summariseImportJobLog(log, 1)).toMatchObject({ failureCount: 2, processed: 4 });
    expect(summariseImportJobLog(log, 1).failures).toHaveLength(1);
    expect(s.text).toBe(
      "solutionManifest 'Contoso': Missing dependency contoso_base (0x8004F016)\nworkflow 'Flow A': Connection reference missing (0x80045043)",
    );
  });
  it('survives text that is not XML', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(summariseImportJobLog(text).failures.length).toBeGreaterThanOrEqual(0);
      }),
    );
    expect(summariseImportJobLog(undefined).text).toBe('');
  });
  it('reads failure rows of the formatted (SpreadsheetML) results', () => {
    const xml =
      '<Row><Cell><Data>Account</Data></Cell><Cell><Data>Success</Data></Cell></Row><Row><Cell><Data>Flow A</Data></Cell><Cell><Data>Failure</Data></Cell><Cell><Data>Connection missing</Data></Cell></Row>';
    expect(summariseFormattedResults(xml)).toEqual(['Flow A | Failure | Connection missing']);
  });
});

describe('POST /api/imports body', () => {
  it('classifies zips, JSON and the rest', () => {
    const zip = buildSolutionZip({ uniqueName: 'x' });
    expect(
      classifyImportBody('application/zip', zip, { stageAndUpgrade: 'TRUE', publishWorkflows: 'false' }, 1e9),
    ).toMatchObject({ kind: 'zip', options: { stageAndUpgrade: true, publishWorkflows: false } });
    expect(classifyImportBody('application/json', strToU8(JSON.stringify({ solution: blob })), {}, 1e9)).toMatchObject({
      kind: 'json',
      message: { kind: 'ImportSolution' },
    });
    expect(classifyImportBody('text/plain', strToU8('x'), {}, 1e9)).toMatchObject({ kind: 'invalid', status: 415 });
    expect(classifyImportBody('application/zip', zip, {}, 10)).toMatchObject({ kind: 'invalid', status: 413 });
    expect(classifyImportBody('application/json', strToU8('{'), {}, 1e9)).toMatchObject({
      kind: 'invalid',
      status: 400,
    });
  });

  it('takes deployment settings as ?settings= JSON with a zip; text that is not JSON is left for validation to name', () => {
    const zip = buildSolutionZip({ uniqueName: 'x' });
    const settings = { EnvironmentVariables: [{ SchemaName: 'cr_url', Value: 'https://x' }], ConnectionReferences: [] };
    expect(classifyImportBody('application/zip', zip, { settings: JSON.stringify(settings) }, 1e9)).toMatchObject({
      kind: 'zip',
      options: { settings },
    });
    expect(classifyImportBody('application/zip', zip, { settings: '{oops' }, 1e9)).toMatchObject({
      options: { settings: '{oops' },
    });
  });
});
