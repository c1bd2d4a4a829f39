/**
 * Solution releases end to end (issue 18): the real registrations in the local host, on Azurite, against the
 * emulator. Decisions (skip, install, update, upgrade, holding), settings checked before submit, releases in
 * dependency order, a half-done upgrade found and finished, progress while an import runs. The emulator's stats
 * count every solution message it accepted, so "nothing was sent" is measured, not assumed.
 * Needs `npm run build` first (dist/).
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueClient } from '@azure/storage-queue';
import { zipSync } from 'fflate';
import { jobFunctionFiles } from '../../bench/asyncOperations';
import { startLocalStack, type LocalStack } from '../../dev/host/localStack';
import { buildSolutionZip, type SolutionZipOptions } from '../../dev/emulator/solutions/solutionZip';
import { jobEventSchema } from '../../shared/events/jobEvents';
import { repoRoot, waitFor } from './hostTestKit';

jest.setTimeout(240_000);

let stack: LocalStack;
const releaseFunctionFiles = ['releasesHttpPost', 'releasesHttpGet', 'solutionsHttpGet'].map(
  (f) => `dist/functions/${f}.js`,
);

beforeAll(async () => {
  stack = await startLocalStack({
    appDir: repoRoot,
    files: [...jobFunctionFiles, ...releaseFunctionFiles],
    port: 0,
    blobScanIntervalMs: 300,
    emulator: { solutions: { timing: { queuedMs: 200, runMs: 1500 } } },
    hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.500' } } },
    env: { FUNCTIONS_HOST_KEY: '', ASYNC_POLL_SCHEDULE: '*/1 * * * * *', ASYNC_MAX_WAIT_MINUTES: '30' },
  });
});
afterAll(async () => stack?.stop());

type Job = {
  id: string;
  state: string;
  message?: string;
  decision?: string;
  decisionReason?: string;
  steps?: string[];
  upgradeState?: string;
  progress?: number;
  componentsProcessed?: number;
};
type ReleaseSolution = {
  uniqueName: string;
  version: string;
  state: string;
  decision: string;
  reason: string;
  submittedAt?: string;
  completedAt?: string;
  failureReason?: string;
};
type Release = { id: string; state: string; message?: string; solutions: ReleaseSolution[] };

const pending = (state: string) => ['queued', 'submitted', 'running'].includes(state);

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(`${stack.api}${path}`);
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

const endedJob = (id: string) =>
  waitFor(
    async () => {
      const job = await getJson<Job>(`/imports/${id}`);
      return pending(job.state) ? undefined : job;
    },
    `job ${id}`,
    90_000,
  );
const endedRelease = (id: string) =>
  waitFor(
    async () => {
      const release = await getJson<Release>(`/releases/${id}`);
      return pending(release.state) ? undefined : release;
    },
    `release ${id}`,
    120_000,
  );

async function post(path: string, body: Uint8Array | object, query = '') {
  const zip = body instanceof Uint8Array;
  return fetch(`${stack.api}${path}${query}`, {
    method: 'POST',
    headers: { 'content-type': zip ? 'application/zip' : 'application/json' },
    body: zip ? body : JSON.stringify(body),
  });
}

async function importZip(options: SolutionZipOptions, query = ''): Promise<Job> {
  const response = await post('/imports', buildSolutionZip(options), query);
  expect(response.status).toBe(202);
  return endedJob(((await response.json()) as { id: string }).id);
}

/** Solution messages the emulator accepted, by name. */
const submitted = () =>
  (stack.emulator!.stats().solutions as { submittedByMessage: Record<string, number> }).submittedByMessage;
const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

const releaseZip = (zips: Record<string, SolutionZipOptions>) =>
  zipSync(Object.fromEntries(Object.entries(zips).map(([file, options]) => [file, buildSolutionZip(options)])));

