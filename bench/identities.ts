/**
 * `npm run bench -- --parts identities` (issue 17): the 100k pipeline sent as 1, 2 and 4 application users against
 * the same emulator settings, each identity limited as one Dataverse user (the emulator keeps its limits per caller).
 * Target: rows/s ÷ (N × one user's ceiling) ≥ 85 % for N = 2 and 4, and no identity above its own limits.
 *
 * The speed-up k is chosen from the machine: the pipeline is first run with no limits and no latency, and k is set
 * so that four users' ceiling is `headroomShare` (40 %) of that rate, at most 0.625 (four users' ceiling 3,846
 * rows/s, the single-user ceiling the throughput part drives on a quiet machine). Otherwise, on a loaded 2-core
 * machine, four users would be allowed more than the pipeline can push at all, and the figure would measure this
 * machine, not Dataverse's limits. Both rates are printed.
 */
import { randomUUID } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import type { CallerStats, EmulatorOptions, EmulatorStats } from '../dev/emulator/index';
import { startLocalStack } from '../dev/host/localStack';
import { writeAccountsCsv, type GeneratedCsv } from './accountsCsv';
import {
  bestCeilingFor,
  defaultBenchProfile,
  emulatorOptionsFor,
  scaledLatency,
  scaledLimits,
  type BenchProfile,
} from './benchProfile';
import { waitForLoad } from './loadBenchmark';

/** Four users' ceiling as a share of the unthrottled pipeline rate, and the largest speed-up used. */
export const headroomShare = 0.4;
export const maxSpeedUp = 0.625;

/** The profile whose four-user ceiling is headroomShare of `unthrottled` rows/s (speed-up at most maxSpeedUp). */
export function identitiesProfileFor(unthrottled: number): BenchProfile {
  const oneUserAtK1 = bestCeilingFor({ ...defaultBenchProfile, speedUp: 1 }).rowsPerSecond;
  const speedUp = Math.min(maxSpeedUp, Math.round(((headroomShare * unthrottled) / (4 * oneUserAtK1)) * 1000) / 1000);
  return { ...defaultBenchProfile, speedUp: Math.max(0.05, speedUp) };
}
export const identityCounts = [1, 2, 4] as const;

/**
 * The host fetches more chunk messages whenever no more than newBatchThreshold run: at least the request slots of
 * all identities (each runs at the emulator's dop hint), as infra/main.bicep sets it, else the slots drain to the
 * threshold before more work comes. 8, as the other parts, while that covers them (one and two identities).
 */
export const newBatchThresholdFor = (identities: number) => Math.max(8, defaultBenchProfile.dopHint * identities);
const extraClientIds = [
  '1de00000-0000-4000-8000-000000000002',
  '1de00000-0000-4000-8000-000000000003',
  '1de00000-0000-4000-8000-000000000004',
];

export interface IdentityRun {
  identities: number;
  rowsPerSecond: number;
  seconds: number;
  rowsCreated: number;
  status: string;
  /** N × one user's ceiling, real rows/s. */
  ceiling: number;
  /** rows/s ÷ ceiling. */
  ofCeiling: number;
  throttled: number;
  /** Per caller (the emulator's view): requests, 429s, peaks against the limits. */
  callers: (Pick<
    CallerStats,
    'appId' | 'requests' | 'peakInFlight' | 'peakRequestsInWindow' | 'peakExecutionMsInWindow'
  > & {
    throttled: number;
  })[];
  /** Callers above a limit (requests per window, concurrency; execution time beyond one request's overshoot). */
  overLimits: string[];
}

export interface IdentitiesReport {
  speedUp: number;
  oneUserCeiling: number;
  unthrottledRowsPerSecond: number;
  runs: IdentityRun[];
}

