/**
 * Issue 14's HTTP API end to end through the local host (compiled app from dist/), Azurite and the Dataverse
 * emulator: failed rows paged from `loadrows`, the error groups, the failed-rows file as a download, messages
 * naming column and value, retry (linked, same profile, never duplicating a row), live progress, and the
 * answers to bad input (404, 409, 400 naming the limit, 415).
 */
import { expect } from '@jest/globals';
import { BlobServiceClient } from '@azure/storage-blob';
import { postLoad, waitForLoad } from '../../bench/loadBenchmark';
import { startLocalStack, type LocalStack } from '../../dev/host/localStack';
import type { FailedRowView } from '../../shared/loads/loadRowsApi';

jest.setTimeout(240_000);

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    files: ['dist/functions/load*.js'],
    blobScanIntervalMs: 300,
    hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.300' } } },
    env: { LOAD_CHUNK_SIZE: '50' },
    emulator: { latency: { baseMs: 2, perOperationMs: 0, perTable: {} } },
  });
  const profile = {
    operation: 'upsert',
    alternateKey: 'emailaddress1',
    columns: { Last: 'lastname', Email: 'emailaddress1' },
    lookups: { Company: { attribute: 'parentcustomerid', table: 'account', by: 'accountnumber' } },
  };
  await BlobServiceClient.fromConnectionString(stack.storage)
    .getContainerClient('incoming')
    .getBlockBlobClient('contact/_profile.json')
    .upload(JSON.stringify(profile), JSON.stringify(profile).length);
});
afterAll(async () => {
  await stack?.stop();
});

interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

async function call<T = Record<string, unknown>>(path: string, init: RequestInit = {}): Promise<ApiAnswer<T>> {
  const response = await fetch(`${stack.api}${path}`, { ...init, signal: AbortSignal.timeout(30_000) });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = {};
  }
  return { status: response.status, headers: response.headers, body: body as T, text };
}

