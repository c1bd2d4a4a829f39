/**
 * Several application users end to end (issue 17): the local host (child process, dist/), Azurite and the emulator
 * keeping limits per caller; the app sends as its default managed identity plus two user-assigned ones
 * (DATAVERSE_IDENTITIES) through the real msal-node code and the local identity endpoint. A throttled identity does
 * not slow the others, the daily request budget stops and resumes sends, Server Busy is retried, and an identity
 * revoked mid-load leaves the rotation with every row loaded exactly once.
 */
import { TableClient } from '@azure/data-tables';
import { accountsCsv, postLoad, waitForLoad, type LoadView } from '../../bench/loadBenchmark';
import { startLocalStack, type LocalStack } from '../../dev/host/localStack';
import { bucketRowKey, partitionOf } from '../../shared/storage/requestMeter';
import { peekTexts } from './hostTestKit';

jest.setTimeout(240_000);

const second = '5ec0d000-0000-4000-8000-000000000002';
const third = '7b1d0000-0000-4000-8000-000000000003';
const budget = 100_000_000;
let stack: LocalStack;
const output: string[] = [];

beforeAll(async () => {
  stack = await startLocalStack({
    files: ['dist/functions/load*.js'],
    blobScanIntervalMs: 500,
    hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.500' } } },
    env: {
      DATAVERSE_IDENTITIES: JSON.stringify([
        { name: 'second', auth: 'managedIdentity', clientId: second },
        { name: 'third', auth: 'managedIdentity', clientId: third },
      ]),
      DATAVERSE_DAILY_REQUEST_BUDGET: String(budget),
    },
    emulator: { latency: { baseMs: 5, perOperationMs: 0.02, perTable: {} } },
    onOutput: (line) => output.push(line),
  });
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => stack.emulator!.reset());

const accounts = () => stack.emulator!.stats().recordsPerTable.account ?? 0;
const callerOf = (appId: string) => Object.values(stack.emulator!.stats().callers).find((c) => c.appId === appId);

async function load(rows: number, tag: string, onProgress?: (view: LoadView) => void | Promise<void>) {
  const { id } = await postLoad(stack.api, 'account', accountsCsv(rows, { tag }).text, 'operation=create');
  const started = Date.now();
  const view = await waitForLoad(() => stack.api, id, { timeoutMs: 180_000, ...(onProgress ? { onProgress } : {}) });
  return { view, seconds: (Date.now() - started) / 1000 };
}

test('a throttled identity pauses alone: the load finishes on the others long before its Retry-After ends', async () => {
  // 'second' may send 2 requests per 60 s: its 429 carries a Retry-After of about a minute.
  stack.emulator!.configure({ callerLimits: { [second]: { requestsPerWindow: 2, windowSeconds: 60 } } });
  try {
    const { view, seconds } = await load(20_000, 'T');
    expect(view).toMatchObject({ status: 'succeeded', counts: { total: 20_000, succeeded: 20_000, failed: 0 } });
    expect(accounts()).toBe(20_000);
    const throttled = callerOf(second)!;
    expect(Object.values(throttled.throttled).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(throttled.peakRequestsInWindow).toBeLessThanOrEqual(2);
    // The others carried the load and never waited out the minute.
    expect(seconds).toBeLessThan(45);
    expect(callerOf(third)!.requests).toBeGreaterThan(3);
    expect(view.throttling.throttled).toBeGreaterThan(0);
  } finally {
    stack.emulator!.configure({ callerLimits: {} });
  }
});

test('the daily request budget stops new chunks (the load shows it) and sends resume when it has room', async () => {
  const meter = TableClient.fromConnectionString(stack.storage, 'requestmeter', { allowInsecureConnection: true });
  await meter.createTable();
  const partitionKey = partitionOf(stack.emulator!.url);
  const rowKey = bucketRowKey(Date.now());
  // The rest of the day's budget is used up (as if by other instances).
  await meter.upsertEntity({ partitionKey, rowKey, requests: budget }, 'Replace');
  // Instances read the meter's sum at most every 2 s: give them one refresh before the load starts.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  let id: string;
  try {
    const csv = accountsCsv(5_000, { tag: 'B' });
    ({ id } = await postLoad(stack.api, 'account', csv.text, 'operation=create'));
    let waitingSeen: LoadView | undefined;
    const deadline = Date.now() + 60_000;
    while (!waitingSeen && Date.now() < deadline) {
      const view = (await (await fetch(`${stack.api}/loads/${id}`)).json()) as LoadView & { waiting?: string };
      if (view.waiting === 'daily request budget') waitingSeen = view;
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(waitingSeen).toBeDefined();
    expect(['queued', 'running']).toContain(waitingSeen!.status);
    expect(waitingSeen).toMatchObject({ dailyRequests: { budget } });
    // Held for a while: nothing is created while the budget is used up.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(accounts()).toBe(0);
    const events = (await peekTexts(stack.storage, 'job-events')).filter((t) => t.includes('"requestBudget"'));
    expect(events.some((t) => t.includes('"level":"warning"'))).toBe(true);
    expect(events.some((t) => t.includes('"level":"exhausted"'))).toBe(true);
  } finally {
    // The window moves on (here: the bucket is emptied): the chunks go.
    await meter.upsertEntity({ partitionKey, rowKey, requests: 0 }, 'Replace');
  }
  const countedSoFar = async () => {
    let counted = 0;
    for await (const e of meter.listEntities<{ requests: number }>({
      queryOptions: { filter: `PartitionKey eq '${partitionKey}'` },
    }))
      if (e.rowKey?.startsWith('b-')) counted += e.requests;
    return counted;
  };
  const before = await countedSoFar();
  const view = await waitForLoad(() => stack.api, id, { timeoutMs: 120_000 });
  expect(view).toMatchObject({ status: 'succeeded', counts: { total: 5_000, succeeded: 5_000, failed: 0 } });
  expect(accounts()).toBe(5_000);
  // The meter counted the load as Dataverse counts it: one per CreateMultiple target, plus the metadata reads.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const counted = (await countedSoFar()) - before;
  expect(counted).toBeGreaterThanOrEqual(5_000);
  expect(counted).toBeLessThan(5_100);
});

test('Server Busy answers are retried like 429s, never row failures', async () => {
  stack.emulator!.configure({ faults: { rateServerBusy: 0.3, seed: 11 } });
  try {
    const { view } = await load(10_000, 'S');
    expect(view).toMatchObject({ status: 'succeeded', counts: { total: 10_000, succeeded: 10_000, failed: 0 } });
    expect(accounts()).toBe(10_000);
    expect(stack.emulator!.stats().faults.serverBusy).toBeGreaterThan(0);
    expect(view.throttling.throttled).toBeGreaterThan(0);
  } finally {
    stack.emulator!.configure({ faults: { rateServerBusy: 0 } });
  }
});

test('an identity revoked mid-load leaves the rotation; every row is still loaded exactly once', async () => {
  // 'third': 'second' may still sit out the first test's minute-long Retry-After, sending nothing.
  stack.emulator!.configure({ writeLog: true, latency: { baseMs: 40 } });
  let revoked = false;
  try {
    const rows = 30_000;
    const { view } = await load(rows, 'R', (v) => {
      if (!revoked && v.chunks.done >= 3) {
        revoked = true;
        stack.emulator!.configure({ revokedCallers: [third] });
      }
    });
    expect(revoked).toBe(true);
    expect(view).toMatchObject({ status: 'succeeded', counts: { total: rows, succeeded: rows, failed: 0 } });
    expect(accounts()).toBe(rows);
    // Exactly once: every record id created by exactly one accepted create (a refused request created nothing).
    const created = new Set(stack.emulator!.writes().map((w) => w.id));
    expect(created.size).toBe(rows);
    expect(callerOf(third)!.refused).toBeGreaterThan(0);
    expect(output.some((line) => line.includes("identity 'third' left the rotation"))).toBe(true);
    expect(output.join('\n')).not.toMatch(/eyJ[\w-]+\.[\w-]+\./); // no token in the log
  } finally {
    stack.emulator!.configure({ writeLog: false, revokedCallers: [], latency: { baseMs: 5 } });
  }
});