async function runPipeline(
  csv: GeneratedCsv,
  emulator: EmulatorOptions,
  identities: number,
): Promise<{ seconds: number; status: string; stats: EmulatorStats }> {
  const extra = extraClientIds.slice(0, identities - 1).map((clientId, i) => ({
    name: `identity-${i + 2}`,
    auth: 'managedIdentity',
    clientId,
  }));
  const stack = await startLocalStack({
    files: ['dist/functions/load*.js'],
    blobScanIntervalMs: 500,
    hostJson: {
      extensions: {
        queues: {
          maxPollingInterval: '00:00:00.500',
          batchSize: 16,
          newBatchThreshold: newBatchThresholdFor(identities),
        },
      },
    },
    emulator,
    env: { FUNCTIONS_HOST_KEY: '', ...(extra.length > 0 ? { DATAVERSE_IDENTITIES: JSON.stringify(extra) } : {}) },
  });
  try {
    const container = BlobServiceClient.fromConnectionString(stack.storage).getContainerClient('incoming');
    const load = async (file: GeneratedCsv) => {
      const id = randomUUID();
      await container.getBlockBlobClient(`account/${basename(file.path)}`).uploadFile(file.path, {
        metadata: { loadid: id, operation: 'create' },
        blobHTTPHeaders: { blobContentType: 'text/csv' },
      });
      return id;
    };
    // A fresh host's first load reads the table's metadata and each identity's token (a second or so at this
    // speed-up, 5 % of four identities' run): a chunk per identity first, then the emulator starts afresh.
    await waitForLoad(() => stack.api, await load(await writeAccountsCsv(1000 * identities, dirname(csv.path))), {
      pollMs: 100,
    });
    stack.emulator!.reset();
    const id = await load(csv);
    const started = performance.now();
    const view = await waitForLoad(() => stack.api, id, { timeoutMs: 30 * 60_000, pollMs: 100 });
    return { seconds: (performance.now() - started) / 1000, status: view.status, stats: stack.emulator!.stats() };
  } finally {
    await stack.stop();
  }
}