async function uploadBlob(name: string, bytes: Uint8Array | string, metadata?: Record<string, string>) {
  const container = BlobServiceClient.fromConnectionString(stack.storage).getContainerClient('solutions');
  await container.createIfNotExists();
  await container.getBlockBlobClient(name).uploadData(typeof bytes === 'string' ? Buffer.from(bytes) : bytes, {
    ...(metadata ? { metadata } : {}),
  });
  return { container: 'solutions', name };
}

// Given in the wrong order: the file names sort app, core, base; core requires base, app requires core.
const threeSolutions = releaseZip({
  '1-app.zip': {
    uniqueName: 'rel_app',
    version: '1.0.0.0',
    managed: true,
    missingDependencies: [{ solution: 'rel_core', version: '1.0.0.0' }],
  },
  '2-core.zip': { uniqueName: 'rel_core', version: '1.0.0.0', managed: true, missingDependencies: ['rel_base'] },
  '3-base.zip': { uniqueName: 'rel_base', version: '1.0.0.0', managed: true },
});

describe('releases', () => {
  let firstRelease: Release;

  test('three solutions given in the wrong order are imported in dependency order', async () => {
    const before = submitted();
    const response = await post('/releases', threeSolutions);
    expect(response.status).toBe(202);
    const { id, childIds } = (await response.json()) as { id: string; childIds: string[] };
    expect(childIds).toHaveLength(3);
    firstRelease = await endedRelease(id);
    expect(firstRelease.state).toBe('succeeded');
    expect(firstRelease.solutions.map((s) => [s.uniqueName, s.decision, s.state])).toEqual([
      ['rel_base', 'install', 'succeeded'],
      ['rel_core', 'install', 'succeeded'],
      ['rel_app', 'install', 'succeeded'],
    ]);
    // One at a time, each after the one it requires ended.
    const [base, core, app] = firstRelease.solutions;
    expect(Date.parse(core!.submittedAt!)).toBeGreaterThanOrEqual(Date.parse(base!.completedAt!) - 1000);
    expect(Date.parse(app!.submittedAt!)).toBeGreaterThanOrEqual(Date.parse(core!.completedAt!) - 1000);
    expect((submitted().ImportSolutionAsync ?? 0) - (before.ImportSolutionAsync ?? 0)).toBe(3);
    const installed = await getJson<{ installed: { version: string; managed: boolean } }>('/solutions/rel_app');
    expect(installed.installed).toMatchObject({ version: '1.0.0.0', managed: true });
  });

  test('running it again skips all three, with no solution message sent', async () => {
    const before = sum(submitted());
    const response = await post('/releases', threeSolutions);
    expect(response.status).toBe(202);
    const release = await endedRelease(((await response.json()) as { id: string }).id);
    expect(release.state).toBe('succeeded');
    expect(release.solutions.map((s) => [s.uniqueName, s.decision, s.state])).toEqual([
      ['rel_base', 'skip', 'skipped'],
      ['rel_core', 'skip', 'skipped'],
      ['rel_app', 'skip', 'skipped'],
    ]);
    expect(release.solutions[0]!.reason).toMatch(/rel_base 1\.0\.0\.0 is the same version as the installed 1\.0\.0\.0/);
    expect(sum(submitted())).toBe(before);
  });

  test('one event per release, none for its solutions', async () => {
    const queue = new QueueClient(stack.storage, 'job-events');
    const events = await waitFor(async () => {
      const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 });
      const all = peekedMessageItems.map((m) =>
        jobEventSchema.parse(JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8'))),
      );
      return all.some((e) => e.id === firstRelease.id) ? all : undefined;
    }, 'release event');
    const mine = events.filter((e) => e.id === firstRelease.id || e.id.startsWith(`${firstRelease.id}.`));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      kind: 'Release',
      outcome: 'succeeded',
      counts: { succeeded: 3 },
      links: { status: `/api/releases/${firstRelease.id}` },
    });
    expect(mine[0]!.message).toMatch(/1\. rel_base 1\.0\.0\.0 install succeeded/);
  });

  test('a release naming blobs as JSON, and a zip dropped into solutions/_releases/', async () => {
    const blob = await uploadBlob('_uploads/e2e/rel_json.zip', buildSolutionZip({ uniqueName: 'rel_json' }));
    const response = await post('/releases', { solutions: [blob], continueOnError: true });
    expect(response.status).toBe(202);
    const release = await endedRelease(((await response.json()) as { id: string }).id);
    expect(release.solutions.map((s) => [s.uniqueName, s.decision, s.state])).toEqual([
      ['rel_json', 'install', 'succeeded'],
    ]);

    await uploadBlob('_releases/dropped.zip', releaseZip({ 'a.zip': { uniqueName: 'rel_dropped' } }));
    const dropped = await waitFor(
      async () => {
        const page = await getJson<{ items: { id: string; kind: string }[] }>('/jobs?pageSize=50');
        const item = page.items.find((i) => i.kind === 'Release' && i.id.startsWith('release-'));
        if (!item) return undefined;
        const r = await getJson<Release>(`/releases/${item.id}`);
        return pending(r.state) ? undefined : r;
      },
      'dropped release',
      90_000,
    );
    expect(dropped.solutions.map((s) => [s.uniqueName, s.state])).toEqual([['rel_dropped', 'succeeded']]);
  });

  test('a failure stops the rest (notStarted); with continueOnError only what requires it', async () => {
    // The first solution is canceled while it runs (statuscode 32): a failure the release did not foresee.
    stack.emulator!.configure({ solutions: { timing: { queuedMs: 200, runMs: 6000 } } });
    try {
      const run = async (prefix: string, continueOnError: boolean) => {
        const zip = releaseZip({
          '1.zip': { uniqueName: `${prefix}_first` },
          '2.zip': { uniqueName: `${prefix}_needs_first`, missingDependencies: [`${prefix}_first`] },
          '3.zip': { uniqueName: `${prefix}_free` },
        });
        const response = await post('/releases', zip, continueOnError ? '?continueOnError=true' : '');
        expect(response.status).toBe(202);
        const { id, childIds } = (await response.json()) as { id: string; childIds: string[] };
        await waitFor(
          async () => ((await getJson<Job>(`/imports/${childIds[0]}`)).state === 'running' ? true : undefined),
          'first solution running',
          60_000,
        );
        expect([200, 202]).toContain(
          (await fetch(`${stack.api}/imports/${childIds[0]}/cancel`, { method: 'POST' })).status,
        );
        return endedRelease(id);
      };
      const stopped = await run('stop', false);
      expect(stopped.state).toBe('failed');
      expect(stopped.solutions.map((s) => s.state)).toEqual(['failed', 'notStarted', 'notStarted']);
      expect(stopped.solutions[1]!.failureReason).toMatch(/Not started: stop_first .* ended canceled/);

      const goesOn = await run('goes', true);
      expect(goesOn.state).toBe('partiallySucceeded');
      expect(goesOn.solutions.map((s) => [s.uniqueName, s.state])).toEqual([
        ['goes_first', 'failed'],
        ['goes_needs_first', 'notStarted'],
        ['goes_free', 'succeeded'],
      ]);
    } finally {
      stack.emulator!.configure({ solutions: { timing: { queuedMs: 200, runMs: 1500 } } });
    }
  });
});

