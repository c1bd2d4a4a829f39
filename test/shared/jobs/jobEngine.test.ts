/** The job engine against Azurite and the Dataverse emulator over real HTTP. */
import { startAzurite, type AzuriteFixture } from './azurite';
import { startEmulator } from '../../../dev/emulator/index';
import { buildSolutionZip } from '../../../dev/emulator/solutions/solutionZip';
import { createDataverseClient } from '../../../shared/dataverse/index';
import { createJobRuntime, type JobRuntime } from '../../../shared/jobs/jobRuntime';
import { decodeQueueMessage, jobEventSchema, type JobEvent } from '../../../shared/events/jobEvents';
import type { Job } from '../../../shared/jobs/jobRecord';

type Emulator = Awaited<ReturnType<typeof startEmulator>>;
let azurite: AzuriteFixture;
let emulator: Emulator;
let tableNo = 0;

beforeAll(async () => {
  azurite = await startAzurite();
  emulator = await startEmulator({ port: 0, solutions: { timing: { queuedMs: 100, runMs: 600 } } });
  await azurite.clients.blobService.getContainerClient('solutions').createIfNotExists();
});
afterAll(async () => {
  await emulator?.close();
  await azurite?.close();
});

async function runtime(maxWaitMinutes = 60, dataverse: Emulator = emulator): Promise<JobRuntime> {
  tableNo++;
  const names = {
    jobsTable: `jobs${tableNo}`,
    eventsQueue: `job-events-${tableNo}`,
    asyncQueue: `dataverse-async-${tableNo}`,
    solutionsContainer: 'solutions',
  };
  await azurite.clients.table(names.jobsTable).createTable();
  await azurite.clients.queueService.getQueueClient(names.eventsQueue).createIfNotExists();
  const client = createDataverseClient({
    webApiUrl: dataverse.webApiUrl,
    accessTokenSource: { getAccessToken: () => Promise.resolve('emulator-token') },
  });
  dataverse.reset();
  return createJobRuntime({
    storage: azurite.clients,
    send: (r, o) => client.send(r, o),
    environment: dataverse.url,
    names,
    maxWaitMinutes,
  });
}

async function upload(name: string, zip: Uint8Array) {
  await azurite.clients.blobService.getContainerClient('solutions').getBlockBlobClient(name).uploadData(zip);
  return { container: 'solutions', name };
}

async function events(rt: JobRuntime): Promise<JobEvent[]> {
  const queue = azurite.clients.queueService.getQueueClient(rt.names.eventsQueue);
  const out: JobEvent[] = [];
  for (;;) {
    const page = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 600 });
    if (page.receivedMessageItems.length === 0) return out;
    for (const m of page.receivedMessageItems) out.push(jobEventSchema.parse(decodeQueueMessage(m.messageText)));
  }
}

