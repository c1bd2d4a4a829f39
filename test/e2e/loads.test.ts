/**
 * End to end through the local host (child process, compiled app from dist/ — `npm test` builds first), Azurite
 * and the Dataverse emulator: a 100,000-row CSV with 1% bad rows, plain, with the host SIGKILLed and restarted
 * mid-load, and with the emulator injecting 429s, 503s and dropped connections; the six-row ExecuteMultiple
 * table over HTTP; a blob delivered twice.
 */
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { accountsCsv, getLoadView, postLoad, waitForLoad, type LoadView } from '../../bench/loadBenchmark';
import { startLocalStack, type LocalStack } from '../../dev/host/localStack';
import { recordIdFor } from '../../shared/ingestion/recordId';
import { loadIdFor } from '../../shared/loads/loadScan';

jest.setTimeout(300_000);

const rows = 100_000;
let stack: LocalStack;
let blobs: BlobServiceClient;

beforeAll(async () => {
  stack = await startLocalStack({
    files: ['dist/functions/load*.js'],
    blobScanIntervalMs: 500,
    // The SIGKILLed host keeps the sweeper's singleton lock until its 15 s lease runs out; the restarted one polls for it.
    listenerLockRecoveryPollingMs: 500,
    hostJson: {
      singleton: { listenerLockPeriod: '00:00:15' },
      extensions: { queues: { maxPollingInterval: '00:00:00.500' } },
    },
    // Every file here takes the large-file path (the trigger's scan message); test/e2e/resilience runs small files inline.
    env: { LOAD_SWEEP_SCHEDULE: '*/3 * * * * *', LOAD_STALL_SECONDS: '8', LOAD_INLINE_SCAN_MAX_BYTES: '0' },
    emulator: { latency: { baseMs: 2, perOperationMs: 0, perTable: {} } },
  });
  blobs = BlobServiceClient.fromConnectionString(stack.storage);
});
afterAll(async () => {
  await stack?.stop();
});

const accounts = () => stack.emulator!.stats().recordsPerTable.account ?? 0;

async function emulatorGet(
  path: string,
): Promise<{ status: number; body: { value?: unknown[] } & Record<string, unknown> }> {
  const response = await fetch(`${stack.dataverse}${path}`, {
    headers: { authorization: 'Bearer test', accept: 'application/json' },
  });
  return { status: response.status, body: response.status === 204 ? {} : ((await response.json()) as never) };
}

async function failedRowEntities(loadId: string): Promise<{ rowNumber: number; code: string; message: string }[]> {
  const table = TableClient.fromConnectionString(stack.storage, 'loadrows', { allowInsecureConnection: true });
  const found: { rowNumber: number; code: string; message: string }[] = [];
  for await (const e of table.listEntities<{ rowNumber: number; code: string; message: string }>({
    queryOptions: { filter: `PartitionKey eq '${loadId}'` },
  }))
    found.push(e);
  return found;
}

async function download(container: string, name: string): Promise<string> {
  return (await blobs.getContainerClient(container).getBlockBlobClient(name).downloadToBuffer()).toString('utf8');
}

/** What (b), (c) and (d) all require of a finished 100k load. */
async function expectExactlyOnce(
  view: LoadView,
  csv: ReturnType<typeof accountsCsv>,
  tag: string,
  recordsBefore: number,
  fileKey?: string,
) {
  const bad = csv.conversionBad.length + csv.dataverseBad.length;
  expect(bad).toBe(rows / 100);
  expect(view).toMatchObject({
    status: 'partiallySucceeded',
    counts: { total: rows, succeeded: rows - bad, failed: bad, notProcessed: 0 },
  });
  expect(view.counts.succeeded + view.counts.failed + view.counts.notProcessed).toBe(view.counts.total);
  // Every good row exists exactly once.
  expect(accounts() - recordsBefore).toBe(rows - bad);
  for (const row of [1, 2, 777, 50_001, rows]) {
    const found = await emulatorGet(`accounts?$select=name&$filter=accountnumber eq '${tag}-${row}'`);
    expect(found.body.value).toHaveLength(1);
  }
  for (const row of [csv.conversionBad[3]!, csv.dataverseBad[7]!]) {
    expect(
      (await emulatorGet(`accounts?$select=name&$filter=accountnumber eq '${tag}-${row}'`)).body.value,
    ).toHaveLength(0);
  }
  if (fileKey)
    expect(
      (await emulatorGet(`accounts(${recordIdFor(fileKey, 4242)})?$select=accountnumber`)).body.accountnumber,
    ).toBe(`${tag}-4242`);
  // Every bad row is in the failed-row table with its reason...
  const failed = await failedRowEntities(view.id);
  expect(failed.map((f) => f.rowNumber).sort((a, b) => a - b)).toEqual(
    [...csv.conversionBad, ...csv.dataverseBad].sort((a, b) => a - b),
  );
  const byRow = new Map(failed.map((f) => [f.rowNumber, f]));
  expect(byRow.get(csv.conversionBad[0]!)).toMatchObject({ code: 'ConversionFailed' });
  expect(byRow.get(csv.conversionBad[0]!)!.message).toMatch(/column 'numberofemployees'.*n\/a/);
  expect(byRow.get(csv.dataverseBad[0]!)!.message).toMatch(
    /column 'parentaccountid' \(parentaccountid → account by id\): no account with id '0{8}-0{4}-0{4}-0{4}-0{10}ff'/,
  );
  // ...and in the failed-rows file, in the input format plus the error column.
  const file = (await download(view.links.failedRows!.container, view.links.failedRows!.name)).trim().split('\r\n');
  expect(file[0]).toBe('name,accountnumber,numberofemployees,parentaccountid,_error');
  expect(file).toHaveLength(bad + 1);
  expect(file.slice(1).every((line) => /,[^,]+$/.test(line))).toBe(true);
  expect(file.find((line) => line.startsWith(`Account ${tag}-${csv.conversionBad[0]},`))).toMatch(/n\/a/);
}

