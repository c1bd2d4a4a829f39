/**
 * Crafted inputs, each rejected with a clear error before it reaches storage or Dataverse: HTTP auth level,
 * body sizes, query and route parameters, queue messages, blob names and metadata, Table Storage keys, OData
 * names and literals, solution zips. Runs over Azurite and the emulator (its stats prove no request went out).
 */
import { expect } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { strToU8, zipSync } from 'fflate';
import { odataLiteral } from '../../shared/ingestion/odataKeys';
import type { JobRuntime } from '../../shared/jobs/jobRuntime';
import {
  cancelImport,
  getImport,
  listJobsPage,
  receiveAsyncOperationMessage,
  receiveDroppedSolution,
  submitImport,
} from '../../shared/jobs/jobTriggers';
import { indexRowKey } from '../../shared/storage/jobIndex';
import { laneKey } from '../../shared/jobs/jobStore';
import { checkSolutionZip } from '../../shared/jobs/solutionPackage';
import { readSolutionContents } from '../../shared/jobs/release/solutionContents';
import { getLoad, submitLoad } from '../../shared/loads/loadApi';
import { receiveLoadQueueMessage, receiveDroppedFile } from '../../shared/loads/loadTriggers';
import { TableNotFoundError } from '../../shared/loads/tableMetadataSource';
import {
  checkBlobName,
  checkTableKey,
  jobIdPattern,
  loadIdPattern,
  tableKeyProblem,
} from '../../shared/security/inputChecks';
import { startLoadFixture, type LoadFixture } from '../shared/loads/loadFixture';

jest.setTimeout(120_000);

let f: LoadFixture;
let jobs: JobRuntime;
const requests = () => f.emulator.stats().requests;

beforeAll(async () => {
  f = await startLoadFixture({ maxFileBytes: 10_000, settings: { IMPORTS_MAX_BODY_BYTES: '2048' } });
  jobs = f.app.jobs;
});
afterAll(() => f?.close());

describe('HTTP functions', () => {
  const sources = readdirSync(join(__dirname, '../../functions'))
    .filter((n) => n.endsWith('.ts'))
    .map((n) => [n, readFileSync(join(__dirname, '../../functions', n), 'utf8')] as const);

  test("every app.http registration uses authLevel 'function'", () => {
    const registrations = sources.flatMap(([file, text]) =>
      [...text.matchAll(/app\.http\(\s*'([^']+)'\s*,\s*\{([\s\S]*?)\bhandler\b/g)].map((m) => ({
        file,
        name: m[1]!,
        options: m[2]!,
      })),
    );
    expect(registrations.map((r) => r.name).sort()).toEqual([
      'importsHttpCancel',
      'importsHttpGet',
      'importsHttpPost',
      'jobsHttp',
      'loadsHttpErrors',
      'loadsHttpFailedRows',
      'loadsHttpGet',
      'loadsHttpPost',
      'loadsHttpRetry',
      'loadsHttpRows',
      'plansHttpGet',
      'plansHttpPost',
      'releasesHttpGet',
      'releasesHttpPost',
      'solutionsHttpGet',
      'uiHttp',
    ]);
    for (const r of registrations)
      expect({ name: r.name, authLevel: /authLevel:\s*'(\w+)'/.exec(r.options)?.[1] }).toEqual({
        name: r.name,
        authLevel: 'function',
      });
    // Nothing registers HTTP another way (app.get/post… or a generic trigger).
    for (const [, text] of sources) expect(text).not.toMatch(/app\.(get|post|put|patch|deleteRequest|generic)\(/);
  });

  test('function files hold no business logic: no process.env, no storage or Dataverse client calls', () => {
    for (const [file, text] of sources) {
      expect({ file, env: /process\.env/.test(text) }).toEqual({ file, env: false });
      expect({ file, sdk: /getBlockBlobClient|sendMessage|uploadData|createEntity|client\.send/.test(text) }).toEqual({
        file,
        sdk: false,
      });
    }
  });
});

