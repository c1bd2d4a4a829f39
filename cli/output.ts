/** What `dvload` prints: progress bars while a load, plan or job runs, then text (or one JSON document with --json). */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as delay } from 'node:timers/promises';
import { SingleBar } from 'cli-progress';
import {
  finalStates,
  type ApiClient,
  type FailedRow,
  type JobList,
  type JobView,
  type LoadView,
  type PlanView,
} from './apiClient';
import { formatDuration, jobPercent, loadProgress } from './progress';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  exitCode?: number;
}

export interface GlobalOptions {
  api: string;
  key?: string;
  json?: boolean;
  progress?: boolean;
  interval: number;
}

export interface CliContext {
  client: ApiClient;
  options: GlobalOptions;
  showProgress: boolean;
  io: Io;
}

/** Colours only on a terminal, and never with NO_COLOR set (https://no-color.org). */
function paint(io: Io, state: string): string {
  if (!io.stdout.isTTY || io.env.NO_COLOR) return state;
  const code = state === 'succeeded' ? 32 : state === 'partiallySucceeded' ? 33 : finalStates.has(state) ? 31 : 36;
  return `\u001b[${code}m${state}\u001b[39m`;
}

const number = (n: number | undefined) => (n === undefined ? '?' : n.toLocaleString('en-US'));

function progressBar(ctx: CliContext, format: string): SingleBar | undefined {
  if (!ctx.showProgress) return undefined;
  // Forced on without a terminal (--progress), the bar prints a line per update instead of redrawing.
  return new SingleBar({
    format,
    stream: ctx.io.stderr,
    noTTYOutput: true,
    notTTYSchedule: ctx.options.interval,
    hideCursor: ctx.io.stderr.isTTY === true,
    clearOnComplete: false,
    barsize: 30,
  });
}

/** Polls the load until it ends, with a bar of rows done/total, rows/s, ETA and failed rows so far. */
export async function followLoad(ctx: CliContext, id: string): Promise<LoadView> {
  const bar = progressBar(
    ctx,
    '{bar} {percentage}% | {value}/{total} rows | {rps} rows/s | ETA {etaText} | failed {failed} | 429s {throttled}',
  );
  let started = false;
  try {
    for (;;) {
      const view = await ctx.client.getLoad(id);
      if (bar) {
        const p = loadProgress(view, Date.now());
        const payload = {
          rps: p.rowsPerSecond ?? '-',
          etaText: p.etaSeconds === undefined ? '-' : formatDuration(p.etaSeconds),
          failed: p.failed,
          throttled: p.throttled,
        };
        if (!started) bar.start(p.total ?? 0, p.done, payload);
        else {
          if (p.total !== undefined) bar.setTotal(p.total);
          bar.update(p.done, payload);
        }
        started = true;
      }
      if (finalStates.has(view.status)) return view;
      await delay(ctx.options.interval);
    }
  } finally {
    bar?.stop();
  }
}

/** Polls the job until it ends, with a percentage bar when the app reports the import's progress. */
export async function followJob(ctx: CliContext, id: string): Promise<JobView> {
  const bar = progressBar(ctx, '{bar} {percentage}% | {state}');
  let started = false;
  try {
    for (;;) {
      const job = await ctx.client.getImport(id);
      const isFinal = finalStates.has(job.state);
      if (bar) {
        const percent = jobPercent(job, isFinal) ?? 0;
        if (!started) bar.start(100, percent, { state: job.state });
        else bar.update(percent, { state: job.state });
        started = true;
      }
      if (isFinal) return job;
      await delay(ctx.options.interval);
    }
  } finally {
    bar?.stop();
  }
}

/** Polls the plan until it ends, with a bar of rows done/total summed over its tables and the stage it is at. */
export async function followPlan(ctx: CliContext, id: string): Promise<PlanView> {
  const bar = progressBar(ctx, '{bar} {percentage}% | {value}/{total} rows | stage {stage} | failed {failed}');
  let started = false;
  try {
    for (;;) {
      const plan = await ctx.client.getPlan(id);
      if (bar) {
        const done = plan.counts.processed ?? plan.counts.succeeded + plan.counts.failed;
        const stages = plan.order?.stages.length;
        const payload = {
          stage: `${plan.stage === undefined ? '-' : plan.stage + 1}/${stages ?? '?'}`,
          failed: plan.counts.failed,
        };
        if (!started) bar.start(plan.counts.total ?? 0, done, payload);
        else {
          if (plan.counts.total !== undefined) bar.setTotal(plan.counts.total);
          bar.update(done, payload);
        }
        started = true;
      }
      if (finalStates.has(plan.status)) return plan;
      await delay(ctx.options.interval);
    }
  } finally {
    bar?.stop();
  }
}