describe('100,000-row CSV with 1% bad rows', () => {
  it('(b) plain: every good row once, every bad row reported', async () => {
    const tag = 'P';
    const csv = accountsCsv(rows, { badEvery: 100, tag });
    const before = accounts();
    const { id } = await postLoad(stack.api, 'account', csv.text, 'operation=create');
    const view = await waitForLoad(() => stack.api, id);
    await expectExactlyOnce(view, csv, tag, before);
    expect(view.links.source).toBe(`incoming/processed/account/${id}.csv`);
  });

  it('(c) the host is SIGKILLed mid-load and restarted', async () => {
    const tag = 'K';
    const csv = accountsCsv(rows, { badEvery: 100, tag });
    const before = accounts();
    // A drop this time (the blob path of the load id), with the profile in blob metadata.
    const blob = blobs.getContainerClient('incoming').getBlockBlobClient('account/killed.csv');
    const uploaded = await blob.uploadData(Buffer.from(csv.text), { metadata: { operation: 'create' } });
    const id = loadIdFor({ container: 'incoming', name: 'account/killed.csv', etag: uploaded.etag!, metadata: {} });
    let killed = false;
    const view = await waitForLoad(() => stack.api, id, {
      onProgress: async (v) => {
        if (!killed && v.chunks.done >= 15) {
          killed = true;
          await stack.restartHost({ hard: true });
        }
      },
    });
    expect(killed).toBe(true);
    await expectExactlyOnce(view, csv, tag, before, `incoming/account/killed.csv@${uploaded.etag}`);
  });

  it('(d) the emulator injects 429s, 503s and dropped connections', async () => {
    const tag = 'F';
    const csv = accountsCsv(rows, { badEvery: 100, tag });
    const before = accounts();
    stack.emulator!.configure({
      faults: { rate429: 0.1, rate503: 0.05, rateDrop: 0.03, dropAfterProcessing: true, seed: 7 },
    });
    try {
      const { id } = await postLoad(stack.api, 'account', csv.text, 'operation=create');
      const view = await waitForLoad(() => stack.api, id);
      stack.emulator!.configure({ faults: { rate429: 0, rate503: 0, rateDrop: 0 } });
      expect(view.throttling.throttled + view.throttling.retries).toBeGreaterThan(0);
      await expectExactlyOnce(view, csv, tag, before);
    } finally {
      stack.emulator!.configure({ faults: { rate429: 0, rate503: 0, rateDrop: 0 } });
    }
  });
});

describe('over HTTP', () => {
  const missing = '00000000-0000-0000-0000-0000000000ff';
  const six = (tag: string) =>
    `name,parentaccountid\r\n${[1, 2, 3, 4, 5, 6].map((n) => `${tag}${n},${n === 3 || n === 5 ? missing : ''}`).join('\r\n')}\r\n`;
  it.each([
    [true, true, 4, 2, 0],
    [false, true, 2, 1, 3],
    [true, false, 4, 2, 0],
    [false, false, 2, 1, 3],
  ])(
    'six rows, third and fifth bad, continueOnError=%s returnResponses=%s',
    async (continueOnError, returnResponses, succeeded, failed, notProcessed) => {
      const before = accounts();
      const { id, statusUrl } = await postLoad(
        stack.api,
        'account',
        six(`H${continueOnError}${returnResponses}`),
        `operation=create&continueOnError=${continueOnError}&returnResponses=${returnResponses}`,
      );
      expect(statusUrl).toBe(`/api/loads/${id}`);
      const view = await waitForLoad(() => stack.api, id, { timeoutMs: 60_000 });
      expect(view).toMatchObject({
        status: 'partiallySucceeded',
        counts: { total: 6, succeeded, failed, notProcessed },
      });
      expect(accounts() - before).toBe(succeeded);
    },
  );

  it('rejects what it can tell at once: unknown query parameter, no format, unknown load', async () => {
    const bad = await fetch(`${stack.api}/loads/account?operaton=create`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'name\r\nx\r\n',
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/operaton/);
    const noFormat = await fetch(`${stack.api}/loads/account`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: 'x',
    });
    expect(noFormat.status).toBe(415);
    expect(await getLoadView(stack.api, '00000000-0000-0000-0000-000000000000')).toBeUndefined();
  });

  it('an unknown table ends as a failed load with a clear message', async () => {
    const { id } = await postLoad(stack.api, 'nosuchtable', 'name\r\nx\r\n');
    const view = await waitForLoad(() => stack.api, id, { timeoutMs: 60_000 });
    expect(view.status).toBe('failed');
    expect(view.message).toMatch(/table 'nosuchtable' does not exist/);
  });
});