export async function runIdentities(csv: GeneratedCsv, log: (line: string) => void): Promise<IdentitiesReport> {
  log(`  ${csv.rows} rows, no limits and no latency (what this machine's pipeline does unthrottled)…`);
  const free = await runPipeline(
    csv,
    {
      port: 0,
      limits: { requestsPerWindow: 1e9, executionMsPerWindow: 1e12, concurrency: 1000 },
      latency: { baseMs: 0, perOperationMs: 0, perTable: {} },
      dopHint: 16,
    },
    1,
  );
  const unthrottledRowsPerSecond = (free.stats.recordsPerTable['account'] ?? 0) / free.seconds;
  const profile = identitiesProfileFor(unthrottledRowsPerSecond);
  const oneUserCeiling = bestCeilingFor(profile).rowsPerSecond;
  const limits = scaledLimits(profile);
  log(
    `  unthrottled: ${unthrottledRowsPerSecond.toFixed(0)} rows/s; speed-up ${profile.speedUp}: one user's ceiling ${oneUserCeiling.toFixed(0)} rows/s, four users' ${(4 * oneUserCeiling).toFixed(0)} rows/s (${((400 * oneUserCeiling) / unthrottledRowsPerSecond).toFixed(0)} % of unthrottled)`,
  );
  const runs: IdentityRun[] = [];
  for (const identities of identityCounts) {
    log(`  ${csv.rows} rows as ${identities} identit${identities === 1 ? 'y' : 'ies'}…`);
    const { seconds, status, stats } = await runPipeline(csv, emulatorOptionsFor(profile), identities);
    const rowsCreated = stats.recordsPerTable['account'] ?? 0;
    const rowsPerSecond = rowsCreated / seconds;
    const ceiling = identities * oneUserCeiling;
    const callers = Object.values(stats.callers).map((c) => ({
      ...(c.appId ? { appId: c.appId } : {}),
      requests: c.requests,
      throttled: Object.values(c.throttled).reduce((a, b) => a + b, 0),
      peakInFlight: c.peakInFlight ?? 0,
      peakRequestsInWindow: c.peakRequestsInWindow ?? 0,
      peakExecutionMsInWindow: c.peakExecutionMsInWindow ?? 0,
    }));
    // Execution time is checked when a request is admitted (as Dataverse: "may be exceeded before enforcement"):
    // a window may end over the budget by what the requests in flight then accrue, at most one per slot.
    const latency = scaledLatency(profile);
    const oneRequestMs =
      limits.timeScale * (latency.baseMs + latency.perOperationMs * (latency.bulkOperationFactor ?? 1) * 1000);
    const overLimits = callers.flatMap((c) => [
      ...(c.peakRequestsInWindow > limits.requestsPerWindow
        ? [`${c.appId}: ${c.peakRequestsInWindow} requests in a window`]
        : []),
      ...(c.peakInFlight > limits.concurrency ? [`${c.appId}: ${c.peakInFlight} in flight`] : []),
      ...(c.peakExecutionMsInWindow > limits.executionMsPerWindow + profile.dopHint * oneRequestMs
        ? [`${c.appId}: ${c.peakExecutionMsInWindow} ms of execution in a window`]
        : []),
    ]);
    const run: IdentityRun = {
      identities,
      rowsPerSecond,
      seconds,
      rowsCreated,
      status,
      ceiling,
      ofCeiling: rowsPerSecond / ceiling,
      throttled: callers.reduce((n, c) => n + c.throttled, 0),
      callers,
      overLimits,
    };
    runs.push(run);
    log(
      `  ${identities} identities: ${rowsPerSecond.toFixed(0)} rows/s = ${(run.ofCeiling * 100).toFixed(0)} % of ${ceiling.toFixed(0)} (N × one user's ceiling), ${seconds.toFixed(1)} s, ${run.throttled} 429s, ${status}, callers ${callers.length}, over limits: ${overLimits.length === 0 ? 'none' : overLimits.join('; ')}`,
    );
  }
  return { speedUp: profile.speedUp, oneUserCeiling, unthrottledRowsPerSecond, runs };
}

export function formatIdentities(report: IdentitiesReport): string {
  const lines = [
    `Several identities (100k pipeline, speed-up ${report.speedUp}): one user's ceiling ${report.oneUserCeiling.toFixed(0)} rows/s; this machine's pipeline unthrottled ${report.unthrottledRowsPerSecond.toFixed(0)} rows/s (four users' ceiling is ${((400 * report.oneUserCeiling) / report.unthrottledRowsPerSecond).toFixed(0)} % of it).`,
    '',
    "| identities | rows/s | Dataverse-time rows/s | N × one user's ceiling | of ceiling | seconds | 429s | requests per caller | peak in flight | peak requests / window | peak execution ms / window | over limits |",
    '|-----------:|-------:|----------------------:|-----------------------:|-----------:|--------:|-----:|--------------------:|---------------:|-----------------------:|---------------------------:|------------:|',
  ];
  for (const r of report.runs) {
    const per = (f: (c: IdentityRun['callers'][number]) => number) => r.callers.map(f).join(' / ');
    lines.push(
      `| ${r.identities} | ${r.rowsPerSecond.toFixed(0)} | ${(r.rowsPerSecond / report.speedUp).toFixed(0)} | ${r.ceiling.toFixed(0)} | ${(r.ofCeiling * 100).toFixed(0)}% | ${r.seconds.toFixed(1)} | ${r.throttled} | ${per((c) => c.requests)} | ${per((c) => c.peakInFlight ?? 0)} | ${per((c) => c.peakRequestsInWindow ?? 0)} | ${per((c) => c.peakExecutionMsInWindow ?? 0)} | ${r.overLimits.length === 0 ? 'none' : r.overLimits.join('; ')} |`,
    );
  }
  return lines.join('\n');
}
