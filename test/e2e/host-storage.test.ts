/**
 * The fixture app's real registrations, run by the local host (child process) against in-memory Azurite:
 * blob trigger → queue/table/blob outputs, queue poison, JSON conversion, restart without reprocessing, graceful stop.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueClient } from '@azure/storage-queue';
import { TableClient } from '@azure/data-tables';
import { startAzurite, type AzuriteHandle } from '../../dev/azurite';
import { startHostProcess, type HostProcess, type HostProcessOptions } from '../../dev/host/hostProcess';
import { count, fixtureFile, peekTexts, repoRoot, sendBase64, waitFor } from './hostTestKit';

jest.setTimeout(120_000);

let azurite: AzuriteHandle;
let host: HostProcess;
let hostOptions: HostProcessOptions;

beforeAll(async () => {
  azurite = await startAzurite();
  hostOptions = {
    appDir: repoRoot,
    files: [fixtureFile('storageApp')],
    port: 0,
    hostId: 'e2e-storage-host',
    blobScanIntervalMs: 300,
    hostJson: {
      extensions: { queues: { maxDequeueCount: 3, visibilityTimeout: '00:00:00', maxPollingInterval: '00:00:00.500' } },
    },
    env: { AzureWebJobsStorage: azurite.connectionString, FUNCTIONS_HOST_KEY: '' },
  };
  host = await startHostProcess(hostOptions);
});

afterAll(async () => {
  await host?.kill();
  await azurite?.stop();
});

const blobs = () => BlobServiceClient.fromConnectionString(azurite.connectionString);

async function dropBlob(name: string, text: string): Promise<void> {
  const container = blobs().getContainerClient('drops');
  await container.createIfNotExists();
  await container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text), { metadata: { source: 'test' } });
}

async function dropEvents(): Promise<Record<string, unknown>[]> {
  return (await peekTexts(azurite.connectionString, 'drop-events')).map(
    (t) => JSON.parse(t) as Record<string, unknown>,
  );
}

test('a dropped blob runs the blob function with its path bindings, and its queue, table and blob outputs appear', async () => {
  await dropBlob('accounts/batch-1.csv', 'name\nContoso\n');
  const [event] = await waitFor(
    async () => ((await dropEvents()).length > 0 ? dropEvents() : undefined),
    'drop-events message',
  );
  expect(event).toMatchObject({
    isBuffer: true,
    text: 'name\nContoso\n',
    table: 'accounts',
    name: 'batch-1.csv',
    blobTrigger: 'drops/accounts/batch-1.csv',
    contentLength: 13,
    metadata: { source: 'test' },
  });
  expect(String(event!.uri)).toMatch(/\/devstoreaccount1\/drops\/accounts\/batch-1\.csv$/);

  const table = TableClient.fromConnectionString(azurite.connectionString, 'drops', { allowInsecureConnection: true });
  const rows = await waitFor(async () => {
    const found = [];
    for await (const row of table.listEntities({ queryOptions: { filter: `PartitionKey eq 'accounts'` } }))
      found.push(row);
    return found.length > 0 ? found : undefined;
  }, 'table row');
  expect(rows[0]).toMatchObject({ partitionKey: 'accounts', size: 13 });
  expect(String(rows[0]!.rowKey)).toContain(String(event!.invocationId));

  const copy = await blobs().getContainerClient('copies').getBlobClient('accounts/batch-1.csv').downloadToBuffer();
  expect(copy.toString('utf8')).toBe('name\nContoso\n');

  // The receipt is in the storage account, keyed by host id, function and ETag.
  const receipts = [];
  for await (const b of blobs()
    .getContainerClient('azure-webjobs-hosts')
    .listBlobsFlat({ prefix: 'blobreceipts/e2e-storage-host/Host.Functions.onDrop/' }))
    receipts.push(b.name);
  expect(receipts.some((n) => n.endsWith('/drops/accounts/batch-1.csv'))).toBe(true);
});

test('a blob trigger with sdkBinding gets a reference to the blob (ModelBindingData), not its bytes', async () => {
  const container = blobs().getContainerClient('refdrops');
  await container.createIfNotExists();
  await container.getBlockBlobClient('big/file.csv').upload('name\nContoso\n', 13);
  const events = () => peekTexts(azurite.connectionString, 'ref-events');
  const [text] = await waitFor(async () => ((await events()).length > 0 ? events() : undefined), 'ref-events message');
  expect(JSON.parse(text!)).toEqual({
    isBuffer: false,
    reference: { connection: 'AzureWebJobsStorage', container: 'refdrops', blobName: 'big/file.csv' },
    name: 'big/file.csv',
    blobTrigger: 'refdrops/big/file.csv',
  });
});

test('a queue message whose handler always throws is tried maxDequeueCount times, then moved to <queue>-poison with its body intact', async () => {
  const body = JSON.stringify({ loadId: 'poison-me', rows: [1, 2, 3] });
  await sendBase64(azurite.connectionString, 'failing', body);
  const poisoned = await waitFor(async () => {
    const texts = await peekTexts(azurite.connectionString, 'failing-poison');
    return texts.length > 0 ? texts : undefined;
  }, 'failing-poison message');
  expect(poisoned).toEqual([body]);
  expect(count(host.output(), "Executing 'Functions.alwaysFails'")).toBe(3);
  expect(host.output()).toContain('on try 3');
  const original = new QueueClient(azurite.connectionString, 'failing');
  expect((await original.getProperties()).approximateMessagesCount).toBe(0);
});

test('a message that is not valid base64 goes to <queue>-poison at once, as it was on the wire, without an invocation', async () => {
  const raw = 'not base64: {"loadId":"x"} ¿';
  const queue = new QueueClient(azurite.connectionString, 'strict-in');
  await queue.createIfNotExists();
  const { messageId } = await queue.sendMessage(raw);
  await sendBase64(azurite.connectionString, 'strict-in', '"well-formed"');
  const poison = new QueueClient(azurite.connectionString, 'strict-in-poison');
  const poisoned = await waitFor(async () => {
    if (!(await poison.exists())) return undefined;
    const { peekedMessageItems } = await poison.peekMessages({ numberOfMessages: 32 });
    return peekedMessageItems.length > 0 ? peekedMessageItems : undefined;
  }, 'strict-in-poison message');
  expect(poisoned.map((m) => m.messageText)).toEqual([raw]);
  // Azure Storage assigns the copy's id; the host names the original id and the reason in its log.
  expect(host.output()).toContain(`message ${messageId} (dequeue count 1)`);
  expect(host.output()).toMatch(/not valid base64.*Moving message to queue 'strict-in-poison' without invoking/);
  await waitFor(
    async () => ((await peekTexts(azurite.connectionString, 'strict-out')).length > 0 ? true : undefined),
    'strict-out',
  );
  expect(await peekTexts(azurite.connectionString, 'strict-out')).toEqual([JSON.stringify({ got: 'well-formed' })]);
  expect(count(host.output(), "Executing 'Functions.strictIn'")).toBe(1);
  expect((await queue.getProperties()).approximateMessagesCount).toBe(0);
});

test('queue messages arrive as the worker converts them: JSON text as an object, a number as a number, plain text as a string', async () => {
  await sendBase64(azurite.connectionString, 'json-in', '{"jobId":"j1","n":2}');
  await sendBase64(azurite.connectionString, 'json-in', '42');
  await sendBase64(azurite.connectionString, 'json-in', 'hello world');
  const results = await waitFor(async () => {
    const texts = await peekTexts(azurite.connectionString, 'json-out');
    return texts.length >= 3 ? texts.map((t) => JSON.parse(t) as Record<string, unknown>) : undefined;
  }, 'three json-out messages');
  const byType = Object.fromEntries(results.map((r) => [String(r.type), r]));
  expect(byType.object).toMatchObject({
    value: { jobId: 'j1', n: 2 },
    queueTrigger: { jobId: 'j1', n: 2 },
    dequeueCount: 1,
    dequeueCountType: 'number',
    insertionTimeType: 'string',
    sysMethodName: 'echoJson',
  });
  expect(String(byType.object!.insertionTime)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/);
  expect(byType.number).toMatchObject({ value: 42 });
  expect(byType.string).toMatchObject({ value: 'hello world' });
});

test('a blob processed before a hard kill is not processed again by the restarted host; a new blob is', async () => {
  await dropBlob('contacts/before.csv', 'x');
  await waitFor(
    async () => ((await dropEvents()).some((e) => e.name === 'before.csv') ? true : undefined),
    'before.csv processed',
  );
  await host.kill('SIGKILL');
  host = await startHostProcess(hostOptions);
  await dropBlob('contacts/after.csv', 'y');
  await waitFor(
    async () => ((await dropEvents()).some((e) => e.name === 'after.csv') ? true : undefined),
    'after.csv processed',
  );
  // The restarted host has scanned the container (it found after.csv), and skipped the blobs with receipts.
  const names = (await dropEvents()).map((e) => e.name);
  expect(names.filter((n) => n === 'before.csv')).toHaveLength(1);
  expect(names.filter((n) => n === 'batch-1.csv')).toHaveLength(1);
  expect(host.output()).not.toContain('drops/contacts/before.csv');
});

test('a changed blob (new ETag) triggers again', async () => {
  await dropBlob('contacts/changed.csv', 'v1');
  await waitFor(async () => ((await dropEvents()).some((e) => e.text === 'v1') ? true : undefined), 'v1 processed');
  await dropBlob('contacts/changed.csv', 'v2');
  await waitFor(async () => ((await dropEvents()).some((e) => e.text === 'v2') ? true : undefined), 'v2 processed');
});

test('a graceful stop lets the running invocation finish and complete its message', async () => {
  await sendBase64(azurite.connectionString, 'slow-in', '"slow-1"');
  await waitFor(
    () => Promise.resolve(host.output().includes("Executing 'Functions.slow'") ? true : undefined),
    'slow invocation started',
  );
  const code = await host.stop();
  expect(code).toBe(0);
  expect(await peekTexts(azurite.connectionString, 'slow-out')).toEqual([JSON.stringify({ done: 'slow-1' })]);
  expect((await new QueueClient(azurite.connectionString, 'slow-in').getProperties()).approximateMessagesCount).toBe(0);
  host = await startHostProcess(hostOptions);
});