describe('HTTP bodies, query and route parameters', () => {
  // A body stream that fails if it is read at all (a plain Error, so not a 413 of the app's own).
  const neverRead: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => {
      throw new Error('the body must not be read');
    },
  };

  test('loads POST: an announced or actual body over LOAD_MAX_FILE_BYTES is 413 (announced: before reading it)', async () => {
    await expect(
      submitLoad(f.ctx, {
        table: 'account',
        query: {},
        contentType: 'text/csv',
        declaredLength: 10_001,
        body: neverRead,
      }),
    ).rejects.toMatchObject({
      statusCode: 413,
      code: 'FileTooLarge',
      message: expect.stringContaining('LOAD_MAX_FILE_BYTES'),
    });
    await expect(
      submitLoad(f.ctx, { table: 'account', query: {}, contentType: 'text/csv', body: Buffer.alloc(10_001, 0x41) }),
    ).rejects.toMatchObject({ statusCode: 413 });
  });

  test('imports POST: a body over IMPORTS_MAX_BODY_BYTES is 413, announced or not', async () => {
    await expect(
      submitImport(jobs, {
        origin: 'http://x',
        query: {},
        contentType: 'application/zip',
        declaredLength: 4096,
        body: neverRead,
      }),
    ).rejects.toMatchObject({ statusCode: 413, message: expect.stringContaining('IMPORTS_MAX_BODY_BYTES') });
    await expect(
      submitImport(jobs, {
        origin: 'http://x',
        query: {},
        contentType: 'application/zip',
        body: new Uint8Array(4096),
      }),
    ).rejects.toMatchObject({ statusCode: 413 });
    await expect(
      submitImport(jobs, {
        origin: 'http://x',
        query: {},
        contentType: 'application/json',
        correlationId: 'a\nb',
        body: strToU8('{}'),
      }),
    ).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining('x-correlation-id') });
  });

  test('query parameters are validated (unknown names, bad values)', async () => {
    await expect(
      submitLoad(f.ctx, {
        table: 'account',
        query: { $filter: 'x' },
        contentType: 'text/csv',
        body: Buffer.from('name\na'),
      }),
    ).rejects.toMatchObject({
      statusCode: 400,
      code: 'InvalidQuery',
      message: expect.stringContaining('unknown query parameter'),
    });
    await expect(listJobsPage(jobs, { pageSize: 'abc' }, 'http://x/api/jobs')).rejects.toMatchObject({
      statusCode: 400,
      code: 'InvalidPageSize',
    });
    await expect(listJobsPage(jobs, { pageSize: '5000' }, 'http://x/api/jobs')).rejects.toMatchObject({
      statusCode: 400,
      code: 'InvalidPageSize',
    });
    await expect(listJobsPage(jobs, { top: '1' }, 'http://x/api/jobs')).rejects.toMatchObject({
      message: expect.stringContaining('unknown query parameter(s) top'),
    });
    await expect(
      listJobsPage(jobs, { continuationToken: "x' or PartitionKey ne '" }, 'http://x/api/jobs'),
    ).rejects.toMatchObject({ statusCode: 400, code: 'InvalidQuery' });
  });

  test.each(['../loads', 'a/b', 'a\\b', 'a#b', 'a?b', 'a\u0000b', 'x'.repeat(101), "' or ''='"])(
    'route id %j is refused as a load id and a job id',
    async (id) => {
      await expect(getLoad(f.ctx, id)).rejects.toMatchObject({ statusCode: 400, code: 'InvalidLoadId' });
      await expect(getImport(jobs, id)).rejects.toMatchObject({ statusCode: 400, code: 'InvalidJobId' });
      await expect(cancelImport(jobs, id)).rejects.toMatchObject({ statusCode: 400, code: 'InvalidJobId' });
    },
  );
});

describe('queue messages', () => {
  test('chunk messages: oversize, bad schema or an unsafe load id are dropped with the reason', async () => {
    const attempt = { attempt: 1, maxAttempts: 5 };
    expect(await receiveLoadQueueMessage(f.ctx, 'x'.repeat(70_000), attempt)).toMatchObject({
      kind: 'rejected',
      reason: expect.stringContaining('over the 65536-byte limit'),
    });
    expect(
      await receiveLoadQueueMessage(
        f.ctx,
        { loadId: '../x', chunkIndex: 0, firstRow: 1, rowCount: 1, firstLine: 1 },
        attempt,
      ),
    ).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('loadId') });
    expect(
      await receiveLoadQueueMessage(
        f.ctx,
        { loadId: 'abc', chunkIndex: -1, firstRow: 1, rowCount: 1, firstLine: 1, extra: 1 },
        attempt,
      ),
    ).toMatchObject({ kind: 'rejected' });
    expect(await receiveLoadQueueMessage(f.ctx, 'not json', attempt)).toMatchObject({
      kind: 'rejected',
      reason: expect.stringContaining('not JSON'),
    });
  });

  test('dataverse-async: an oversize message is dropped unrecorded; a bad blob name or job id is refused', async () => {
    const big = await receiveAsyncOperationMessage(
      jobs,
      JSON.stringify({ kind: 'ImportSolution', pad: 'x'.repeat(70_000) }),
      { messageId: '6f1c2b7e-0d6a-4c59-9a51-0e7d2f9b8c11' },
    );
    expect(big).toMatchObject({ state: 'rejected', created: false, reason: expect.stringContaining('65536') });
    expect(await jobs.getJob('6f1c2b7e-0d6a-4c59-9a51-0e7d2f9b8c11')).toBeUndefined();
    const traversal = await receiveAsyncOperationMessage(
      jobs,
      { kind: 'ImportSolution', jobId: 'a/b#c', solution: { container: 'solutions', name: '../secrets/x.zip' } },
      { messageId: '7f1c2b7e-0d6a-4c59-9a51-0e7d2f9b8c12' },
    );
    // The unsafe jobId is not used as a key: the message id is.
    expect(traversal).toMatchObject({
      jobId: '7f1c2b7e-0d6a-4c59-9a51-0e7d2f9b8c12',
      state: 'rejected',
      reason: expect.stringContaining("not a safe blob name: a path segment is '..'"),
    });
  });
});

