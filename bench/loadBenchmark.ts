/**
 * The whole pipeline, measured: a CSV posted to `POST /api/loads/account` on the local stack (Azurite, the local
 * Functions host in a child process, the Dataverse emulator with its default limits and a small latency model)
 * until the load ends. Reports rows per second (from the POST to the final status) and the peak RSS of the host
 * process (VmHWM). `runLoadBenchmark` is callable on its own; `npm run bench` includes it through pipelineHook.
 */
import { readFileSync } from 'node:fs';
import { startLocalStack, type LocalStack } from '../dev/host/localStack';
import type { EmulatorOptions } from '../dev/emulator/index';

export const missingAccountId = '00000000-0000-0000-0000-0000000000ff';

/**
 * Accounts CSV for loads: `name,accountnumber,numberofemployees,parentaccountid`. Bad rows (1 in `badEvery`):
 * odd ones can't be converted (numberofemployees 'n/a'), even ones fail in Dataverse (a parent that doesn't exist).
 */
export function accountsCsv(
  rows: number,
  options: { badEvery?: number; tag?: string } = {},
): { text: string; conversionBad: number[]; dataverseBad: number[] } {
  const badEvery = options.badEvery ?? 0;
  const tag = options.tag ?? 'A';
  const lines = ['name,accountnumber,numberofemployees,parentaccountid'];
  const conversionBad: number[] = [];
  const dataverseBad: number[] = [];
  for (let row = 1; row <= rows; row++) {
    const bad = badEvery > 0 && row % badEvery === Math.floor(badEvery / 2);
    const kind = bad ? (Math.floor(row / badEvery) % 2 === 0 ? 'conversion' : 'dataverse') : undefined;
    if (kind === 'conversion') conversionBad.push(row);
    if (kind === 'dataverse') dataverseBad.push(row);
    lines.push(
      `Account ${tag}-${row},${tag}-${row},${kind === 'conversion' ? 'n/a' : row % 5000},${kind === 'dataverse' ? missingAccountId : ''}`,
    );
  }
  return { text: `${lines.join('\r\n')}\r\n`, conversionBad, dataverseBad };
}

export interface LoadView {
  id: string;
  status: string;
  counts: { total?: number; succeeded: number; failed: number; notProcessed: number };
  chunks: { total?: number; done: number };
  throttling: { throttled: number; retries: number };
  message?: string;
  links: { failedRows?: { container: string; name: string; url: string }; source?: string };
  timings: { durationSeconds?: number };
}

export async function postLoad(
  api: string,
  table: string,
  body: string | Buffer,
  query = '',
  contentType = 'text/csv',
): Promise<{ id: string; statusUrl: string }> {
  const response = await fetch(`${api}/loads/${table}${query ? `?${query}` : ''}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  if (response.status !== 202)
    throw new Error(`POST /loads/${table} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { id: string; statusUrl: string };
}

export async function getLoadView(api: string, id: string): Promise<LoadView | undefined> {
  const response = await fetch(`${api}/loads/${id}`, { signal: AbortSignal.timeout(10_000) });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`GET /loads/${id} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as LoadView;
}

const terminal = new Set(['succeeded', 'partiallySucceeded', 'failed']);

/** Polls GET /api/loads/{id} until the load ends (a host being restarted answers nothing for a while). */
export async function waitForLoad(
  api: () => string,
  id: string,
  options: { timeoutMs?: number; pollMs?: number; onProgress?: (view: LoadView) => void | Promise<void> } = {},
): Promise<LoadView> {
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  let last: LoadView | undefined;
  while (Date.now() < deadline) {
    try {
      last = await getLoadView(api(), id);
      if (last) {
        await options.onProgress?.(last);
        if (terminal.has(last.status)) return last;
      }
    } catch {
      // the host is down (killed / restarting): keep polling
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
  }
  throw new Error(`load ${id} did not end in time; last seen: ${JSON.stringify(last)}`);
}

/** Peak resident set of a process (Linux VmHWM), in MB. */
export function peakRssMB(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export interface LoadBenchmarkOptions {
  rows?: number;
  /** Emulator latency model (default 20 ms per request + 0.2 ms per operation). */
  latency?: { baseMs: number; perOperationMs: number };
  emulator?: EmulatorOptions;
  /** An already running stack (the function then doesn't stop it). */
  stack?: LocalStack;
}

export interface LoadBenchmarkResult {
  rows: number;
  status: string;
  seconds: number;
  rowsPerSecond: number;
  peakHostRssMB?: number;
  throttled: number;
  retries: number;
  emulatorRecords: number;
}

export async function runLoadBenchmark(options: LoadBenchmarkOptions = {}): Promise<LoadBenchmarkResult> {
  const rows = options.rows ?? 100_000;
  const latency = options.latency ?? { baseMs: 20, perOperationMs: 0.2 };
  const stack =
    options.stack ??
    (await startLocalStack({
      files: ['dist/functions/load*.js'],
      blobScanIntervalMs: 500,
      hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.500', batchSize: 16, newBatchThreshold: 8 } } },
      emulator: { latency: { ...latency, perTable: {} }, ...options.emulator },
    }));
  try {
    const csv = accountsCsv(rows, { tag: `B${Date.now() % 100_000}` }).text;
    const before = stack.emulator?.stats().recordsPerTable.account ?? 0;
    const started = Date.now();
    const { id } = await postLoad(stack.api, 'account', csv, 'operation=create');
    const view = await waitForLoad(() => stack.api, id, { timeoutMs: 30 * 60_000 });
    const seconds = (Date.now() - started) / 1000;
    const pid = 'pid' in stack.host ? stack.host.pid : process.pid;
    return {
      rows,
      status: view.status,
      seconds: Math.round(seconds * 10) / 10,
      rowsPerSecond: Math.round(view.counts.succeeded / seconds),
      ...(peakRssMB(pid) !== undefined ? { peakHostRssMB: peakRssMB(pid) } : {}),
      throttled: view.throttling.throttled,
      retries: view.throttling.retries,
      emulatorRecords: (stack.emulator?.stats().recordsPerTable.account ?? 0) - before,
    };
  } finally {
    if (!options.stack) await stack.stop();
  }
}

if (require.main === module) {
  const rows = Number(process.argv[2] ?? 100_000);
  void runLoadBenchmark({ rows }).then(
    (result) =>
      console.log(
        `load pipeline: ${result.rows} rows in ${result.seconds} s = ${result.rowsPerSecond} rows/s, host peak RSS ${result.peakHostRssMB ?? '?'} MB, 429s ${result.throttled}, status ${result.status}\n${JSON.stringify(result)}`,
      ),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
