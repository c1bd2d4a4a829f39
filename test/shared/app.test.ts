/**
 * The composition root: loads and jobs talk to Dataverse through ONE connection. A 429 answered to a job's
 * request (DeleteAndPromoteAsync, sent when the job is received) pauses the chunk requests of a load until its
 * Retry-After has passed. Real parts: Azurite, the emulator, the real client; the only injected pieces are the
 * fetch (it answers that one request 429 and records what reaches the wire) and the clock (so the pause is held
 * until the test lets it pass, instead of being waited out).
 */
import type { Clock } from '../../shared/dataverse/throttle';
import { receiveAsyncOperationMessage } from '../../shared/jobs/jobTriggers';
import { processChunk } from '../../shared/loads/chunkWorker';
import { startLoad } from '../../shared/loads/loadScan';
import { startLoadFixture, type LoadFixture } from './loads/loadFixture';

jest.setTimeout(120_000);

/** Sleeps shorter than `holdFromMs` (spacing, backoff) pass at once; longer ones wait for `release()`. */
class HeldClock implements Clock {
  current = Date.now();
  readonly held: { ms: number; resolve: () => void }[] = [];
  constructor(private readonly holdFromMs: number) {}
  now(): number {
    return this.current;
  }
  async sleep(ms: number): Promise<void> {
    if (ms < this.holdFromMs) {
      this.current += ms;
      await new Promise((resolve) => setImmediate(resolve));
      return;
    }
    await new Promise<void>((resolve) => this.held.push({ ms, resolve }));
  }
  /** Moves time past every held sleep and wakes them. */
  release(): void {
    this.current += Math.max(...this.held.map((h) => h.ms));
    for (const h of this.held.splice(0)) h.resolve();
  }
}

const retryAfterSeconds = 60;
const wire: { path: string; at: number; status?: number }[] = [];
const clock = new HeldClock(30_000);
let throttledOnce = false;
let f: LoadFixture;

const throttlingFetch: typeof fetch = async (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const path = url.pathname.replace(/^\/api\/data\/v9\.2\//, '');
  if (path === 'DeleteAndPromoteAsync' && !throttledOnce) {
    throttledOnce = true;
    wire.push({ path, at: clock.now(), status: 429 });
    const body = {
      error: {
        code: '0x80072322',
        message: 'Number of requests exceeded the limit of 6000 over time window of 300 seconds.',
      },
    };
    return new Response(JSON.stringify(body), {
      status: 429,
      headers: { 'content-type': 'application/json', 'retry-after': String(retryAfterSeconds) },
    });
  }
  wire.push({ path, at: clock.now() });
  return fetch(input, init);
};

beforeAll(async () => {
  f = await startLoadFixture({ dataverse: { fetch: throttlingFetch, clock } });
});
afterAll(() => f?.close());

/** Polls for a state the code under test reaches (a generous bound: other suites may share the CPU). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 6000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

test('loads and jobs get the one connection of the app', () => {
  const { app } = f;
  expect(app.loads.client).toBe(app.dataverse.client);
  expect(app.jobs.context.environment).toBe(app.dataverse.environmentUrl);
});

test('a 429 answered to a job request pauses the chunk requests of a load until Retry-After has passed', async () => {
  const { app } = f;
  // A load planned before the 429: its table metadata is read and its first chunk is ready to run.
  await f.drop('account/paced.csv', 'name,accountnumber\nContoso,P-1\nFabrikam,P-2\n');
  const started = await startLoad(app.loads, { container: 'incoming', name: 'account/paced.csv' });
  expect(started.kind).toBe('scanned');
  const loadId = 'record' in started ? started.record.id : '';
  const chunk = (await app.loads.store.getPlan(loadId, 0))!;
  expect(chunk).toBeDefined();

  // The job's submission is answered 429: the client pauses for Retry-After (the pause is held by the clock).
  const job = receiveAsyncOperationMessage(
    app.jobs,
    { kind: 'DeleteAndPromote', uniqueName: 'contoso' },
    { messageId: 'paced-job' },
  );
  await until(() => clock.held.length === 1, 'the job request to wait out its Retry-After');
  const throttledAt = wire.find((w) => w.status === 429)!.at;
  const sentBeforeChunk = wire.length;

  // The chunk runs now: its request waits on the same pause and reaches nothing.
  const chunkDone = processChunk(app.loads, chunk);
  await until(() => clock.held.length === 2, 'the chunk request to wait on the pause');
  expect(wire.length).toBe(sentBeforeChunk);

  clock.release();
  await expect(chunkDone).resolves.toMatchObject({ kind: 'completed', succeeded: 2, failed: 0 });
  await job;
  const after = wire.slice(sentBeforeChunk);
  expect(after.map((w) => w.path)).toEqual(expect.arrayContaining(['DeleteAndPromoteAsync']));
  const chunkRequests = after.filter((w) => w.path === '$batch' || w.path.endsWith('Multiple'));
  expect(chunkRequests.length).toBeGreaterThan(0);
  for (const w of chunkRequests) expect(w.at).toBeGreaterThanOrEqual(throttledAt + retryAfterSeconds * 1000);
  expect(app.dataverse.client.metrics().throttled.total).toBe(1);
});
