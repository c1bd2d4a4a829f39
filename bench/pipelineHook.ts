/**
 * The whole pipeline (blob drop → local host → emulator), through the loads helper's bench/loadBenchmark.ts
 * (postLoad, waitForLoad, peakRssMB), on the same bench CSV and the same emulator settings as the reference
 * loaders: a fresh local stack per run (Azurite in memory, the host in a child process, the emulator in this
 * process), the file dropped as a blob under `incoming/account/` (metadata operation=create and the load id), then
 * GET /api/loads/{id} polled until the load ends (the clock starts once the blob is in). The host's
 * peak RSS (VmHWM) is read before the stack stops. Loaded at run time so the suite still runs without it.
 * With `telemetry`, the worker exports to the OpenTelemetry SDK's in-memory exporters (TELEMETRY_TEST_EXPORT_FILE),
 * and the run reports what they held when the host stopped.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { startLocalStack } from '../dev/host/localStack';
import { metricNames } from '../shared/observability/telemetry';
import { telemetryDumpSchema } from '../shared/observability/telemetryDump';
import type { GeneratedCsv } from './accountsCsv';
import {
  ceilingFor,
  emulatorOptionsFor,
  emulatorRunCounts,
  type BenchProfile,
  type EmulatorRunCounts,
} from './benchProfile';

export interface PipelineRun {
  counts: EmulatorRunCounts;
  batchSize: number;
  /** The loads' default `auto` mode sends CreateMultiple (bulk); `$batch` only as a fallback or to isolate faults. */
  shape: 'bulk';
  ceilingAtBatchSize: number;
  /** Upload of the blob into Azurite (not in `counts.seconds`: the clock starts at the drop). */
  uploadSeconds: number;
  peakHostRssMB?: number;
  blobMB: number;
  status: string;
  error?: string;
  /** With telemetry on: what the in-memory exporters held (rows succeeded from the rows metric). */
  telemetry?: { spans: number; logRecords: number; rowsSucceeded: number };
}

interface LoadBenchmarkModule {
  waitForLoad(
    api: () => string,
    id: string,
    options?: { timeoutMs?: number; pollMs?: number },
  ): Promise<{ status: string; counts: { succeeded: number; failed: number }; message?: string }>;
  peakRssMB(pid: number): number | undefined;
}

export type PipelineBenchmark = (csv: GeneratedCsv, profile: BenchProfile) => Promise<PipelineRun>;

export function loadPipelineBenchmark(
  repoRoot: string,
  options: { telemetry?: boolean } = {},
): PipelineBenchmark | undefined {
  const file = join(__dirname, 'loadBenchmark.js');
  if (!existsSync(file) || !existsSync(join(repoRoot, 'dist', 'functions', 'loadBlobTrigger.js'))) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loads the compiled module only when it was built (an import would always load it)
  const loads = require(file) as LoadBenchmarkModule;
  return async (csv, profile) => {
    const telemetryFile = options.telemetry ? join(tmpdir(), `bench-telemetry-${randomUUID()}.json`) : undefined;
    const stack = await startLocalStack({
      appDir: repoRoot,
      files: ['dist/functions/load*.js'],
      blobScanIntervalMs: 500,
      hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.500', batchSize: 16, newBatchThreshold: 8 } } },
      emulator: emulatorOptionsFor(profile),
      env: { FUNCTIONS_HOST_KEY: '', ...(telemetryFile ? { TELEMETRY_TEST_EXPORT_FILE: telemetryFile } : {}) },
    });
    let run: PipelineRun;
    try {
      // A blob drop (the HTTP API caps request bodies below a 1M-row file): the load id rides in the metadata.
      const id = randomUUID();
      const container = BlobServiceClient.fromConnectionString(stack.storage).getContainerClient(
        stack.settings.LOAD_CONTAINER ?? 'incoming',
      );
      const uploadStarted = performance.now();
      await container.getBlockBlobClient(`account/${basename(csv.path)}`).uploadFile(csv.path, {
        metadata: { loadid: id, operation: 'create' },
        blobHTTPHeaders: { blobContentType: 'text/csv' },
      });
      const uploadSeconds = (performance.now() - uploadStarted) / 1000;
      const started = performance.now();
      // Polled every 100 ms: the end of a load is seen within 0.1 s (the GET is a single Table read).
      const view = await loads.waitForLoad(() => stack.api, id, { timeoutMs: 60 * 60_000, pollMs: 100 });
      const seconds = (performance.now() - started) / 1000;
      const counts = emulatorRunCounts(stack.emulator!.stats(), seconds, profile);
      const pid = 'pid' in stack.host ? stack.host.pid : process.pid;
      const peak = loads.peakRssMB(pid);
      run = {
        counts,
        batchSize: 1000,
        shape: 'bulk',
        ceilingAtBatchSize: ceilingFor(profile, 1000, 'bulk').rowsPerSecond,
        uploadSeconds,
        ...(peak !== undefined ? { peakHostRssMB: peak } : {}),
        blobMB: csv.bytes / 2 ** 20,
        status: view.status,
        ...(view.status !== 'succeeded' || counts.rowsCreated !== csv.rows
          ? {
              error: `${view.status}: ${counts.rowsCreated} of ${csv.rows} created${view.message ? ` (${view.message})` : ''}`,
            }
          : {}),
      };
    } finally {
      await stack.stop(); // a graceful stop: the worker writes the telemetry file
    }
    if (telemetryFile) {
      const dump = telemetryDumpSchema.parse(JSON.parse(readFileSync(telemetryFile, 'utf8')));
      rmSync(telemetryFile, { force: true });
      const rows = dump.metrics.find((m) => m.name === metricNames.rows)?.points ?? [];
      run.telemetry = {
        spans: dump.spans.length,
        logRecords: dump.logRecords.length,
        rowsSucceeded: rows
          .filter((p) => p.attributes['dataverse_loader.row_outcome'] === 'succeeded')
          .reduce((n, p) => n + Number(p.value), 0),
      };
    }
    return run;
  };
}
