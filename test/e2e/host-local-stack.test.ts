/** startLocalStack: Azurite + emulator + host child process, wired like `npm start` (managed identity against the emulator). */
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { startLocalStack, type LocalStack } from '../../dev/host/localStack';
import { fixtureFile, repoRoot } from './hostTestKit';

jest.setTimeout(120_000);

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    appDir: repoRoot,
    files: [fixtureFile('storageApp')],
    hostId: 'e2e-stack-host',
    env: { FUNCTIONS_HOST_KEY: '' },
  });
});

afterAll(async () => {
  await stack?.stop();
});

test('the stack reports api, dataverse and storage, and sets the managed-identity settings for the emulator', async () => {
  expect(stack.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
  expect(stack.dataverse).toBe(`${stack.emulator!.url}/api/data/v9.2/`);
  expect(stack.settings).toMatchObject({
    DATAVERSE_AUTH: 'managedIdentity',
    DATAVERSE_URL: stack.emulator!.url,
    IDENTITY_ENDPOINT: `${stack.emulator!.url}/_identity/msi/token`,
  });
  const token = await fetch(
    `${stack.settings.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=${encodeURIComponent(stack.emulator!.url)}`,
    {
      headers: { 'X-IDENTITY-HEADER': String(stack.settings.IDENTITY_HEADER) },
    },
  );
  expect(token.status).toBe(200);
  // Without a key configured nothing is enforced, like Core Tools.
  expect((await fetch(`${stack.api}/items/5`)).status).toBe(200);
});

test('the app containers and queues exist', async () => {
  const containers = [];
  for await (const c of BlobServiceClient.fromConnectionString(stack.storage).listContainers()) containers.push(c.name);
  expect(containers).toEqual(expect.arrayContaining(['incoming', 'load-results', 'solutions']));
  const queues = [];
  for await (const q of QueueServiceClient.fromConnectionString(stack.storage).listQueues()) queues.push(q.name);
  expect(queues).toEqual(expect.arrayContaining(['load-chunks', 'dataverse-async', 'job-events']));
});

test('the host restarts on the same port after a SIGKILL', async () => {
  const before = stack.api;
  await stack.restartHost({ hard: true });
  expect(stack.host.url).toBe(before);
  expect((await fetch(`${stack.api}/hooks`)).status).toBe(200);
});
