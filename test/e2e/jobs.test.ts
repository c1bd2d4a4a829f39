/**
 * Background jobs end to end: the real registrations (queue, timer, HTTP, blob) in the local host, on Azurite,
 * against the emulator (managed identity through its identity endpoint). Needs `npm run build` first (dist/).
 */
import { QueueClient } from '@azure/storage-queue';
import { jobFunctionFiles } from '../../bench/asyncOperations';
import { startLocalStack, type LocalStack } from '../../dev/host/localStack';
import { buildSolutionZip } from '../../dev/emulator/solutions/solutionZip';
import { jobEventSchema, type JobEvent } from '../../shared/events/jobEvents';
import { repoRoot, sendBase64, waitFor } from './hostTestKit';

jest.setTimeout(180_000);

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    appDir: repoRoot,
    files: jobFunctionFiles,
    port: 0,
    blobScanIntervalMs: 300,
    emulator: { solutions: { timing: { queuedMs: 200, runMs: 1500 } } },
    hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.500' } } },
    env: { FUNCTIONS_HOST_KEY: '', ASYNC_POLL_SCHEDULE: '*/1 * * * * *', ASYNC_MAX_WAIT_MINUTES: '30' },
  });
});
afterAll(async () => stack?.stop());

type JobBody = {
  id: string;
  state: string;
  statusCode?: number;
  message?: string;
  asyncOperationId?: string;
  importLog?: string;
  submittedAt?: string;
  completedAt?: string;
};

async function getJob(id: string): Promise<JobBody> {
  const response = await fetch(`${stack.api}/imports/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as JobBody;
}

const ended = (job: JobBody) => !['queued', 'submitted', 'running'].includes(job.state);

async function postZip(zip: Uint8Array, query = ''): Promise<{ id: string; statusUrl: string }> {
  const response = await fetch(`${stack.api}/imports${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/zip' },
    body: zip,
  });
  expect(response.status).toBe(202);
  return (await response.json()) as { id: string; statusUrl: string };
}

async function allEvents(): Promise<JobEvent[]> {
  const queue = new QueueClient(stack.storage, 'job-events');
  const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((m) =>
    jobEventSchema.parse(JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8'))),
  );
}

test('a valid solution imports (30) and a corrupt one fails (31) with the import log reason', async () => {
  const good = await postZip(buildSolutionZip({ uniqueName: 'e2e_good', version: '2.0.0.0' }));
  const bad = await postZip(buildSolutionZip({ uniqueName: 'e2e_bad', missingDependencies: ['e2e_missing_base'] }));
  const goodJob = await waitFor(
    async () => {
      const j = await getJob(good.id);
      return ended(j) ? j : undefined;
    },
    'good import',
    60_000,
  );
  expect(goodJob).toMatchObject({ state: 'succeeded', statusCode: 30 });
  expect(goodJob.asyncOperationId).toMatch(/^[0-9a-f-]{36}$/);
  const badJob = await waitFor(
    async () => {
      const j = await getJob(bad.id);
      return ended(j) ? j : undefined;
    },
    'bad import',
    60_000,
  );
  expect(badJob).toMatchObject({ state: 'failed', statusCode: 31 });
  expect(badJob.importLog).toMatch(/e2e_missing_base/);
});

test('three imports submitted at once run one after another, none failed', async () => {
  const posted = await Promise.all([1, 2, 3].map((i) => postZip(buildSolutionZip({ uniqueName: `e2e_seq_${i}` }))));
  const jobs = await waitFor(
    async () => {
      const js = await Promise.all(posted.map((p) => getJob(p.id)));
      return js.every(ended) ? js : undefined;
    },
    'three imports',
    90_000,
  );
  expect(jobs.map((j) => j.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  const ordered = [...jobs].sort((a, b) => a.submittedAt!.localeCompare(b.submittedAt!));
  for (let i = 1; i < ordered.length; i++)
    expect(Date.parse(ordered[i]!.submittedAt!)).toBeGreaterThanOrEqual(
      Date.parse(ordered[i - 1]!.completedAt!) - 1000,
    );
});

test('cancel a running import (32)', async () => {
  stack.emulator!.configure({ solutions: { timing: { queuedMs: 200, runMs: 60_000 } } });
  const { id } = await postZip(buildSolutionZip({ uniqueName: 'e2e_cancel' }));
  await waitFor(
    async () => {
      const j = await getJob(id);
      return j.state === 'submitted' || j.state === 'running' ? j : undefined;
    },
    'submission',
    60_000,
  );
  const response = await fetch(`${stack.api}/imports/${id}/cancel`, { method: 'POST' });
  expect([200, 202]).toContain(response.status);
  const job = await waitFor(
    async () => {
      const j = await getJob(id);
      return ended(j) ? j : undefined;
    },
    'cancel',
    60_000,
  );
  expect(job).toMatchObject({ state: 'canceled', statusCode: 32 });
});

test('a message of another kind is rejected with its reason', async () => {
  await sendBase64(stack.storage, 'dataverse-async', JSON.stringify({ kind: 'PublishAllXml', jobId: 'e2e-rejected' }));
  const job = await waitFor(
    async () => {
      const r = await fetch(`${stack.api}/imports/e2e-rejected`);
      return r.status === 200 ? ((await r.json()) as JobBody) : undefined;
    },
    'rejected job',
    30_000,
  );
  expect(job.state).toBe('rejected');
  expect(job.message).toMatch(/kind 'PublishAllXml' is not one of ImportSolution, DeleteAndPromote, Merge/);
  const poison = new QueueClient(stack.storage, 'dataverse-async-poison');
  expect((await poison.exists()) ? (await poison.peekMessages()).peekedMessageItems.length : 0).toBe(0);
});

test('one event per finished job, and GET /api/jobs lists them newest first', async () => {
  const evs = await waitFor(
    async () => {
      const e = await allEvents();
      return e.length >= 7 ? e : undefined;
    },
    'events',
    30_000,
  );
  const ids = evs.map((e) => e.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(evs.find((e) => e.id === 'e2e-rejected')).toMatchObject({ outcome: 'rejected' });
  const response = await fetch(`${stack.api}/jobs?pageSize=3`);
  const page = (await response.json()) as { items: { id: string; createdAt: string }[]; continuationToken?: string };
  expect(page.items).toHaveLength(3);
  expect(page.continuationToken).toBeTruthy();
  expect(page.items[0]!.createdAt >= page.items[1]!.createdAt).toBe(true);
});
