/**
 * Uploads stream through the local host (app.setup({ enableHttpStream: true }): the host proxies the body to the
 * worker as it arrives) into Blob Storage, with LOAD_MAX_FILE_BYTES and IMPORTS_MAX_BODY_BYTES enforced while
 * streaming: a body over the limit is answered 413 `{ error: { code, message } }` naming the setting, before the
 * client has sent it all, and leaves no blob and no load behind; bodies under it, chunked or with a
 * Content-Length, load as before.
 */
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { accountsCsv, waitForLoad } from '../../bench/loadBenchmark';
import { startLocalStack, type LocalStack } from '../../dev/host/localStack';

jest.setTimeout(180_000);

const maxFileBytes = 256 * 1024;
const maxImportBytes = 64 * 1024;
let stack: LocalStack;
let blobs: BlobServiceClient;

beforeAll(async () => {
  stack = await startLocalStack({
    files: ['dist/functions/load*.js', 'dist/functions/importsHttpPost.js'],
    blobScanIntervalMs: 500,
    hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.500' } } },
    env: { LOAD_MAX_FILE_BYTES: String(maxFileBytes), IMPORTS_MAX_BODY_BYTES: String(maxImportBytes) },
    emulator: { latency: { baseMs: 1, perOperationMs: 0, perTable: {} } },
  });
  blobs = BlobServiceClient.fromConnectionString(stack.storage);
});
afterAll(async () => {
  await stack?.stop();
});

interface Answer {
  status: number;
  body: string;
  /** Bytes the client had written when the answer came. */
  sentWhenAnswered: number;
}

/**
 * POSTs `total` bytes (`piece` repeated, cut to size) in pieces of at most 16 KiB, with chunked transfer (no Content-Length) unless
 * `contentLength` is set, stopping once the server has answered.
 */
function post(
  path: string,
  body: { piece: Buffer; total: number },
  headers: Record<string, string>,
  contentLength?: number,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const req = httpRequest(
      `${stack.api}${path}`,
      {
        method: 'POST',
        // A connection of its own (an exchange answered part-way must not leave a pooled socket mid-body), kept
        // alive as a browser's or curl's would be: `Connection: close` has the server close it right after its
        // answer, and the reset of a connection closed with unread bytes may beat the answer to the client.
        agent,
        headers: { ...headers, ...(contentLength !== undefined ? { 'content-length': String(contentLength) } : {}) },
      },
      (res) => {
        answered = true;
        const sentWhenAnswered = sent;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          // Answered before the body was all sent: the exchange is over, as a browser or curl would close it.
          if (!req.writableEnded) req.destroy();
          agent.destroy();
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), sentWhenAnswered });
        });
        res.on('error', reject);
      },
    );
    // Once answered, the server may close the connection while the client still writes: not a failure here.
    req.on('error', (error) => (answered ? undefined : reject(error)));
    const pump = async () => {
      while (sent < body.total && !answered && !req.destroyed) {
        // Pieces of at most 16 KiB, cycling through `piece`.
        const offset = sent % body.piece.length;
        const piece = body.piece.subarray(offset, offset + Math.min(16 * 1024, body.total - sent));
        sent += piece.length;
        if (!req.write(piece)) await new Promise((r) => req.once('drain', r));
        // Let the answer in between pieces.
        await new Promise((r) => setImmediate(r));
      }
      if (!answered) req.end();
    };
    pump().catch(reject);
  });
}

async function incomingBlobs(prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const b of blobs.getContainerClient('incoming').listBlobsFlat({ prefix })) names.push(b.name);
  return names;
}

async function loadIds(): Promise<string[]> {
  const table = TableClient.fromConnectionString(stack.storage, 'loads', { allowInsecureConnection: true });
  const ids: string[] = [];
  for await (const e of table.listEntities<{ id?: string }>()) ids.push(e.partitionKey!);
  return ids;
}

/** Resident set of the host child process now (Linux VmRSS), in MB. */
function hostRssMB(): number {
  const pid = 'pid' in stack.host ? stack.host.pid : process.pid;
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) / 1024;
}

const accounts = () => stack.emulator!.stats().recordsPerTable.account ?? 0;