describe('decisions on single imports', () => {
  test('a first install of a managed solution with mode auto installs; a newer version is upgraded', async () => {
    const first = await importZip({ uniqueName: 'e2e_managed', version: '1.0.0.0', managed: true }, '?mode=auto');
    expect(first).toMatchObject({ state: 'succeeded', decision: 'install', steps: ['ImportSolutionAsync'] });
    const before = submitted();
    const newer = await importZip({ uniqueName: 'e2e_managed', version: '1.1.0.0', managed: true });
    expect(newer).toMatchObject({ state: 'succeeded', decision: 'upgrade', steps: ['StageAndUpgradeAsync'] });
    expect(newer.decisionReason).toMatch(/1\.1\.0\.0 is newer than the installed 1\.0\.0\.0/);
    expect((submitted().StageAndUpgradeAsync ?? 0) - (before.StageAndUpgradeAsync ?? 0)).toBe(1);
    const solution = await getJson<{ installed: { version: string }; upgrade: string }>('/solutions/e2e_managed');
    expect(solution).toMatchObject({ installed: { version: '1.1.0.0' }, upgrade: 'none' });
  });

  test('settings naming two unknown connection references and a badly typed variable are rejected, all three listed', async () => {
    const zip = await uploadBlob(
      '_uploads/e2e/settings.zip',
      buildSolutionZip({
        uniqueName: 'e2e_settings',
        connectionReferences: [{ logicalName: 'cr_sql' }],
        environmentVariables: [{ schemaName: 'cr_retries', type: 100000001 }],
      }),
    );
    const before = sum(submitted());
    const response = await post('/imports', {
      kind: 'ImportSolution',
      solution: zip,
      settings: {
        EnvironmentVariables: [{ SchemaName: 'cr_retries', Value: 'three' }],
        ConnectionReferences: [
          { LogicalName: 'cr_sql', ConnectionId: 'c1' },
          { LogicalName: 'cr_sharepoint', ConnectionId: 'c2' },
          { LogicalName: 'cr_outlook', ConnectionId: 'c3' },
        ],
      },
    });
    expect(response.status).toBe(202);
    const job = await endedJob(((await response.json()) as { id: string }).id);
    expect(job.state).toBe('rejected');
    expect(job.message).toMatch(/connection reference cr_sharepoint is not in the solution e2e_settings/);
    expect(job.message).toMatch(/connection reference cr_outlook is not in the solution e2e_settings/);
    expect(job.message).toMatch(/the value of cr_retries is not a number: the variable's type is Number/);
    expect(sum(submitted())).toBe(before);
  });

  test('a settings file that is not JSON is rejected naming the file', async () => {
    const zip = await uploadBlob('_uploads/e2e/settings2.zip', buildSolutionZip({ uniqueName: 'e2e_settings2' }));
    const settingsFile = await uploadBlob('_uploads/e2e/settings2.json', '{ "EnvironmentVariables": [ ');
    const response = await post('/imports', { kind: 'ImportSolution', solution: zip, settingsFile });
    const job = await endedJob(((await response.json()) as { id: string }).id);
    expect(job.state).toBe('rejected');
    expect(job.message).toMatch(/solutions\/_uploads\/e2e\/settings2\.json is not JSON/);
  });

  test('a stuck holding solution is reported, refused, then finished with finishUpgrade', async () => {
    await importZip({ uniqueName: 'e2e_hold', version: '1.0.0.0', managed: true });
    const holding = await importZip({ uniqueName: 'e2e_hold', version: '2.0.0.0', managed: true }, '?mode=holding');
    expect(holding).toMatchObject({ state: 'succeeded', decision: 'holding' });

    const stuck = await getJson<{
      upgrade: string;
      holding: { uniqueName: string; version: string };
      description: string;
    }>('/solutions/e2e_hold');
    expect(stuck).toMatchObject({
      upgrade: 'halfDone',
      holding: { uniqueName: 'e2e_hold_Upgrade', version: '2.0.0.0' },
    });
    expect(stuck.description).toMatch(/half done/);

    const before = sum(submitted());
    const refused = await importZip({ uniqueName: 'e2e_hold', version: '2.1.0.0', managed: true });
    expect(refused.state).toBe('rejected');
    expect(refused.upgradeState).toMatch(/An upgrade of e2e_hold is half done/);
    expect(refused.message).toMatch(/finishUpgrade: true/);
    expect(sum(submitted())).toBe(before);

    const finished = await importZip(
      { uniqueName: 'e2e_hold', version: '2.1.0.0', managed: true },
      '?finishUpgrade=true',
    );
    expect(finished).toMatchObject({
      state: 'succeeded',
      decision: 'upgrade',
      steps: ['DeleteAndPromoteAsync', 'StageAndUpgradeAsync'],
    });
    expect(finished.decisionReason).toMatch(/finished first with DeleteAndPromote/);
    const after = await getJson<{ installed: { version: string }; upgrade: string }>('/solutions/e2e_hold');
    expect(after).toMatchObject({ installed: { version: '2.1.0.0' }, upgrade: 'none' });
  });

  test('progress percentages appear while an import runs; components processed at the end', async () => {
    stack.emulator!.configure({ solutions: { timing: { queuedMs: 200, runMs: 8000 } } });
    try {
      const response = await post('/imports', buildSolutionZip({ uniqueName: 'e2e_progress' }));
      const { id } = (await response.json()) as { id: string };
      const seen = new Set<number>();
      const job = await waitFor(
        async () => {
          const j = await getJson<Job>(`/imports/${id}`);
          if (j.state === 'running' && j.progress !== undefined) seen.add(j.progress);
          return pending(j.state) ? undefined : j;
        },
        'progress import',
        90_000,
      );
      expect(job.state).toBe('succeeded');
      const between = [...seen].filter((p) => p > 0 && p < 100);
      expect(between.length).toBeGreaterThanOrEqual(2);
      expect(job.componentsProcessed).toBeGreaterThanOrEqual(1);
    } finally {
      stack.emulator!.configure({ solutions: { timing: { queuedMs: 200, runMs: 1500 } } });
    }
  });
});

describe('bad input is refused before any Dataverse call', () => {
  const refusal = async (body: Uint8Array | object) => {
    const before = sum(submitted());
    const response = await post('/releases', body);
    expect(response.status).toBe(400);
    expect(sum(submitted())).toBe(before);
    return ((await response.json()) as { error: { code: string; message: string } }).error;
  };

  test('a zip without solution.xml, and a version that is not a.b.c.d', async () => {
    const error = await refusal(
      releaseZip({
        'empty.zip': { uniqueName: 'bad_empty', corrupt: 'noSolutionXml' },
        'short.zip': { uniqueName: 'bad_short', version: '1.0' },
      }),
    );
    expect(error.message).toMatch(/empty\.zip has no solution\.xml/);
    expect(error.message).toMatch(/short\.zip\/solution\.xml/);
    expect(error.message).toMatch(/1\.0/);
  });

  test('a dependency cycle, two solutions with one unique name, a missing dependency', async () => {
    const cycle = await refusal(
      releaseZip({
        'x.zip': { uniqueName: 'cyc_x', missingDependencies: ['cyc_y'] },
        'y.zip': { uniqueName: 'cyc_y', missingDependencies: ['cyc_x'] },
      }),
    );
    expect(cycle.message).toMatch(/cyc_x requires cyc_y requires cyc_x|cyc_y requires cyc_x requires cyc_y/);
    const twice = await refusal(
      releaseZip({ 'a.zip': { uniqueName: 'dup_a' }, 'b.zip': { uniqueName: 'dup_a', version: '2.0.0.0' } }),
    );
    expect(twice.message).toMatch(/a\.zip.*b\.zip|b\.zip.*a\.zip/);
    const missing = await refusal(
      releaseZip({ 'm.zip': { uniqueName: 'miss_a', missingDependencies: ['miss_nowhere'] } }),
    );
    expect(missing.message).toMatch(/miss_nowhere/);
  });

  test('release JSON with an unknown field, and a body that is not JSON', async () => {
    const unknown = await refusal({ solutions: [{ container: 'solutions', name: 'x.zip' }], colour: 'blue' });
    expect(unknown.message).toMatch(/colour/);
    const response = await fetch(`${stack.api}/releases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{ not json',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/not JSON/);
  });

  test('GET of an unknown release or solution answers 404', async () => {
    expect((await fetch(`${stack.api}/releases/nope`)).status).toBe(404);
    expect((await fetch(`${stack.api}/solutions/not_installed_here`)).status).toBe(404);
    expect((await fetch(`${stack.api}/solutions/bad%20name`)).status).toBe(400);
  });
});
