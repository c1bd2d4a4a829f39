/**
 * `npm run bench`: the benchmark suite (issue 7). Options:
 *   --size 10k,100k,1m   row counts (default 10k,100k; 1m takes several minutes per loader)
 *   --parts throughput,engine,memory,upload,async,emulator,resilience,workbook,references,identities,plans   which parts (default all)
 *   --loaders pipeline,client,common,adf   which loaders the throughput part runs (default all)
 *   --quick              smoke run: 10k rows only, one engine run, 5 imports
 *   --telemetry          the pipeline runs with OpenTelemetry on, in the SDK's in-memory exporters
 *                        (the cost of the spans, metrics and log records, without a network exporter)
 * Prints a table and writes bench/results/<timestamp>.json and bench/results/latest.json.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../dev/emulator/index';
import { startEmulatorProcess } from './emulatorProcess';
import { writeAccountsCsv, type GeneratedCsv } from './accountsCsv';
import { measureAsyncOperations } from './asyncOperations';
import { accountMetadata } from './benchClients';
import {
  bestCeilingFor,
  ceilingFor,
  defaultBenchProfile,
  describeProfile,
  emulatorOptionsFor,
  emulatorRunCounts,
  type BenchProfile,
  type EmulatorRunCounts,
} from './benchProfile';
import { measureEngineCost } from './engineCost';
import type { RequestShape } from './ceiling';
import { formatReport } from './report';
import { runAdfDefault, runCommonScript, runOurClient, type LoaderRun } from './referenceLoaders';
import { loadPipelineBenchmark, type PipelineBenchmark, type PipelineRun } from './pipelineHook';
import { formatIdentities, runIdentities } from './identities';
import { formatResilience, runResilience } from './resilience';
import { measureUploadMemory } from './uploadMemory';
import { formatWorkbookMemory, measureWorkbookMemory } from './workbookMemory';
import { formatInFileReferences, measureInFileReferences } from './inFileReferences';
import { formatPlans, measurePlans } from './plans';

export const PARTS = [
  'throughput',
  'engine',
  'memory',
  'upload',
  'async',
  'emulator',
  'resilience',
  'workbook',
  'references',
  'identities',
  'plans',
] as const;
export type BenchPart = (typeof PARTS)[number];
export const LOADERS = ['pipeline', 'client', 'common', 'adf'] as const;
export type BenchLoader = (typeof LOADERS)[number];

export interface BenchArgs {
  sizes: number[];
  parts: BenchPart[];
  loaders: BenchLoader[];
  quick: boolean;
  /** The pipeline exports OpenTelemetry to in-memory exporters. */
  telemetry: boolean;
}

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!m) throw new Error(`--size: "${text}" is not a row count like 10k, 100k or 1m.`);
  const mult = m[2]?.toLowerCase() === 'm' ? 1_000_000 : m[2]?.toLowerCase() === 'k' ? 1000 : 1;
  return Math.round(Number(m[1]) * mult);
}