describe('blob names and metadata', () => {
  test.each([
    ['..', 'x.csv', "'..'"],
    ["account'); DROP", 'x.csv', 'not a Dataverse logical name'],
    ['accounts?$filter=name eq 1', 'x.csv', "contains '?'"],
    ['account', 'a\\..\\x.csv', "contains '\\'"],
    ['account', 'x#1.csv', "contains '#'"],
    ['account', 'x\u0007.csv', 'control character'],
    ['account', `${'x'.repeat(300)}.csv`, 'characters long'],
    ['account', 'sub/../../x.csv', "'..'"],
    ['x'.repeat(300), 'x.csv', 'characters long'],
  ])('a drop at incoming/%j/%j is rejected before storage or Dataverse', async (table, name, reason) => {
    const before = requests();
    const result = await receiveDroppedFile(f.ctx, { container: 'incoming', table, name });
    expect(result).toMatchObject({ kind: 'rejected', reason: expect.stringContaining(reason) });
    expect(requests()).toBe(before);
  });

  test('solution drops: unsafe names and oversized metadata are rejected', async () => {
    expect(await receiveDroppedSolution(jobs, 'a/../b.zip')).toMatchObject({
      kind: 'rejected',
      code: 'InvalidBlobName',
    });
    const container = f.storage.blobService.getContainerClient('solutions');
    await container.createIfNotExists();
    await container
      .getBlockBlobClient('meta.zip')
      .uploadData(zipSync({ 'solution.xml': strToU8('<a/>') }), { metadata: { stageandupgrade: 'x'.repeat(2000) } });
    expect(await receiveDroppedSolution(jobs, 'meta.zip')).toMatchObject({
      kind: 'rejected',
      code: 'InvalidBlobMetadata',
      reason: expect.stringContaining('at most 1024'),
    });
  });

  test('checkBlobName: any name it accepts has no traversal, backslash, #, ? or control character (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40, unit: 'binary' }), (name) => {
        let ok = true;
        try {
          checkBlobName(name);
        } catch {
          ok = false;
        }
        if (ok)
          expect(name.split('/').some((s) => s === '..' || s === '.' || s === '') || /[\\#?\p{Cc}]/u.test(name)).toBe(
            false,
          );
      }),
      { numRuns: 2000 },
    );
  });
});

describe('Table Storage keys', () => {
  test('every key the stores build is safe, for any id the schemas admit (property)', () => {
    const loadId = fc.stringMatching(loadIdPattern);
    const jobId = fc.stringMatching(jobIdPattern);
    fc.assert(
      fc.property(
        loadId,
        jobId,
        fc.date({ min: new Date(0), max: new Date(8e15), noInvalidDate: true }),
        fc.string(),
        (l, j, d, env) => {
          for (const key of [l, j, indexRowKey(d.toISOString(), j), laneKey(env)])
            expect(tableKeyProblem(key)).toBeUndefined();
        },
      ),
    );
  });

  test.each(['a/b', 'a\\b', 'a#b', 'a?b', 'a\tb', 'é'.repeat(600)])('checkTableKey refuses %j', (key) => {
    expect(() => checkTableKey(key, 'the key')).toThrow(/the key .* (contains|is over)/);
  });
});

