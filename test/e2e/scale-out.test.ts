/**
 * Scale-out safety (issue 13 point 6), the way Azure scales a function app out: two local host instances (child
 * processes running dist/, one host id) on one Azurite and one Dataverse emulator. The instance holding the load
 * sweeper's singleton lock is SIGKILLed mid-load and restarted. Every row must land exactly once, and the
 * emulator's write log must show that no chunk was sent to Dataverse twice because of a double resume:
 * - a chunk first sent after the kill was sent once;
 * - a chunk first sent before it (the killed instance may have been sending it) was sent at most twice.
 * A "send" is one run of the chunk worker, which starts with one CreateMultiple holding the chunk's first row
 * (a re-sent chunk's duplicate-key refusal is then re-run row by row in a `$batch`, which is not a new send).
 */
import { startHostProcess, type HostProcess } from '../../dev/host/hostProcess';
import { startLocalStack, type LocalStack } from '../../dev/host/localStack';
import type { WriteLogEntry } from '../../dev/emulator/index';
import { accountsCsv, getLoadView, postLoad, type LoadView } from '../../bench/loadBenchmark';
import { auditAccounts } from '../../bench/resilience';
import { repoRoot, waitFor } from './hostTestKit';

jest.setTimeout(180_000);

const rows = 9_000;
const chunkSize = 300;
const chunks = rows / chunkSize;
const tag = `S${Date.now() % 100_000}`;
const hostId = 'e2e-scale-out';
const log = (line: string) => process.stdout.write(`${line}\n`);

/** What both instances run with: short stall and sweep periods, a 15 s singleton lease polled for every 0.5 s. */
const instanceOptions = {
  appDir: repoRoot,
  files: ['dist/functions/load*.js'],
  hostId,
  blobScanIntervalMs: 500,
  listenerLockRecoveryPollingMs: 500,
  hostJson: {
    singleton: { listenerLockPeriod: '00:00:15' },
    extensions: { queues: { maxPollingInterval: '00:00:00.500', batchSize: 8, newBatchThreshold: 4 } },
  },
};

let stack: LocalStack;
let second: HostProcess;

beforeAll(async () => {
  stack = await startLocalStack({
    ...instanceOptions,
    env: {
      FUNCTIONS_HOST_KEY: '',
      LOAD_CHUNK_SIZE: String(chunkSize),
      LOAD_SWEEP_SCHEDULE: '*/1 * * * * *',
      LOAD_STALL_SECONDS: '8',
    },
    emulator: { writeLog: true, latency: { baseMs: 60, perOperationMs: 2, perTable: {} } },
  });
  second = await startHostProcess({ ...instanceOptions, port: 0, env: stack.settings });
});

afterAll(async () => {
  await second?.stop();
  await stack?.stop();
});

const first = () => stack.host as HostProcess;

/** The emulator's account ids of this run → row number (from the deterministic account number `<tag>-<row>`). */
async function rowsById(): Promise<Map<string, number>> {
  const byId = new Map<string, number>();
  let url: string | undefined =
    `${stack.dataverse}accounts?$select=accountid,accountnumber&$filter=${encodeURIComponent(`startswith(accountnumber,'${tag}-')`)}`;
  while (url) {
    const response = await fetch(url, {
      headers: { authorization: 'Bearer audit', accept: 'application/json', prefer: 'odata.maxpagesize=5000' },
    });
    const page = (await response.json()) as {
      value: { accountid: string; accountnumber: string }[];
      '@odata.nextLink'?: string;
    };
    for (const r of page.value) byId.set(r.accountid, Number(r.accountnumber.slice(tag.length + 1)));
    url = page['@odata.nextLink'];
  }
  return byId;
}

/** Chunk index → the requests (write-log numbers) of the chunk worker runs that sent it. */
function sendsByChunk(writes: WriteLogEntry[], rowOf: Map<string, number>): Map<number, number[]> {
  const sends = new Map<number, number[]>();
  for (const w of writes) {
    const row = rowOf.get(w.id);
    if (row === undefined || (row - 1) % chunkSize !== 0 || !w.call.endsWith('CreateMultiple')) continue;
    const chunk = (row - 1) / chunkSize;
    sends.set(chunk, [...(sends.get(chunk) ?? []), w.request]);
  }
  return sends;
}

/** Chunk invocations started and not finished on an instance (from its Executing / Executed lines). */
function chunksRunning(output: string): number {
  const ids = (verb: string) =>
    new Set(
      [...output.matchAll(new RegExp(`${verb} 'Functions\\.loadChunkQueue' \\(.*?Id=([0-9a-f-]+)`, 'g'))].map(
        (m) => m[1],
      ),
    );
  const finished = ids('Executed');
  return [...ids('Executing')].filter((id) => !finished.has(id)).length;
}