test('a chunked body over LOAD_MAX_FILE_BYTES is 413 naming the limit, before it is all sent; no blob, no load', async () => {
  const blobsBefore = await incomingBlobs('account/');
  const loadsBefore = await loadIds();
  const rssBefore = hostRssMB();
  const total = 256 * 1024 * 1024;
  const answer = await post(
    '/loads/account',
    { piece: Buffer.from('name,accountnumber\n' + 'x,1\n'.repeat(16 * 1024)), total },
    { 'content-type': 'text/csv' },
  );
  expect(answer.status).toBe(413);
  expect(JSON.parse(answer.body)).toEqual({
    error: { code: 'FileTooLarge', message: 'the file is larger than the 256 KB limit (LOAD_MAX_FILE_BYTES)' },
  });
  // The worker stopped reading at the limit and answered: the client was far from done, and the host (host and
  // worker share the child process) did not take the body into memory.
  expect(answer.sentWhenAnswered).toBeLessThan(total / 2);
  expect(hostRssMB() - rssBefore).toBeLessThan(64);
  expect(await incomingBlobs('account/')).toEqual(blobsBefore);
  expect(await loadIds()).toEqual(loadsBefore);
});

test('a body announced over the limit (Content-Length) is 413 before it is read', async () => {
  const total = 64 * 1024 * 1024;
  const answer = await post(
    '/loads/account',
    { piece: Buffer.alloc(64 * 1024, 0x41), total },
    { 'content-type': 'text/csv' },
    total,
  );
  expect(answer.status).toBe(413);
  expect(answer.sentWhenAnswered).toBeLessThan(total / 2);
  expect(JSON.parse(answer.body)).toEqual({
    error: { code: 'FileTooLarge', message: 'the file is 64 MB, over the 256 KB limit (LOAD_MAX_FILE_BYTES)' },
  });
});

test.each([
  ['chunked (no Content-Length)', false],
  ['with a Content-Length', true],
])('a body under the limit, %s, streams into the blob and loads', async (_, withLength) => {
  const tag = withLength ? 'UL' : 'UC';
  const csv = Buffer.from(accountsCsv(6_000, { tag }).text);
  expect(csv.length).toBeLessThan(maxFileBytes);
  expect(csv.length).toBeGreaterThan(64 * 1024); // many 16 KiB pieces
  const before = accounts();
  const answer = await post(
    '/loads/account',
    { piece: csv, total: csv.length },
    { 'content-type': 'text/csv' },
    withLength ? csv.length : undefined,
  );
  expect(answer.status).toBe(202);
  const { id } = JSON.parse(answer.body) as { id: string };
  const view = await waitForLoad(() => stack.api, id, { timeoutMs: 120_000 });
  expect(view).toMatchObject({ status: 'succeeded', counts: { total: 6_000, succeeded: 6_000, failed: 0 } });
  expect(accounts() - before).toBe(6_000);
});

test('POST /api/imports: a chunked body over IMPORTS_MAX_BODY_BYTES is 413 naming the limit; one under it is read', async () => {
  const over = await post(
    '/imports',
    { piece: Buffer.alloc(16 * 1024, 0x50), total: 64 * 1024 * 1024 },
    { 'content-type': 'application/zip' },
  );
  expect(over.status).toBe(413);
  expect(JSON.parse(over.body)).toEqual({
    error: {
      code: 'InvalidImportRequest',
      message: `The body is larger than the limit of ${maxImportBytes} bytes (IMPORTS_MAX_BODY_BYTES).`,
    },
  });
  expect(over.sentWhenAnswered).toBeLessThan(32 * 1024 * 1024);
  // Under the limit the streamed body reaches the import checks whole (here: JSON that is not valid).
  const under = await post(
    '/imports',
    { piece: Buffer.from('{"operations": [1, 2'), total: 20 },
    { 'content-type': 'application/json' },
  );
  expect(under.status).toBe(400);
  const { error } = JSON.parse(under.body) as { error: { code: string; message: string } };
  expect(error.code).toBe('InvalidImportRequest');
  expect(error.message).toContain('not valid JSON');
});
