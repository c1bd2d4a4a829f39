/**
 * `npm run emulator -- --port 5555 [--config emulator.json] [flags]`: starts the emulator standalone and
 * prints its Web API base URL. Flags override the config file; Ctrl+C closes it (and saves persisted state).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startEmulator } from './index';
import { resolveOptions, type EmulatorOptions } from './options';

const flags = {
  port: { type: 'string' },
  host: { type: 'string' },
  config: { type: 'string' },
  schema: { type: 'string' },
  persist: { type: 'string' },
  'strict-auth': { type: 'boolean' },
  'max-batch-size': { type: 'string' },
  'dop-hint': { type: 'string' },
  'latency-base-ms': { type: 'string' },
  'latency-per-operation-ms': { type: 'string' },
  'requests-per-window': { type: 'string' },
  'execution-ms-per-window': { type: 'string' },
  'window-seconds': { type: 'string' },
  concurrency: { type: 'string' },
  'time-scale': { type: 'string' },
  'fault-seed': { type: 'string' },
  'rate-429': { type: 'string' },
  'rate-503': { type: 'string' },
  'rate-drop': { type: 'string' },
  'rate-slow': { type: 'string' },
  'rate-server-busy': { type: 'string' },
  'execute-multiple-per-organization': { type: 'string' },
  help: { type: 'boolean' },
} as const;

const USAGE = `Usage: npm run emulator -- [--port 0] [--config file.json] [--schema tables.json] [--persist state.json]
  [--strict-auth] [--max-batch-size N] [--dop-hint N] [--latency-base-ms N] [--latency-per-operation-ms N]
  [--requests-per-window N] [--execution-ms-per-window N] [--window-seconds N] [--concurrency N] [--time-scale N]
  [--fault-seed N] [--rate-429 R] [--rate-503 R] [--rate-drop R] [--rate-slow R] [--rate-server-busy R]
  [--execute-multiple-per-organization N]`;

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`Not a number: ${v}`);
  return n;
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Config file first, then flags on top; validated by the same schema as startEmulator. */
export function optionsFromArgs(argv: string[]): EmulatorOptions {
  const { values: v } = parseArgs({ args: argv, options: flags, strict: true });
  const file = (v.config ? readJson(v.config) : {}) as EmulatorOptions;
  const options: EmulatorOptions = {
    ...file,
    ...defined({
      port: num(v.port),
      host: v.host,
      schema: v.schema ? (readJson(v.schema) as EmulatorOptions['schema']) : undefined,
      persistPath: v.persist,
      strictAuth: v['strict-auth'],
      maxBatchSize: num(v['max-batch-size']),
      dopHint: num(v['dop-hint']),
    }),
    limits: {
      ...file.limits,
      ...defined({
        requestsPerWindow: num(v['requests-per-window']),
        executionMsPerWindow: num(v['execution-ms-per-window']),
        windowSeconds: num(v['window-seconds']),
        concurrency: num(v.concurrency),
        timeScale: num(v['time-scale']),
        executeMultiplePerOrganization: num(v['execute-multiple-per-organization']),
      }),
    },
    latency: {
      ...file.latency,
      ...defined({ baseMs: num(v['latency-base-ms']), perOperationMs: num(v['latency-per-operation-ms']) }),
    },
    faults: {
      ...file.faults,
      ...defined({
        seed: num(v['fault-seed']),
        rate429: num(v['rate-429']),
        rate503: num(v['rate-503']),
        rateDrop: num(v['rate-drop']),
        rateSlow: num(v['rate-slow']),
        rateServerBusy: num(v['rate-server-busy']),
      }),
    },
  };
  resolveOptions(options); // fail fast with zod's message
  return options;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log(USAGE);
    return;
  }
  const emulator = await startEmulator(optionsFromArgs(process.argv.slice(2)));
  console.log(emulator.webApiUrl);
  const stop = () => {
    emulator.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    console.error(USAGE);
    process.exit(1);
  });
}