/** Sweeps until every listed job has ended (the emulator's timings are short; the bound is generous). */
async function sweepUntilEnded(rt: JobRuntime, ids: string[], onSweep?: (jobs: Job[]) => void): Promise<Job[]> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    await rt.sweep();
    const jobs = await Promise.all(ids.map(async (id) => (await rt.getJob(id))!));
    onSweep?.(jobs);
    if (jobs.every((j) => !['queued', 'submitted', 'running'].includes(j.state))) return jobs;
    if (Date.now() > deadline)
      throw new Error(`jobs still pending: ${jobs.map((j) => `${j.id}=${j.state}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe('job engine (Azurite + emulator)', () => {
  it('imports a valid solution: submitted, then 30, one event', async () => {
    const rt = await runtime();
    const solution = await upload(
      'contoso_core.zip',
      buildSolutionZip({ uniqueName: 'contoso_core', version: '1.2.0.0' }),
    );
    const accepted = await rt.accept(
      { kind: 'ImportSolution', solution, publishWorkflows: true },
      { defaultJobId: 'valid-1', source: 'queue' },
    );
    expect(accepted).toMatchObject({ jobId: 'valid-1', state: 'submitted', created: true });
    const [job] = await sweepUntilEnded(rt, ['valid-1']);
    expect(job).toMatchObject({
      state: 'succeeded',
      statusCode: 30,
      kind: 'ImportSolution',
      solutionName: 'contoso_core',
      solutionVersion: '1.2.0.0',
    });
    expect(job!.asyncOperationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(job!.importJobKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(await events(rt)).toEqual([
      expect.objectContaining({
        id: 'valid-1',
        kind: 'ImportSolution',
        outcome: 'succeeded',
        statusCode: 30,
        links: { status: '/api/imports/valid-1' },
      }),
    ]);
  });

  it('a failing import ends 31 with the failing components from the import job log', async () => {
    const rt = await runtime();
    const solution = await upload(
      'needs_base.zip',
      buildSolutionZip({ uniqueName: 'needs_base', missingDependencies: ['contoso_base'] }),
    );
    await rt.accept({ kind: 'ImportSolution', solution }, { defaultJobId: 'bad-1', source: 'queue' });
    const [job] = await sweepUntilEnded(rt, ['bad-1']);
    expect(job).toMatchObject({ state: 'failed', statusCode: 31 });
    expect(job!.importLog).toMatch(/contoso_base/);
    expect(job!.message).toMatch(/Import job log:/);
    const [event] = await events(rt);
    expect(event).toMatchObject({ id: 'bad-1', outcome: 'failed', statusCode: 31 });
  });

  it('runs three imports submitted at once one after another, none failed', async () => {
    const rt = await runtime();
    const ids = ['seq-1', 'seq-2', 'seq-3'];
    await Promise.all(
      ids.map(async (id, i) => {
        const solution = await upload(`seq_${i}.zip`, buildSolutionZip({ uniqueName: `seq_${i}` }));
        return rt.accept({ kind: 'ImportSolution', solution }, { defaultJobId: id, source: 'queue' });
      }),
    );
    let maxActive = 0;
    const jobs = await sweepUntilEnded(rt, ids, (js) => {
      maxActive = Math.max(maxActive, js.filter((j) => j.state === 'submitted' || j.state === 'running').length);
    });
    expect(jobs.map((j) => j.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(maxActive).toBe(1);
    // Each was submitted after the previous one completed in Dataverse.
    const ordered = [...jobs].sort((a, b) => a.submittedAt!.localeCompare(b.submittedAt!));
    for (let i = 1; i < ordered.length; i++)
      expect(Date.parse(ordered[i]!.submittedAt!)).toBeGreaterThanOrEqual(
        Date.parse(ordered[i - 1]!.completedAt!) - 1000,
      );
    expect((await events(rt)).map((e) => e.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });

  it('rejects a message of another kind with its reason, once, without Dataverse calls', async () => {
    const rt = await runtime();
    const before = emulator.stats().requests;
    const r1 = await rt.accept(
      { kind: 'ExportSolution', solutionName: 'x' },
      { defaultJobId: 'rej-1', source: 'queue' },
    );
    const r2 = await rt.accept(
      { kind: 'ExportSolution', solutionName: 'x' },
      { defaultJobId: 'rej-1', source: 'queue' },
    );
    expect(r1).toMatchObject({ state: 'rejected', created: true });
    expect(r1.reason).toMatch(/kind 'ExportSolution' is not one of ImportSolution, DeleteAndPromote, Merge/);
    expect(r2.created).toBe(false);
    expect((await rt.getJob('rej-1'))!.message).toMatch(/ExportSolution/);
    expect(emulator.stats().requests).toBe(before);
    expect(await events(rt)).toEqual([expect.objectContaining({ id: 'rej-1', kind: 'Unknown', outcome: 'rejected' })]);
  });

  it('cancels a running import (32) and a queued one locally', async () => {
    const slow = await startEmulator({ port: 0, solutions: { timing: { queuedMs: 100, runMs: 60_000 } } });
    const rt = await runtime(60, slow);
    try {
      const a = await upload('long_a.zip', buildSolutionZip({ uniqueName: 'long_a' }));
      const b = await upload('long_b.zip', buildSolutionZip({ uniqueName: 'long_b' }));
      await rt.accept({ kind: 'ImportSolution', solution: a }, { defaultJobId: 'cancel-a', source: 'http' });
      await rt.accept({ kind: 'ImportSolution', solution: b }, { defaultJobId: 'cancel-b', source: 'http' });
      expect((await rt.getJob('cancel-b'))!.state).toBe('queued');
      expect(await rt.cancel('cancel-b')).toMatchObject({ kind: 'canceled', job: { state: 'canceled' } });
      const result = await rt.cancel('cancel-a');
      expect(['canceled', 'cancelRequested']).toContain(result.kind);
      const [job] = await sweepUntilEnded(rt, ['cancel-a']);
      expect(job).toMatchObject({ state: 'canceled', statusCode: 32 });
      expect(await rt.cancel('cancel-a')).toMatchObject({ kind: 'alreadyEnded' });
      expect((await events(rt)).map((e) => `${e.id}:${e.outcome}`).sort()).toEqual([
        'cancel-a:canceled',
        'cancel-b:canceled',
      ]);
    } finally {
      await slow.close();
    }
  });

  it('a list stops after a failure: the rest are not started, the batch fails, one event each', async () => {
    const rt = await runtime();
    const ok = await upload('list_ok.zip', buildSolutionZip({ uniqueName: 'list_ok' }));
    const bad = await upload(
      'list_bad.zip',
      buildSolutionZip({ uniqueName: 'list_bad', missingDependencies: ['nowhere'] }),
    );
    const later = await upload('list_later.zip', buildSolutionZip({ uniqueName: 'list_later' }));
    const accepted = await rt.accept(
      {
        operations: [
          { kind: 'ImportSolution', solution: ok },
          { kind: 'ImportSolution', solution: bad },
          { kind: 'ImportSolution', solution: later },
        ],
      },
      { defaultJobId: 'list-1', source: 'queue' },
    );
    expect(accepted.childIds).toEqual(['list-1.1', 'list-1.2', 'list-1.3']);
    const jobs = await sweepUntilEnded(rt, ['list-1', 'list-1.1', 'list-1.2', 'list-1.3']);
    expect(jobs.map((j) => j.state)).toEqual(['partiallySucceeded', 'succeeded', 'failed', 'canceled']);
    expect(jobs[3]!.message).toMatch(/Not started: operation 2/);
    expect(jobs[3]!.asyncOperationId).toBeUndefined();
    const evs = await events(rt);
    expect(evs.map((e) => e.id).sort()).toEqual(['list-1', 'list-1.1', 'list-1.2', 'list-1.3']);
    expect(evs.find((e) => e.id === 'list-1')).toMatchObject({
      kind: 'Batch',
      outcome: 'partiallySucceeded',
      counts: { succeeded: 1, failed: 1, canceled: 1 },
    });
  });

  it('a sweep over 50 pending jobs makes one asyncoperations query; concurrent sweeps end each job once', async () => {
    // Operations that end at once, so 50 real asyncoperations can be made one after another.
    const instant = await startEmulator({ port: 0, solutions: { timing: { queuedMs: 0, runMs: 0 } } });
    try {
      const rt = await runtime(60, instant);
      const zip = buildSolutionZip({ uniqueName: 'many' });
      const ids: string[] = [];
      // The backlog a restarted app finds: 50 jobs submitted earlier, their outcomes not yet read.
      for (let i = 0; i < 50; i++) {
        const submitted = await rt.context.api.submitImport({
          customizationFile: zip,
          overwriteUnmanagedCustomizations: false,
          publishWorkflows: true,
          holdingSolution: false,
          convertToManaged: false,
          skipProductUpdateDependencies: false,
          componentParameters: [],
        });
        const id = `many-${String(i).padStart(2, '0')}`;
        ids.push(id);
        const at = new Date().toISOString();
        await rt.context.store.create({
          id,
          kind: 'ImportSolution',
          state: 'submitted',
          environment: rt.context.environment,
          laneSeq: `${Date.now()}_${i}`,
          source: 'queue',
          correlationId: id,
          createdAt: at,
          submittedAt: at,
          ...submitted,
        });
      }
      const before = instant.stats().requests;
      const [s1, s2] = await Promise.all([rt.sweep(), rt.sweep()]);
      const requests = instant.stats().requests - before;
      expect(s1.polled + s2.polled).toBeGreaterThanOrEqual(50);
      // Two sweeps: one asyncoperations query each (two if the URL had to be split), nothing per job for successes.
      expect(requests).toBeLessThanOrEqual(4);
      const jobs = await Promise.all(ids.map((id) => rt.getJob(id)));
      expect(jobs.map((j) => j!.state)).toEqual(ids.map(() => 'succeeded'));
      const evs = await events(rt);
      expect(evs).toHaveLength(50);
      expect(new Set(evs.map((e) => e.id)).size).toBe(50);
    } finally {
      await instant.close();
    }
  });
});
