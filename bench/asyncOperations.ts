/**
 * Background operations: 20 solution imports queued at once through the local host (HTTP POST /imports →
 * queue → ImportSolutionAsync → poller). For each AsyncOperation, the time from its final state in the emulator
 * to its result in Table Storage (the jobs table), and the Dataverse requests each poller sweep makes.
 *
 * The emulator runs in this process, so its state is read without HTTP (it adds no requests): the k-th
 * AsyncOperation to reach a final state (30/31/32) is matched with the k-th job to end in the jobs table
 * (imports run one at a time, so the order is the same). Both sides are sampled every 25 ms.
 */
import { TableClient } from '@azure/data-tables';
import { join } from 'node:path';
import { buildSolutionZip } from '../dev/emulator/solutions/solutionZip';
import { startLocalStack, type LocalStack } from '../dev/host/localStack';

export interface AsyncOperationsResult {
  imports: number;
  pollIntervalSeconds: number;
  /** Final state in the emulator → job ended in Table Storage, ms, in completion order. */
  lagMs: number[];
  lagMedianMs: number;
  lagMaxMs: number;
  /** Target: one poll interval + 1 s. */
  targetMs: number;
  sweeps: number;
  /** Dataverse requests during each poller invocation (Executing → Executed lines of the host). */
  requestsPerSweep: { median: number; max: number; mean: number };
  solutionQueriesPerSweep: { median: number; max: number; mean: number };
  states: Record<string, number>;
  seconds: number;
}

const FINAL = ['30', '31', '32'];
/** The compiled functions that run background jobs: queue, poller, the HTTP API and the solution blob trigger. */
export const jobFunctionFiles = [
  'asyncOperationQueue',
  'asyncOperationPoller',
  'importsHttpPost',
  'importsHttpGet',
  'importsHttpCancel',
  'jobsHttp',
  'solutionBlobTrigger',
].map((f) => `dist/functions/${f}.js`);

function summary(values: number[]): { median: number; max: number; mean: number } {
  if (values.length === 0) return { median: 0, max: 0, mean: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)]!,
    max: sorted[sorted.length - 1]!,
    mean: values.reduce((a, b) => a + b, 0) / values.length,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function measureAsyncOperations(options: {
  repoRoot: string;
  imports?: number;
  pollIntervalSeconds?: number;
  runMs?: number;
  timeoutMs?: number;
}): Promise<AsyncOperationsResult> {
  const imports = options.imports ?? 20;
  const interval = options.pollIntervalSeconds ?? 2;
  const sweepRequests: number[] = [];
  const sweepQueries: number[] = [];
  let stack: LocalStack | undefined;
  let sweepStart: { requests: number; queries: number } | undefined;
  const snapshot = () => {
    const s = stack?.emulator?.stats();
    return {
      requests: s?.requests ?? 0,
      queries: (s?.solutions as { solutionQueries?: number } | undefined)?.solutionQueries ?? 0,
    };
  };
  const onOutput = (line: string) => {
    if (line.includes("Executing 'Functions.asyncOperationPoller'")) sweepStart = snapshot();
    else if (line.includes("Executed 'Functions.asyncOperationPoller'") && sweepStart) {
      const end = snapshot();
      sweepRequests.push(end.requests - sweepStart.requests);
      sweepQueries.push(end.queries - sweepStart.queries);
      sweepStart = undefined;
    }
  };
  stack = await startLocalStack({
    appDir: options.repoRoot,
    files: jobFunctionFiles,
    port: 0,
    emulator: { solutions: { timing: { queuedMs: 200, runMs: options.runMs ?? 1000 } } },
    hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.500' } } },
    env: { FUNCTIONS_HOST_KEY: '', ASYNC_POLL_SCHEDULE: `*/${interval} * * * * *`, ASYNC_MAX_WAIT_MINUTES: '30' },
    onOutput,
  });
  try {
    const emulator = stack.emulator!;
    const jobs = TableClient.fromConnectionString(stack.storage, stack.settings.JOBS_TABLE ?? 'jobs', {
      allowInsecureConnection: true,
    });
    const started = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < imports; i++) {
      const response = await fetch(`${stack.api}/imports`, {
        method: 'POST',
        headers: { 'content-type': 'application/zip' },
        body: buildSolutionZip({ uniqueName: `bench_import_${i}` }),
      });
      if (response.status !== 202)
        throw new Error(`POST /imports answered ${response.status}: ${await response.text()}`);
      ids.push(((await response.json()) as { id: string }).id);
    }
    const finalAt: number[] = [];
    const endedAt = new Map<string, number>();
    const states: Record<string, number> = {};
    const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
    let lastTable = 0;
    while (endedAt.size < imports) {
      if (Date.now() > deadline) throw new Error(`only ${endedAt.size} of ${imports} imports ended in time`);
      const byStatus =
        (emulator.stats().solutions as { asyncOperationsByStatus?: Record<string, number> } | undefined)
          ?.asyncOperationsByStatus ?? {};
      const final = FINAL.reduce((n, code) => n + (byStatus[code] ?? 0), 0);
      while (finalAt.length < final) finalAt.push(performance.now());
      if (performance.now() - lastTable >= 25) {
        lastTable = performance.now();
        for await (const entity of jobs.listEntities<{ state?: string }>()) {
          const id = entity.rowKey!;
          if (!ids.includes(id) || endedAt.has(id)) continue;
          if (entity.state && !['queued', 'submitted', 'running'].includes(entity.state)) {
            endedAt.set(id, performance.now());
            states[entity.state] = (states[entity.state] ?? 0) + 1;
          }
        }
      }
      await sleep(10);
    }
    const ended = [...endedAt.values()].sort((a, b) => a - b);
    const lagMs = ended.map((at, k) => at - (finalAt[k] ?? at));
    const lag = summary(lagMs);
    return {
      imports,
      pollIntervalSeconds: interval,
      lagMs: lagMs.map(Math.round),
      lagMedianMs: Math.round(lag.median),
      lagMaxMs: Math.round(lag.max),
      targetMs: interval * 1000 + 1000,
      sweeps: sweepRequests.length,
      requestsPerSweep: summary(sweepRequests),
      solutionQueriesPerSweep: summary(sweepQueries),
      states,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await stack.stop();
  }
}

export const repoRootFromDist = (distBenchDir: string) => join(distBenchDir, '..', '..');
