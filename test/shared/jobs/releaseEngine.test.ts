/** Releases dropped into `solutions/_releases/` and run by the job engine, against Azurite and the emulator. */
import { zipSync } from 'fflate';
import { startAzurite, type AzuriteFixture } from './azurite';
import { startEmulator } from '../../../dev/emulator/index';
import { buildSolutionZip } from '../../../dev/emulator/solutions/solutionZip';
import { createDataverseClient } from '../../../shared/dataverse/index';
import { decodeQueueMessage, jobEventSchema, type JobEvent } from '../../../shared/events/jobEvents';
import { createJobRuntime, type JobRuntime } from '../../../shared/jobs/jobRuntime';
import { receiveDroppedSolution } from '../../../shared/jobs/jobTriggers';
import { getRelease } from '../../../shared/jobs/releaseTriggers';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;
let azurite: AzuriteFixture;
let emulator: Emulator;
let rt: JobRuntime;

beforeAll(async () => {
  azurite = await startAzurite();
  emulator = await startEmulator({ port: 0, solutions: { timing: { queuedMs: 50, runMs: 300 } } });
  const names = {
    jobsTable: 'releasejobs',
    eventsQueue: 'release-events',
    asyncQueue: 'release-async',
    solutionsContainer: 'solutions',
  };
  await azurite.clients.blobService.getContainerClient('solutions').createIfNotExists();
  await azurite.clients.table(names.jobsTable).createTable();
  await azurite.clients.queueService.getQueueClient(names.eventsQueue).createIfNotExists();
  await azurite.clients.queueService.getQueueClient(names.asyncQueue).createIfNotExists();
  const client = createDataverseClient({
    webApiUrl: emulator.webApiUrl,
    accessTokenSource: { getAccessToken: () => Promise.resolve('emulator-token') },
  });
  rt = createJobRuntime({
    storage: azurite.clients,
    send: (r, o) => client.send(r, o),
    environment: emulator.url,
    names,
    maxWaitMinutes: 60,
  });
});
afterAll(async () => {
  await emulator?.close();
  await azurite?.close();
});

async function drop(name: string, bytes: Uint8Array | string, metadata?: Record<string, string>) {
  await azurite.clients.blobService
    .getContainerClient('solutions')
    .getBlockBlobClient(name)
    .uploadData(typeof bytes === 'string' ? Buffer.from(bytes) : bytes, metadata ? { metadata } : {});
}

async function events(): Promise<JobEvent[]> {
  const queue = azurite.clients.queueService.getQueueClient(rt.names.eventsQueue);
  const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((m) => jobEventSchema.parse(decodeQueueMessage(m.messageText)));
}

async function sweepUntilEnded(id: string) {
  const deadline = Date.now() + 45_000;
  for (;;) {
    await rt.sweep();
    const release = await getRelease(rt, id);
    if (!['queued', 'submitted', 'running'].includes(release.state)) return release;
    if (Date.now() > deadline) throw new Error(`release ${id} still ${release.state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a dropped release delivered twice is one release; it runs in dependency order with one event', async () => {
  await drop(
    '_releases/two.zip',
    zipSync({
      'a.zip': buildSolutionZip({ uniqueName: 'eng_top', missingDependencies: ['eng_bottom'] }),
      'b.zip': buildSolutionZip({ uniqueName: 'eng_bottom' }),
    }),
    { continueonerror: 'true' }, // metadata keys arrive in any case
  );
  const first = await receiveDroppedSolution(rt, '_releases/two.zip');
  const again = await receiveDroppedSolution(rt, '_releases/two.zip');
  expect(first).toEqual({ kind: 'queued', name: '_releases/two.zip' });
  expect(again).toEqual(first);
  const page = await rt.listJobs({ pageSize: 50 });
  const releases = page.items.filter((i) => i.kind === 'Release');
  expect(releases).toHaveLength(1);
  const release = await sweepUntilEnded(releases[0]!.id);
  expect(release).toMatchObject({ state: 'succeeded', continueOnError: true });
  expect(release.solutions.map((s) => [s.uniqueName, s.file, s.state])).toEqual([
    ['eng_bottom', 'b.zip', 'succeeded'],
    ['eng_top', 'a.zip', 'succeeded'],
  ]);
  const mine = (await events()).filter((e) => e.id.startsWith(release.id));
  expect(mine.map((e) => [e.id, e.kind, e.outcome])).toEqual([[release.id, 'Release', 'succeeded']]);
});

test('a dropped release that is not JSON, or names a blob that is not there, is recorded rejected', async () => {
  const before = emulator.stats().requests;
  await drop('_releases/broken.json', '{ "solutions": [');
  const broken = await receiveDroppedSolution(rt, '_releases/broken.json');
  expect(broken).toMatchObject({ kind: 'rejected', code: 'ReleaseRejected' });
  expect(broken.kind === 'rejected' && broken.reason).toMatch(/solutions\/_releases\/broken\.json is not JSON/);

  await drop('_releases/missing.json', JSON.stringify({ solutions: [{ container: 'solutions', name: 'nope.zip' }] }));
  const missing = await receiveDroppedSolution(rt, '_releases/missing.json');
  expect(missing.kind === 'rejected' && missing.reason).toMatch(/nope\.zip: Blob solutions\/nope\.zip does not exist/);
  // Nothing reached Dataverse, not even the solutions query.
  expect(emulator.stats().requests).toBe(before);
  const rejected = (await rt.listJobs({ pageSize: 50 })).items.filter(
    (i) => i.kind === 'Release' && i.state === 'rejected',
  );
  expect(rejected).toHaveLength(2);
});

test('a sidecar-like .txt in _releases/ is ignored', async () => {
  await drop('_releases/notes.txt', 'hello');
  expect(await receiveDroppedSolution(rt, '_releases/notes.txt')).toMatchObject({ kind: 'ignored' });
});

test('settings of a release are checked per solution: unknown items before any request, missing values on a first install', async () => {
  await drop(
    'settings_app.zip',
    buildSolutionZip({
      uniqueName: 'eng_settings',
      connectionReferences: [{ logicalName: 'cr_dataverse' }],
      environmentVariables: [{ schemaName: 'cr_url', isRequired: true }],
    }),
  );
  const solution = { container: 'solutions', name: 'settings_app.zip' };
  const before = emulator.stats().requests;
  await drop(
    '_releases/settings_unknown.json',
    JSON.stringify({
      solutions: [
        { solution, settings: { ConnectionReferences: [{ LogicalName: 'cr_sharepoint', ConnectionId: 'c' }] } },
      ],
    }),
  );
  const unknown = await receiveDroppedSolution(rt, '_releases/settings_unknown.json');
  expect(unknown.kind === 'rejected' && unknown.reason).toMatch(
    /settings_app\.zip: settings: the connection reference cr_sharepoint is not in the solution eng_settings \(it has: cr_dataverse\)/,
  );
  expect(emulator.stats().requests).toBe(before);

  await drop('_releases/settings_missing.json', JSON.stringify({ solutions: [{ solution, settings: {} }] }));
  const missing = await receiveDroppedSolution(rt, '_releases/settings_missing.json');
  expect(missing.kind === 'rejected' && missing.reason).toMatch(
    /the environment variable cr_url of eng_settings is required and has no default value/,
  );
});