/** The schedule occurrences (whole seconds) at which an instance ran the sweeper. */
function sweeperRuns(output: string): string[] {
  return [...output.matchAll(/Executing 'Functions\.loadSweeper' \(Reason='Timer fired at ([0-9T:-]+)/g)].map(
    (m) => m[1]!,
  );
}

/** How many times an instance's sweeper resumed the load's scan. */
function scansResumedBy(output: string, loadId: string): number {
  return output
    .split('\n')
    .filter((line) => line.includes('Load sweep acted') && line.includes(`"resumedScans":["${loadId}"]`)).length;
}

/** Chunk indexes each instance's sweeper re-enqueued for the load (from its "Load sweep acted" lines). */
function requeuedBy(output: string, loadId: string): number[] {
  return output
    .split('\n')
    .filter((line) => line.includes('Load sweep acted') && line.includes(loadId))
    .flatMap((line) => [...line.matchAll(/"chunkIndex":(\d+)/g)].map((m) => Number(m[1])));
}

test(`${rows} rows on two instances, the sweeper's instance SIGKILLed mid-load and restarted: every row once, no double resume`, async () => {
  // The instance started first holds the sweeper's lock: killing it also tests the other one taking the timer over.
  expect(first().output()).toContain(`Singleton lock acquired (locks/${hostId}/Host.Functions.loadSweeper.Listener)`);
  expect(second.output()).not.toContain('Host.Functions.loadSweeper.Listener)');

  const started = Date.now();
  const { id } = await postLoad(stack.api, 'account', accountsCsv(rows, { tag }).text, 'operation=create');
  const atKill = await waitFor(
    async () => {
      const v = await getLoadView(second.url, id);
      // After the scan, while the first instance runs chunks (their messages then wait for the sweeper).
      return v && v.chunks.total === chunks && v.chunks.done < chunks && chunksRunning(first().output()) > 0
        ? v
        : undefined;
    },
    'the scan, and chunks running on the first instance',
    60_000,
  );
  const killed = first();
  await stack.kill();
  // Requests the killed instance had already sent may still be in the emulator: let them through first.
  await new Promise((r) => setTimeout(r, 1000));
  const lastRequestBeforeKill = Math.max(0, ...stack.emulator!.writes().map((w) => w.request));
  log(
    `scale-out: killed the first instance at +${Date.now() - started} ms, ${atKill.chunks.done}/${chunks} chunks done`,
  );
  await stack.restartHost();

  const final = await waitFor<LoadView>(
    async () => {
      const v = await getLoadView(second.url, id);
      return v && ['succeeded', 'partiallySucceeded', 'failed'].includes(v.status) ? v : undefined;
    },
    'the load to end',
    120_000,
  );
  log(`scale-out: load ${final.status} after ${Date.now() - started} ms`);
  expect(final).toMatchObject({ status: 'succeeded', counts: { total: rows, succeeded: rows, failed: 0 } });

  // Every row exactly once.
  expect(await auditAccounts(stack, tag, rows)).toEqual({ expected: rows, found: rows, lost: 0, duplicated: 0 });

  // The resume happened (the killed instance held chunks), once per chunk across the instances' sweepers.
  const outputs = [killed.output(), first().output(), second.output()];
  const requeued = outputs.flatMap((output) => requeuedBy(output, id));
  log(`scale-out: chunks re-enqueued by the sweepers: ${JSON.stringify(requeued)}`);
  const scansResumed = outputs.reduce((n, output) => n + scansResumedBy(output, id), 0);
  expect(requeued.length + scansResumed).toBeGreaterThan(0);
  expect(requeued.length).toBe(new Set(requeued).size);
  expect(scansResumed).toBeLessThanOrEqual(1);

  // The blob trigger ran once for the file, though both instances scan the container (one receipt, re-checked under its lease).
  const blobRuns = outputs.join('\n').split(`New blob detected(BlockBlob): incoming/account/${id}.csv`).length - 1;
  expect(blobRuns).toBe(1);

  // The sweeper ran on one instance at a time: no occurrence fired on two of them.
  const fired = outputs.flatMap(sweeperRuns);
  expect(fired.length).toBeGreaterThan(0);
  expect(fired.filter((at, i) => fired.indexOf(at) !== i)).toEqual([]);

  // No chunk sent twice because of a double resume (the emulator's write log).
  const sends = sendsByChunk(stack.emulator!.writes(), await rowsById());
  expect([...sends.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: chunks }, (_, i) => i));
  const sentAgain = [...sends].filter(([, requests]) => requests.length > 1);
  log(`scale-out: chunks sent twice (in flight on the killed instance): ${JSON.stringify(sentAgain)}`);
  const sentTooOften = [...sends].filter(
    ([, requests]) => requests.length > (Math.min(...requests) > lastRequestBeforeKill ? 1 : 2),
  );
  expect(sentTooOften).toEqual([]);
  // A re-sent chunk is one the killed instance was sending: never more of them than the chunks it could hold.
  expect(sentAgain.length).toBeLessThanOrEqual(instanceOptions.hostJson.extensions.queues.batchSize * 2);
});