describe('OData injection', () => {
  test.each(["account'); DROP", 'accounts?$filter=name eq 1', "account')/Attributes", 'account/../systemusers'])(
    'table %j: rejected before any request',
    async (table) => {
      const before = requests();
      await expect(f.ctx.metadata.get(table)).rejects.toBeInstanceOf(TableNotFoundError);
      await expect(
        submitLoad(f.ctx, { table, query: {}, contentType: 'text/csv', body: Buffer.from('name\na') }),
      ).rejects.toMatchObject({ statusCode: 400, code: 'InvalidTable' });
      expect(requests()).toBe(before);
    },
  );

  test('column and key names come from the file and query only if the table metadata has them', async () => {
    await f.drop('account/inject.csv', 'name,"name eq \'x\') or (1 eq 1"\nA,B\n');
    const started = await receiveDroppedFile(f.ctx, { container: 'incoming', table: 'account', name: 'inject.csv' });
    expect(started).toMatchObject({
      kind: 'failed',
      record: { message: expect.stringMatching(/name eq 'x'\) or \(1 eq 1/) },
    });
    const before = f.emulator.stats();
    const { id } = await submitLoad(f.ctx, {
      table: 'account',
      query: { operation: 'upsert', key: "accountnumber') or (1 eq 1" },
      contentType: 'text/csv',
      body: Buffer.from('name\na'),
    });
    await receiveDroppedFile(f.ctx, { container: 'incoming', table: 'account', name: `${id}.csv` });
    expect(await f.ctx.store.get(id)).toMatchObject({
      status: 'failed',
      message: expect.stringContaining("accountnumber') or (1 eq 1"),
    });
    // Only metadata reads went out for these two loads: no record request carried the crafted names.
    expect(f.emulator.stats().operations).toBe(before.operations);
  });

  test("a key value with a quote (O'Brien) is escaped: the upsert updates the one record, nothing breaks out", async () => {
    f.emulator.reset();
    const meta = { operation: 'upsert', alternatekey: 'accountnumber', executionmode: 'batch' };
    for (const [i, name] of ['first', 'second'].entries()) {
      await f.drop(`account/obrien-${i}.csv`, `name,accountnumber\n${name},O'Brien\nother,"x') or (1 eq 1"\n`, {
        metadata: meta,
      });
      await receiveDroppedFile(f.ctx, { container: 'incoming', table: 'account', name: `obrien-${i}.csv` });
      await f.drain();
    }
    expect(f.emulator.stats().recordsPerTable.account).toBe(2);
    const found = await f.ctx.client.send({
      method: 'GET',
      path: `accounts?$select=name,accountnumber&$filter=accountnumber eq ${odataLiteral("O'Brien")}`,
    });
    expect((found.body as { value: { name: string; accountnumber: string }[] }).value).toEqual([
      expect.objectContaining({ name: 'second', accountnumber: "O'Brien" }),
    ]);
  });
});

describe('solution zips', () => {
  test('a crafted high-ratio zip and one with too many entries are refused before anything is inflated', () => {
    const bomb = zipSync({ 'solution.xml': new Uint8Array(50 * 1024 * 1024) }, { level: 9 });
    expect(() => checkSolutionZip(bomb)).toThrow(
      expect.objectContaining({ code: 'ZipBomb', message: expect.stringContaining('ratio 200') }),
    );
    expect(readSolutionContents(bomb, 'bomb.zip')).toEqual({
      ok: false,
      problems: [
        expect.objectContaining({ code: 'SolutionZipUnreadable', message: expect.stringContaining('ratio 200') }),
      ],
    });
    const many = zipSync(Object.fromEntries(Array.from({ length: 20_001 }, (_, i) => [`f${i}`, new Uint8Array(0)])), {
      level: 0,
    });
    expect(() => checkSolutionZip(many)).toThrow(
      expect.objectContaining({ code: 'ZipBomb', message: expect.stringContaining('20001 entries') }),
    );
  });

  test('a zip whose directory understates sizes inflates no more than it declares', () => {
    const xml = `<ImportExportXml><SolutionManifest><UniqueName>a</UniqueName><Version>1.0</Version></SolutionManifest></ImportExportXml>${' '.repeat(5_000_000)}`;
    const zip = zipSync({ 'solution.xml': strToU8(xml) }, { level: 9 });
    const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    let directory = -1;
    for (let i = zip.length - 22; i >= 0 && directory < 0; i--)
      if (view.getUint32(i, true) === 0x06054b50) directory = view.getUint32(i + 16, true);
    view.setUint32(directory + 24, 100, true); // central directory: uncompressed size
    view.setUint32(22, 100, true); // local header: uncompressed size
    expect(checkSolutionZip(zip).uncompressed).toBe(100);
    // The output buffer is the declared 100 bytes: the manifest is cut, never 5 MB.
    expect(readSolutionContents(zip, 'cut.zip')).toEqual({ ok: false, problems: [expect.anything()] });
  });
});