export function parseArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = {
    sizes: [10_000, 100_000],
    parts: [...PARTS],
    loaders: [...LOADERS],
    quick: false,
    telemetry: false,
  };
  let sizesGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value.`);
      return v;
    };
    if (flag === '--size' || flag === '--sizes') {
      args.sizes = value().split(',').map(parseSize);
      sizesGiven = true;
    } else if (flag === '--parts' || flag === '--part') {
      const parts = value()
        .split(',')
        .map((p) => p.trim());
      for (const p of parts)
        if (!(PARTS as readonly string[]).includes(p))
          throw new Error(`--parts: unknown part "${p}" (known: ${PARTS.join(', ')}).`);
      args.parts = parts as BenchPart[];
    } else if (flag === '--loaders' || flag === '--loader') {
      const loaders = value()
        .split(',')
        .map((p) => p.trim());
      for (const l of loaders)
        if (!(LOADERS as readonly string[]).includes(l))
          throw new Error(`--loaders: unknown loader "${l}" (known: ${LOADERS.join(', ')}).`);
      args.loaders = loaders as BenchLoader[];
    } else if (flag === '--quick') args.quick = true;
    else if (flag === '--telemetry') args.telemetry = true;
    else throw new Error(`Unknown option ${a}.`);
  }
  if (args.quick && !sizesGiven) args.sizes = [10_000];
  return args;
}

export interface ThroughputRow extends EmulatorRunCounts {
  rows: number;
  loader: string;
  what: string;
  batchSize: number;
  /** How the loader sends rows: `$batch` (ExecuteMultiple) or bulk messages (CreateMultiple). */
  shape: RequestShape;
  ceilingAtBatchSize: number;
  bestCeiling: number;
  /** rows/s ÷ best ceiling. */
  ofCeiling: number;
  error?: string;
}

async function throughputFor(
  csv: GeneratedCsv,
  profile: BenchProfile,
  dir: string,
  loaders: readonly BenchLoader[],
  pipeline: PipelineBenchmark | undefined,
  memory: MemoryRow[],
  log: (line: string) => void,
): Promise<ThroughputRow[]> {
  const emulator = await startEmulatorProcess(emulatorOptionsFor(profile), dir);
  const out: ThroughputRow[] = [];
  try {
    const metadata = await accountMetadata(emulator.webApiUrl, emulator.url);
    const best = bestCeilingFor(profile);
    const record = async (loader: string, what: string, batchSize: number, shape: RequestShape, run: LoaderRun) => {
      const counts = emulatorRunCounts(await emulator.stats(), run.seconds, profile);
      const row: ThroughputRow = {
        rows: csv.rows,
        loader,
        what,
        batchSize,
        shape,
        ...counts,
        ceilingAtBatchSize: ceilingFor(profile, batchSize, shape).rowsPerSecond,
        bestCeiling: best.rowsPerSecond,
        ofCeiling: counts.rowsPerSecond / best.rowsPerSecond,
        ...(run.error
          ? { error: run.error }
          : counts.rowsCreated !== csv.rows
            ? { error: `${csv.rows - counts.rowsCreated} rows missing` }
            : {}),
      };
      out.push(row);
      log(
        `  ${csv.rows} rows, ${loader}: ${counts.rowsPerSecond.toFixed(0)} rows/s (${(row.ofCeiling * 100).toFixed(0)}% of ceiling) in ${run.seconds.toFixed(1)} s, ${counts.requests} requests (${counts.batchRequests} $batch)${row.error ? `, ${row.error}` : ''}`,
      );
    };
    if (pipeline && loaders.includes('pipeline')) {
      log(`  ${csv.rows} rows: our pipeline (blob → host → emulator)…`);
      const run = await pipeline(csv, profile);
      out.push({
        rows: csv.rows,
        loader: 'our pipeline',
        what: `blob drop → local host (Azurite) → emulator${run.telemetry ? ', OpenTelemetry on (in-memory exporters)' : ''}`,
        batchSize: run.batchSize,
        shape: run.shape,
        ...run.counts,
        ceilingAtBatchSize: run.ceilingAtBatchSize,
        bestCeiling: best.rowsPerSecond,
        ofCeiling: run.counts.rowsPerSecond / best.rowsPerSecond,
        ...(run.error ? { error: run.error } : {}),
      });
      memory.push(memoryRow(csv, run));
      log(
        `  ${csv.rows} rows, our pipeline: ${run.counts.rowsPerSecond.toFixed(0)} rows/s (${((run.counts.rowsPerSecond / best.rowsPerSecond) * 100).toFixed(0)}% of ceiling) in ${run.counts.seconds.toFixed(1)} s, ${run.counts.requests} requests (${run.counts.batchRequests} $batch), host peak RSS ${run.peakHostRssMB ?? '?'} MB${run.error ? `, ${run.error}` : ''}`,
      );
      if (run.telemetry)
        log(
          `  telemetry (in memory): ${run.telemetry.spans} spans, ${run.telemetry.logRecords} log records, rows metric ${run.telemetry.rowsSucceeded} succeeded`,
        );
    }
    if (loaders.includes('client')) {
      await emulator.reset();
      log(`  ${csv.rows} rows: our client alone…`);
      await record(
        'our client alone',
        'engine + createMultiple, 1000 per CreateMultiple, dop-hint concurrency (no blob, no host)',
        1000,
        'bulk',
        await runOurClient(emulator, csv.path, metadata),
      );
    }
    if (loaders.includes('common')) {
      await emulator.reset();
      log(`  ${csv.rows} rows: common script…`);
      await record(
        'common script',
        'DynamicsWebApi executeBatch, 1000 creates, one batch at a time',
        1000,
        'batch',
        await runCommonScript(emulator, csv.path),
      );
    }
    if (loaders.includes('adf')) {
      await emulator.reset();
      log(`  ${csv.rows} rows: ADF default…`);
      await record(
        'ADF default',
        'batches of 10, 10 in parallel, retry 429 after Retry-After',
        10,
        'batch',
        await runAdfDefault(emulator, csv.path),
      );
    }
  } finally {
    await emulator.close();
  }
  return out;
}

/** bench/emulator-throughput.ts (the emulator helper's CLI) in a child process: it prints one JSON line. */
async function emulatorThroughput(seconds: number): Promise<unknown> {
  const file = join(__dirname, 'emulator-throughput.js');
  if (!existsSync(file)) return { available: false, reason: 'bench/emulator-throughput.ts not in the tree' };
  const runs: unknown[] = [];
  for (const mode of ['batch', 'bulk']) {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [file, '--seconds', String(seconds), '--mode', mode],
      { maxBuffer: 1 << 20 },
    );
    const line = stdout.trim().split('\n').pop() ?? '{}';
    runs.push(JSON.parse(line));
  }
  return runs;
}

export interface MemoryRow {
  rows: number;
  blobMB: number;
  peakRssMB?: number;
  status: string;
  rowsPerSecond: number;
  seconds: number;
}

function memoryRow(csv: GeneratedCsv, run: PipelineRun): MemoryRow {
  return {
    rows: csv.rows,
    blobMB: csv.bytes / 2 ** 20,
    ...(run.peakHostRssMB !== undefined ? { peakRssMB: run.peakHostRssMB } : {}),
    status: run.status,
    rowsPerSecond: run.counts.rowsPerSecond,
    seconds: run.counts.seconds,
  };
}

function machine(): Record<string, unknown> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    totalMemoryMB: Math.round(totalmem() / 2 ** 20),
    freeMemoryMB: Math.round(freemem() / 2 ** 20),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const profile = defaultBenchProfile;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const repoRoot = join(__dirname, '..', '..');
  const results: Record<string, unknown> = {
    startedAt: new Date().toISOString(),
    args,
    machine: machine(),
    profile: describeProfile(profile),
    bestCeiling: bestCeilingFor(profile),
  };
  const dir = await mkdtemp(join(tmpdir(), 'dataverse-bench-'));
  const files = new Map<number, GeneratedCsv>();
  const csvFor = async (rows: number) => {
    let csv = files.get(rows);
    if (!csv) {
      log(`generating ${rows} rows…`);
      csv = await writeAccountsCsv(rows, dir);
      files.set(rows, csv);
    }
    return csv;
  };
  try {
    if (args.parts.includes('engine')) {
      log('engine cost…');
      const emulator = await startEmulator({ port: 0 });
      try {
        const metadata = await accountMetadata(emulator.webApiUrl, emulator.url);
        const engine = [];
        for (const rows of args.sizes)
          engine.push(
            await measureEngineCost((await csvFor(rows)).path, metadata, args.quick || rows >= 1_000_000 ? 1 : 3),
          );
        results.engine = engine;
      } finally {
        await emulator.close();
      }
    }
    const pipeline = loadPipelineBenchmark(repoRoot, { telemetry: args.telemetry });
    const memory: MemoryRow[] = [];
    if (args.parts.includes('throughput')) {
      log('throughput…');
      const rows: ThroughputRow[] = [];
      for (const size of args.sizes)
        rows.push(...(await throughputFor(await csvFor(size), profile, dir, args.loaders, pipeline, memory, log)));
      results.throughput = rows;
    }
    if (args.parts.includes('memory')) {
      if (!pipeline)
        results.memory = {
          available: false,
          reason: 'needs the loads pipeline (bench/loadBenchmark.ts and dist/functions/load*.js)',
        };
      else {
        // Peak RSS comes with every pipeline run; measured here only when the throughput part did not run them.
        if (!args.parts.includes('throughput')) {
          for (const size of args.sizes) {
            log(`memory: ${size} rows through the pipeline…`);
            const csv = await csvFor(size);
            memory.push(memoryRow(csv, await pipeline(csv, profile)));
          }
        }
        results.memory = memory;
      }
    }
    if (args.parts.includes('upload')) {
      // 90 MB then 900 MB: the peak must not grow with the file (issue 21).
      log('upload: large CSVs streamed through POST /api/loads/account…');
      results.upload = await measureUploadMemory({ sizesMB: args.quick ? [20, 100] : [90, 900], log });
    }
    if (args.parts.includes('async')) {
      log('background operations (20 imports)…');
      results.async = await measureAsyncOperations({ repoRoot, imports: args.quick ? 5 : 20 });
    }
    if (args.parts.includes('emulator')) {
      log('emulator throughput…');
      results.emulator = await emulatorThroughput(args.quick ? 3 : 10);
    }
    if (args.parts.includes('identities')) {
      log('several identities: the 100k pipeline as 1, 2 and 4 application users…');
      const report = await runIdentities(await csvFor(args.quick ? 10_000 : 100_000), log);
      results.identities = report;
      log(formatIdentities(report));
    }
    if (args.parts.includes('resilience')) {
      log('resilience: host kills during a load, emulator faults, an import killed after submit…');
      const report = await runResilience({ rows: args.quick ? 10_000 : 100_000, log });
      results.resilience = report;
      log(formatResilience(report));
    }
    if (args.parts.includes('workbook')) {
      const report = await measureWorkbookMemory({ repoRoot, dir, rows: args.quick ? 20_000 : 200_000, log });
      results.workbook = report;
      log(formatWorkbookMemory(report));
    }
    if (args.parts.includes('references')) {
      log('in-file references: accounts naming parents later in the file vs the same rows without…');
      const report = await measureInFileReferences({ rows: 10_000 });
      results.references = report;
      log(formatInFileReferences(report));
    }
    if (args.parts.includes('plans')) {
      log(
        'plans: 10k accounts (30 % self-references) + 20k contacts as one plan vs independent loads; a 200k-row workbook…',
      );
      const report = await measurePlans({
        rounds: args.quick ? 1 : 3,
        workbookRows: args.quick ? 20_000 : 200_000,
        log,
      });
      results.plans = report;
      log(formatPlans(report));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  results.finishedAt = new Date().toISOString();
  const out = join(repoRoot, 'bench', 'results');
  await mkdir(out, { recursive: true });
  const text = JSON.stringify(results, null, 2);
  await writeFile(join(out, `${String(results.startedAt).replace(/[:.]/g, '-')}.json`), text);
  await writeFile(join(out, 'latest.json'), text);
  console.log(formatReport(results));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  });
}