/** The plan's outcome, the order it chose, and one line per table with its load (where to look next). */
export function printPlan(io: Io, plan: PlanView, json?: boolean): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(plan)}\n`);
    return;
  }
  const c = plan.counts;
  const lines = [
    `plan ${plan.id} ${paint(io, plan.status)}${plan.file ? ` (${plan.file.split('/').pop() ?? plan.file})` : ''}`,
    ...(plan.order
      ? [`  order: ${plan.order.stages.map((tables, i) => `${i + 1}. ${tables.join(', ')}`).join('  ')}`]
      : []),
    ...(plan.order?.deferred ?? []).map((d) => `  bound afterwards: ${d.table}.${d.attribute} → ${d.target}`),
    `  rows ${number(c.total)}: ${number(c.succeeded)} succeeded, ${number(c.failed)} failed, ${number(c.notProcessed)} not processed`,
    ...plan.tables.map((t) =>
      t.load
        ? `  ${t.table} (${t.file}, stage ${t.stage + 1}) ${paint(io, t.load.status)}: ${number(t.load.counts.total)} rows, ${number(t.load.counts.succeeded)} succeeded, ${number(t.load.counts.failed)} failed  load ${t.loadId}`
        : `  ${t.table} (${t.file}, stage ${t.stage + 1}) not started`,
    ),
    ...(plan.message ? [`  ${plan.message}`] : []),
    ...(c.failed > 0 ? ['  failed rows: dvload rows <load id>   retry: dvload retry <load id>'] : []),
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
}

export function printLoad(io: Io, view: LoadView, json?: boolean): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(view)}\n`);
    return;
  }
  const p = loadProgress(view, Date.now());
  const lines = [
    `load ${view.id} ${paint(io, view.status)}`,
    `  table ${view.table}${view.operation ? `, ${view.operation}` : ''}${view.file ? `, ${view.file}` : ''}`,
    `  rows ${number(view.counts.total)}: ${number(view.counts.succeeded)} succeeded, ${number(view.counts.failed)} failed, ${number(view.counts.notProcessed)} not processed`,
    ...(p.rowsPerSecond !== undefined ? [`  ${number(p.rowsPerSecond)} rows/s`] : []),
    ...(view.retryOf ? [`  retry of ${view.retryOf}`] : []),
    ...(view.message ? [`  ${view.message}`] : []),
    ...(view.counts.failed > 0 ? [`  failed rows: dvload rows ${view.id}   retry: dvload retry ${view.id}`] : []),
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
}

export function printJob(io: Io, job: JobView, json?: boolean): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(job)}\n`);
    return;
  }
  const lines = [
    `${job.kind} ${job.id} ${paint(io, job.state)}${job.solutionName ? ` (${job.solutionName})` : ''}`,
    ...(job.waitReason && !finalStates.has(job.state) ? [`  waiting: ${job.waitReason}`] : []),
    ...((job.friendlyMessage ?? job.message) ? [`  ${job.friendlyMessage ?? job.message}`] : []),
    ...(job.importLog ? ['  import log failures:', ...job.importLog.split('\n').map((l) => `    ${l}`)] : []),
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
}

export function printList(io: Io, list: JobList, json?: boolean): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(list)}\n`);
    return;
  }
  if (list.items.length === 0) io.stdout.write('no loads or jobs yet\n');
  for (const item of list.items)
    io.stdout.write(
      `${item.createdAt}  ${item.kind.padEnd(16)} ${paint(io, item.state).padEnd(18)} ${item.id}  ${item.name ?? ''}\n`,
    );
}

const cell = (value: unknown) => (value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value));

/** Every failed row, page by page: as text lines, or with --json one `{ items }` document. */
export async function printFailedRows(ctx: CliContext, id: string, pageSize: number): Promise<void> {
  const all: FailedRow[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await ctx.client.listFailedRows(id, { pageSize, ...(continuationToken ? { continuationToken } : {}) });
    if (ctx.options.json) all.push(...page.items);
    else
      for (const row of page.items)
        ctx.io.stdout.write(
          `row ${row.rowNumber}${row.column ? `  column '${row.column}'` : ''}${row.value !== undefined ? `  value '${cell(row.value)}'` : ''}  ${row.code}: ${row.message}\n`,
        );
    continuationToken = page.continuationToken;
  } while (continuationToken);
  if (ctx.options.json) ctx.io.stdout.write(`${JSON.stringify({ items: all })}\n`);
}

/** The failed-rows file, streamed to `out` as the app sends it. */
export async function saveFailedRows(ctx: CliContext, id: string, out: string): Promise<void> {
  const { response, fileName } = await ctx.client.downloadFailedRows(id);
  if (!response.body) throw new Error('the failed-rows answer has no body');
  await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(out));
  ctx.io.stdout.write(
    ctx.options.json ? `${JSON.stringify({ id, out, ...(fileName ? { fileName } : {}) })}\n` : `saved ${out}\n`,
  );
}
