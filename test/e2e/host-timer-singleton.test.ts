/**
 * Two local host instances with one host id on one Azurite, as Azure scales a function app out (issue 13 point 6):
 * a timer fires once per occurrence, on the instance holding its singleton lock (a blob lease under
 * `azure-webjobs-hosts/locks/<hostId>/`); when that instance is SIGKILLed the other takes over once the lease
 * expires, and a graceful stop hands the lock over at once.
 */
import { QueueClient } from '@azure/storage-queue';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite, type AzuriteHandle } from '../../dev/azurite';
import { startHostProcess, type HostProcess } from '../../dev/host/hostProcess';
import { listenerLockBlobName } from '../../dev/host/listenerLock';
import { fixtureFile, repoRoot, waitFor } from './hostTestKit';

jest.setTimeout(120_000);

const hostId = 'e2e-timer-singleton';
const leaseSeconds = 15;
let azurite: AzuriteHandle;
const hosts: HostProcess[] = [];

interface Tick {
  at: string;
  pid: number;
}
const ticks: Tick[] = [];

/** Consumes the `ticks` queue into `ticks` (in arrival order). */
async function collect(): Promise<Tick[]> {
  const queue = new QueueClient(azurite.connectionString, 'ticks');
  if (!(await queue.exists())) return ticks;
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
    if (receivedMessageItems.length === 0) return ticks;
    for (const m of receivedMessageItems) {
      ticks.push(JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as Tick);
      await queue.deleteMessage(m.messageId, m.popReceipt);
    }
  }
}

const startInstance = async () => {
  const host = await startHostProcess({
    appDir: repoRoot,
    files: [fixtureFile('timerApp')],
    port: 0,
    hostId,
    hostJson: { singleton: { listenerLockPeriod: `00:00:${leaseSeconds}` } },
    listenerLockRecoveryPollingMs: 500,
    env: { AzureWebJobsStorage: azurite.connectionString },
  });
  hosts.push(host);
  return host;
};

/** The schedule's occurrence a run belongs to: every 2 s, on even seconds (runs start a little after). */
const occurrenceOf = (tick: Tick) => Math.floor(Date.parse(tick.at) / 2000);

/** Every occurrence ran once: no two runs of one occurrence, whichever instance ran them. */
function expectOncePerOccurrence(runs: Tick[]): void {
  const byOccurrence = new Map<number, number[]>();
  for (const t of runs) byOccurrence.set(occurrenceOf(t), [...(byOccurrence.get(occurrenceOf(t)) ?? []), t.pid]);
  const doubled = [...byOccurrence].filter(([, pids]) => pids.length > 1);
  expect(doubled).toEqual([]);
}

beforeAll(async () => {
  azurite = await startAzurite();
});

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await azurite?.stop();
});

test('two instances fire each occurrence once; a SIGKILLed holder is replaced after its lease; a stopped one hands over at once', async () => {
  const a = await startInstance();
  const b = await startInstance();
  // Both instances run for ~5 occurrences: one of them holds the lock and runs every one.
  await new Promise((r) => setTimeout(r, 10_000));
  const before = [...(await collect())];
  expect(before.length).toBeGreaterThanOrEqual(4);
  expectOncePerOccurrence(before);
  const holderPids = new Set(before.map((t) => t.pid));
  expect(holderPids.size).toBe(1);
  const [holder, other] = holderPids.has(a.pid) ? [a, b] : [b, a];
  expect(holderPids.has(holder.pid)).toBe(true);

  // The lock is a leased blob in the host storage account, where the Functions host keeps it.
  const lockBlob = BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient('azure-webjobs-hosts')
    .getBlobClient(listenerLockBlobName(hostId, 'tick'));
  expect(listenerLockBlobName(hostId, 'tick')).toBe(`locks/${hostId}/Host.Functions.tick.Listener`);
  expect(await lockBlob.getProperties()).toMatchObject({ leaseState: 'leased', leaseDuration: 'fixed' });

  // SIGKILL the holder: no release, so the other instance takes over once the lease runs out (≤ 15 s).
  const killedAt = Date.now();
  await holder.kill('SIGKILL');
  const firstByOther = await waitFor(
    async () => (await collect()).find((t) => t.pid === other.pid),
    'the other instance to take the timer over',
    (leaseSeconds + 10) * 1000,
  );
  expect(Date.parse(firstByOther.at) - killedAt).toBeLessThanOrEqual((leaseSeconds + 3) * 1000);
  expect(other.output()).toContain(`Singleton lock acquired (locks/${hostId}/Host.Functions.tick.Listener)`);

  // A third instance joins, then the holder stops gracefully: it releases the lease, the newcomer takes over within a poll.
  const c = await startInstance();
  await new Promise((r) => setTimeout(r, 3000));
  expect((await collect()).filter((t) => t.pid === c.pid)).toEqual([]);
  const stoppedAt = Date.now();
  await other.stop();
  const firstByNewcomer = await waitFor(
    async () => (await collect()).find((t) => t.pid === c.pid),
    'the newcomer to take the timer over',
    15_000,
  );
  expect(Date.parse(firstByNewcomer.at) - stoppedAt).toBeLessThan(5000);
  await new Promise((r) => setTimeout(r, 4000));
  const all = await collect();
  expectOncePerOccurrence(all);
  // Each run came from the instance holding the lock at the time: the pids follow a → b → c without going back.
  const order = all.map((t) => t.pid).filter((pid, i, pids) => i === 0 || pids[i - 1] !== pid);
  expect(order).toEqual([holder.pid, other.pid, c.pid]);
});