async function dataverse(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${stack.dataverse}${path}`, {
    method,
    headers: { authorization: 'Bearer test', accept: 'application/json', 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: response.status === 204 ? {} : await response.json() };
}

async function countWhere(set: string, filter: string): Promise<number> {
  const answer = await dataverse('GET', `${set}?$filter=${encodeURIComponent(filter)}`);
  return (answer.body as { value: unknown[] }).value.length;
}

/** A failed row as GET /api/loads/{id}/rows answers it. */
type RowItem = FailedRowView;

const wait = (id: string) => waitForLoad(() => stack.api, id, { timeoutMs: 120_000, pollMs: 150 });

describe('failed rows, error groups and the failed-rows file', () => {
  let loadId: string;
  const tag = `f${Date.now()}`;
  const csv = [
    'Last,Email,Company',
    `Ada,${tag}-1@example.com,P-1`,
    `Bob,${tag}-2@example.com,P-404`,
    `${'x'.repeat(60)},${tag}-3@example.com,P-1`,
    `Cy,${tag}-4@example.com,P-1`,
    `Di,${tag}-5@example.com,P-405`,
  ].join('\r\n');

  beforeAll(async () => {
    expect((await dataverse('POST', 'accounts', { name: 'Parent', accountnumber: 'P-1' })).status).toBe(204);
    loadId = (await postLoad(stack.api, 'contact', `${csv}\r\n`)).id;
    const view = await wait(loadId);
    expect(view).toMatchObject({ status: 'partiallySucceeded', counts: { total: 5, succeeded: 2, failed: 3 } });
  });

  test('GET rows pages the failed rows in row order, naming column and value; Dataverse code and text kept', async () => {
    const first = await call<{ items: RowItem[]; continuationToken?: string; nextLink?: string }>(
      `/loads/${loadId}/rows?state=failed&pageSize=2`,
    );
    expect(first.status).toBe(200);
    expect(first.body.items.map((i) => i.rowNumber)).toEqual([2, 3]);
    expect(first.body.continuationToken).toEqual(expect.any(String));
    expect(first.body.nextLink).toContain('continuationToken=');
    expect(first.body.items[0]).toEqual({
      rowNumber: 2,
      line: 3,
      column: 'Company',
      value: 'P-404',
      code: '0x80040217',
      message:
        "row 2, column 'Company' (parentcustomerid → account by accountnumber): no account with accountnumber 'P-404'",
      dataverse: {
        code: '0x80040217',
        message: 'A record with the specified key values does not exist in account entity',
      },
      key: { emailaddress1: `${tag}-2@example.com` },
      row: { Last: 'Bob', Email: `${tag}-2@example.com`, Company: 'P-404' },
    });
    expect(first.body.items[1]).toMatchObject({ rowNumber: 3, code: 'ConversionFailed', column: 'Last' });
    const second = await call<{ items: RowItem[]; continuationToken?: string }>(
      `/loads/${loadId}/rows?pageSize=2&continuationToken=${encodeURIComponent(first.body.continuationToken!)}`,
    );
    expect(second.status).toBe(200);
    expect(second.body.items.map((i) => [i.rowNumber, i.column, i.value])).toEqual([[5, 'Company', 'P-405']]);
    expect(second.body.continuationToken).toBeUndefined();
  });

  test('GET errors groups by code and column, largest first, with one sample each', async () => {
    const answer = await call(`/loads/${loadId}/errors`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      total: 3,
      groups: [
        {
          code: '0x80040217',
          column: 'Company',
          count: 2,
          sample: {
            rowNumber: 2,
            line: 3,
            value: 'P-404',
            message: expect.stringContaining("no account with accountnumber 'P-404'"),
            dataverse: { code: '0x80040217', message: expect.any(String) },
          },
        },
        {
          code: 'ConversionFailed',
          column: 'Last',
          count: 1,
          sample: {
            rowNumber: 3,
            line: 4,
            value: expect.any(String),
            message: expect.stringMatching(/^row 3, column 'Last'/),
          },
        },
      ],
    });
  });

  test('GET failed-rows streams the file in the input format with _error, as a download', async () => {
    const answer = await call(`/loads/${loadId}/failed-rows`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(answer.headers.get('content-disposition')).toBe(`attachment; filename="${loadId}.failed-rows.csv"`);
    const lines = answer.text.trim().split('\r\n');
    expect(lines[0]).toBe('Last,Email,Company,_error');
    expect(lines.slice(1).map((l) => l.split(',')[1])).toEqual([2, 3, 5].map((n) => `${tag}-${n}@example.com`));
    expect(lines[1]).toContain("no account with accountnumber 'P-404'");
  });

  test('GET the load: progress of every chunk and links to the routes above', async () => {
    const answer = await call<{
      progress: {
        rowsPerSecond: number;
        etaSeconds?: number;
        chunks: Record<string, unknown>;
        dataverse: Record<string, unknown>;
      };
      links: Record<string, unknown>;
    }>(`/loads/${loadId}`);
    expect(answer.body.progress).toMatchObject({
      rowsPerSecond: expect.any(Number),
      chunks: {
        total: 1,
        queued: 0,
        running: 0,
        done: 1,
        items: [{ index: 0, firstRow: 1, rowCount: 5, state: 'done', succeeded: 2, failed: 3 }],
      },
      dataverse: { concurrency: expect.any(Number), throttledLastMinute: 0 },
    });
    expect(answer.body.progress.etaSeconds).toBeUndefined();
    expect(answer.body.links).toMatchObject({
      rows: `/api/loads/${loadId}/rows?state=failed`,
      errors: `/api/loads/${loadId}/errors`,
      failedRowsFile: `/api/loads/${loadId}/failed-rows`,
      retry: `/api/loads/${loadId}/retry`,
    });
  });

  test('POST retry loads exactly the failed rows, linked, with the same profile; a body loads the corrected file', async () => {
    // Fixed at the Dataverse side: P-404 now exists.
    expect((await dataverse('POST', 'accounts', { name: 'Late parent', accountnumber: 'P-404' })).status).toBe(204);
    const retried = await call<{ id: string; statusUrl: string }>(`/loads/${loadId}/retry`, { method: 'POST' });
    expect(retried.status).toBe(202);
    expect(retried.body.statusUrl).toBe(`/api/loads/${retried.body.id}`);
    expect(retried.headers.get('location')).toBe(retried.body.statusUrl);
    const view = await wait(retried.body.id);
    expect(view).toMatchObject({
      status: 'partiallySucceeded',
      table: 'contact',
      operation: 'upsert',
      retryOf: loadId,
      counts: { total: 3, succeeded: 1, failed: 2, notProcessed: 0 },
    });
    expect(await countWhere('contacts', `emailaddress1 eq '${tag}-2@example.com'`)).toBe(1);

    // The corrected failed-rows file (the _error column left in) as the body.
    const fixed = `Last,Email,Company,_error\r\nShort,${tag}-3@example.com,P-1,was too long\r\nDi,${tag}-5@example.com,P-1,fixed\r\n`;
    const withBody = await call<{ id: string }>(`/loads/${retried.body.id}/retry`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: fixed,
    });
    expect(withBody.status).toBe(202);
    const fixedView = await wait(withBody.body.id);
    expect(fixedView).toMatchObject({
      status: 'succeeded',
      retryOf: retried.body.id,
      counts: { total: 2, succeeded: 2 },
    });
    for (const n of [1, 2, 3, 4, 5])
      expect(await countWhere('contacts', `emailaddress1 eq '${tag}-${n}@example.com'`)).toBe(1);
  });
});

describe('messages', () => {
  test('a duplicate alternate key on create names the key column and value', async () => {
    const tag = `d${Date.now()}`;
    const { id } = await postLoad(
      stack.api,
      'account',
      `name,accountnumber\r\nFirst,${tag}\r\nSecond,${tag}\r\n`,
      'operation=create&continueOnError=true',
    );
    expect(await wait(id)).toMatchObject({ counts: { succeeded: 1, failed: 1 } });
    const { body } = await call<{ items: RowItem[] }>(`/loads/${id}/rows`);
    expect(body.items).toEqual([
      expect.objectContaining({
        column: 'accountnumber',
        value: tag,
        code: '0x80040237',
        message: `row ${body.items[0]!.rowNumber}, column 'accountnumber': another account already has accountnumber '${tag}'`,
        dataverse: {
          code: '0x80040237',
          message: expect.stringMatching(/^A record with matching key values already exists\./),
        },
      }),
    ]);
  });
});

describe('the failed-rows file in the input format', () => {
  test.each([
    ['json', 'application/json'],
    ['ndjson', 'application/x-ndjson'],
  ])('%s: the rows as sent with an _error field, named after the source', async (format, contentType) => {
    const tag = `j${Date.now()}`;
    const rows = [{ name: `${tag}-1` }, { name: `${tag}-2`, numberofemployees: 'many' }, { name: `${tag}-3` }];
    const body = format === 'json' ? JSON.stringify(rows) : rows.map((r) => JSON.stringify(r)).join('\n');
    const { id } = await postLoad(stack.api, 'account', body, 'operation=create', contentType);
    expect(await wait(id)).toMatchObject({ status: 'partiallySucceeded', counts: { succeeded: 2, failed: 1 } });
    const answer = await call(`/loads/${id}/failed-rows`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe(contentType);
    expect(answer.headers.get('content-disposition')).toBe(`attachment; filename="${id}.failed-rows.${format}"`);
    const written = (
      format === 'json'
        ? JSON.parse(answer.text)
        : answer.text
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as unknown)
    ) as Record<string, unknown>[];
    expect(written).toEqual([
      {
        name: `${tag}-2`,
        numberofemployees: 'many',
        _error: expect.stringMatching(/^row 2, column 'numberofemployees'/),
      },
    ]);
  });
});

describe('retry never duplicates a created row', () => {
  test('a create load retried twice creates each failed row once (its record id is kept from the first file)', async () => {
    const tag = `c${Date.now()}`;
    const parentId = '00000000-0000-0000-0000-00000000c0de';
    const csv = `name,parentaccountid\r\n${tag}-1,\r\n${tag}-2,${parentId}\r\n${tag}-3,\r\n`;
    const { id } = await postLoad(stack.api, 'account', csv, 'operation=create');
    expect(await wait(id)).toMatchObject({ status: 'partiallySucceeded', counts: { succeeded: 2, failed: 1 } });
    expect((await dataverse('POST', 'accounts', { accountid: parentId, name: 'Parent' })).status).toBe(204);
    const first = await call<{ id: string }>(`/loads/${id}/retry`, { method: 'POST' });
    expect(await wait(first.body.id)).toMatchObject({ status: 'succeeded', counts: { total: 1, succeeded: 1 } });
    // A second retry of the same load: the row is already in Dataverse under its id, so it counts as done.
    const second = await call<{ id: string }>(`/loads/${id}/retry`, { method: 'POST' });
    expect(await wait(second.body.id)).toMatchObject({ status: 'succeeded', counts: { total: 1, succeeded: 1 } });
    expect(await countWhere('accounts', `name eq '${tag}-2'`)).toBe(1);
  });
});

describe('returnResponses', () => {
  test('keeps the id of every upserted record and whether it was created or updated', async () => {
    const tag = `r${Date.now()}`;
    const query = 'operation=upsert&key=accountnumber&returnResponses=true';
    const first = await postLoad(stack.api, 'account', `name,accountnumber\r\nOne,${tag}-1\r\n`, query);
    expect(await wait(first.id)).toMatchObject({ status: 'succeeded' });
    const { id } = await postLoad(
      stack.api,
      'account',
      `name,accountnumber\r\nOne again,${tag}-1\r\nTwo,${tag}-2\r\n`,
      query,
    );
    expect(await wait(id)).toMatchObject({ status: 'succeeded', counts: { succeeded: 2 } });
    const results = await BlobServiceClient.fromConnectionString(stack.storage)
      .getContainerClient('load-results')
      .getBlockBlobClient(`${id}/results/chunk-000000.json`)
      .downloadToBuffer();
    const { items } = JSON.parse(results.toString('utf8')) as {
      items: { rowNumber: number; id?: string; operation?: string }[];
    };
    const existing = (await dataverse('GET', `accounts(accountnumber='${tag}-1')?$select=accountid`)).body as {
      accountid: string;
    };
    const created = (await dataverse('GET', `accounts(accountnumber='${tag}-2')?$select=accountid`)).body as {
      accountid: string;
    };
    expect(items).toEqual([
      { requestIndex: 0, rowNumber: 1, id: existing.accountid, operation: 'updated' },
      { requestIndex: 1, rowNumber: 2, id: created.accountid, operation: 'created' },
    ]);
  });
});

describe('live progress', () => {
  test('while a load runs: rows/s, ETA, chunk states, concurrency and the 429s of the last minute', async () => {
    stack.emulator!.configure({ latency: { baseMs: 150 }, faults: { rate429: 0.2 } });
    try {
      const tag = `p${Date.now()}`;
      const rows = Array.from({ length: 1500 }, (_, i) => `${tag}-${i + 1},P${i + 1}`).join('\r\n');
      const { id } = await postLoad(stack.api, 'account', `name,accountnumber\r\n${rows}\r\n`, 'operation=create');
      const running: { rowsPerSecond: number; etaSeconds?: number; chunks: Record<string, number> }[] = [];
      const end = await waitForLoad(() => stack.api, id, {
        timeoutMs: 180_000,
        pollMs: 200,
        onProgress: (view) => {
          const progress = (view as unknown as { progress?: (typeof running)[number] }).progress;
          if (view.status === 'running' && progress && progress.chunks.done! > 0) running.push(progress);
        },
      });
      expect(end).toMatchObject({ status: 'succeeded', counts: { total: 1500, succeeded: 1500 } });
      const seen = running.find((p) => p.etaSeconds !== undefined);
      expect(seen).toMatchObject({
        rowsPerSecond: expect.any(Number),
        etaSeconds: expect.any(Number),
        chunks: { total: 30 },
      });
      expect(seen!.rowsPerSecond).toBeGreaterThan(0);
      expect(seen!.chunks.done! + seen!.chunks.running! + seen!.chunks.queued!).toBe(30);
      const final = await call<{
        progress: { chunks: { done: number }; dataverse: { concurrency: number; throttledLastMinute: number } };
      }>(`/loads/${id}`);
      expect(final.body.progress.chunks.done).toBe(30);
      expect(final.body.progress.dataverse.concurrency).toBeGreaterThanOrEqual(1);
      expect(final.body.progress.dataverse.throttledLastMinute).toBeGreaterThan(0);
    } finally {
      stack.emulator!.configure({ latency: { baseMs: 2 }, faults: { rate429: 0 } });
    }
  });
});

describe('bad input', () => {
  const unknown = '00000000-0000-0000-0000-00000000dead';

  test.each([
    ['GET', `/loads/${unknown}/rows`],
    ['GET', `/loads/${unknown}/errors`],
    ['GET', `/loads/${unknown}/failed-rows`],
    ['POST', `/loads/${unknown}/retry`],
  ])('%s %s of an unknown load → 404 naming the id', async (method, path) => {
    const answer = await call(path, { method });
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ error: { code: 'LoadNotFound', message: `no load with id '${unknown}'` } });
  });

  test('a page size out of range → 400 naming the limit; an unknown parameter → 400 naming it', async () => {
    const { id } = await postLoad(stack.api, 'account', 'name\r\nx\r\n', 'operation=create');
    for (const size of ['0', '1001', 'ten']) {
      const answer = await call(`/loads/${id}/rows?pageSize=${size}`);
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({
        error: { code: 'InvalidPageSize', message: `pageSize: an integer from 1 to 1000 (got '${size}')` },
      });
    }
    const unknownParameter = await call(`/loads/${id}/rows?page=2`);
    expect(unknownParameter.status).toBe(400);
    expect(unknownParameter.text).toMatch(/unknown query parameter\(s\) page/);
    await wait(id);
  });

  test('a retry of a running load → 409; of a load with nothing failed → 409; a body in another format → 415', async () => {
    stack.emulator!.configure({ latency: { baseMs: 400 } });
    let id: string;
    try {
      id = (await postLoad(stack.api, 'account', 'name\r\nslow\r\n', 'operation=create')).id;
      const running = await call(`/loads/${id}/retry`, { method: 'POST' });
      expect(running.status).toBe(409);
      expect(running.body).toEqual({
        error: { code: 'LoadRunning', message: expect.stringMatching(/is still (queued|running)/) },
      });
    } finally {
      stack.emulator!.configure({ latency: { baseMs: 2 } });
    }
    expect(await wait(id)).toMatchObject({ status: 'succeeded' });
    const nothing = await call(`/loads/${id}/retry`, { method: 'POST' });
    expect(nothing.status).toBe(409);
    expect(nothing.body).toMatchObject({ error: { code: 'NothingToRetry' } });
    const json = await call(`/loads/${id}/retry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[{"name":"x"}]',
    });
    expect(json.status).toBe(415);
    expect(json.body).toEqual({
      error: {
        code: 'FormatMismatch',
        message: expect.stringMatching(/the retry body is JSON but load '.*' read CSV/),
      },
    });
  });
});
