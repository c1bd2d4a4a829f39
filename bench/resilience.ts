/**
 * Resilience runs (issue 7 point 5, issue 6 point 6) through the local stack: a CSV load with the host SIGKILLed
 * at seeded random points and restarted each time; a load under emulator fault injection (429, 503, dropped
 * connections, some after Dataverse processed the request); a solution import with the host killed between its
 * submission and its completion. Each run counts rows lost and rows duplicated (the emulator's accounts against
 * the input, by their deterministic account number) and the end events (raw, and by eventId).
 *
 * `runResilience` is what `npm run bench -- --parts resilience` calls; `test/e2e/resilience.test.ts` runs the same
 * pieces at a smaller size. Reproduce a run with its logged seed: RESILIENCE_SEED=<seed>.
 */
import { TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import { startLocalStack, type LocalStack } from '../dev/host/localStack';
import type { EmulatorOptions } from '../dev/emulator/index';
import { buildSolutionZip } from '../dev/emulator/solutions/solutionZip';
import { decodeQueueMessage, jobEventSchema, type JobEvent } from '../shared/events/jobEvents';
import { accountsCsv, getLoadView, postLoad, type LoadView } from './loadBenchmark';
import { seededRandom } from '../dev/seededRandom';

export interface ResilienceStackOptions {
  /** Rows per chunk (smaller: more chunks, more points to die at). */
  chunkSize?: number;
  /** Seconds without progress before the sweeper resumes a load (≥ 5). */
  stallSeconds?: number;
  emulator?: EmulatorOptions;
  onOutput?: (line: string) => void;
}

/** The whole app (loads and jobs) on Azurite and the emulator, with recovery tuned to happen within seconds. */
export function startResilienceStack(options: ResilienceStackOptions = {}): Promise<LocalStack> {
  return startLocalStack({
    files: ['dist/functions/*.js'],
    blobScanIntervalMs: 500,
    // A SIGKILLed host keeps the timers' singleton locks until their lease (15 s at least) runs out; the restarted
    // one polls for them every half second.
    listenerLockRecoveryPollingMs: 500,
    hostJson: {
      singleton: { listenerLockPeriod: '00:00:15' },
      extensions: {
        queues: {
          maxPollingInterval: '00:00:00.500',
          visibilityTimeout: '00:00:01',
          batchSize: 8,
          newBatchThreshold: 4,
        },
      },
    },
    env: {
      FUNCTIONS_HOST_KEY: '',
      LOAD_CHUNK_SIZE: String(options.chunkSize ?? 500),
      LOAD_SWEEP_SCHEDULE: '*/2 * * * * *',
      LOAD_STALL_SECONDS: String(options.stallSeconds ?? 6),
      ASYNC_POLL_SCHEDULE: '*/1 * * * * *',
      ASYNC_MAX_WAIT_MINUTES: '30',
    },
    emulator: {
      latency: { baseMs: 40, perOperationMs: 0.5, perTable: {} },
      ...options.emulator,
    },
    ...(options.onOutput ? { onOutput: options.onOutput } : {}),
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const terminalLoad = new Set(['succeeded', 'partiallySucceeded', 'failed']);

async function poll<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // the host is down or restarting: keep polling
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/**
 * Every event the app has put on `job-events`, kept in arrival order. `drain` consumes the queue (nothing else
 * reads it in these runs), so duplicates stay countable.
 */
export class EventLog {
  readonly events: JobEvent[] = [];
  readonly #queue: QueueClient;
  constructor(storage: string, queueName = 'job-events') {
    this.#queue = new QueueClient(storage, queueName);
  }
  async drain(): Promise<void> {
    for (;;) {
      const { receivedMessageItems } = await this.#queue.receiveMessages({
        numberOfMessages: 32,
        visibilityTimeout: 300,
      });
      if (receivedMessageItems.length === 0) return;
      for (const m of receivedMessageItems) {
        this.events.push(jobEventSchema.parse(decodeQueueMessage(m.messageText)));
        await this.#queue.deleteMessage(m.messageId, m.popReceipt);
      }
    }
  }
  /** Raw events about one load or job, and the distinct eventIds among them. */
  about(id: string): { raw: number; unique: number; eventIds: string[] } {
    const mine = this.events.filter((e) => e.id === id);
    const eventIds = [...new Set(mine.map((e) => e.eventId))];
    return { raw: mine.length, unique: eventIds.length, eventIds };
  }
}

/** Waits until the record says its end event was published (the outbox is empty for it), then drains the queue. */
async function settleEvent(
  stack: LocalStack,
  log: EventLog,
  table: 'loads' | 'jobs',
  partitionKey: string,
  rowKey: string,
  timeoutMs: number,
): Promise<void> {
  const client = TableClient.fromConnectionString(stack.storage, table, { allowInsecureConnection: true });
  await poll(
    async () =>
      (await client.getEntity<{ eventPublished?: boolean }>(partitionKey, rowKey)).eventPublished === true
        ? true
        : undefined,
    `${table} ${rowKey}: event published`,
    timeoutMs,
  );
  // A sweeper that claimed the event just before the mark could still be sending it: give it a moment.
  await sleep(1500);
  await log.drain();
}

export interface RowAudit {
  expected: number;
  found: number;
  lost: number;
  duplicated: number;
}

/**
 * The emulator's accounts whose account number starts with `<tag>-`, read over the Web API (paged), against the
 * input rows 1..rows: lost = input keys absent, duplicated = extra records for a key.
 */
export async function auditAccounts(stack: LocalStack, tag: string, rows: number): Promise<RowAudit> {
  const perKey = new Map<string, number>();
  let url: string | undefined =
    `${stack.dataverse}accounts?$select=accountnumber&$filter=${encodeURIComponent(`startswith(accountnumber,'${tag}-')`)}`;
  while (url) {
    const response = await fetch(url, {
      headers: { authorization: 'Bearer audit', accept: 'application/json', prefer: 'odata.maxpagesize=5000' },
    });
    if (!response.ok) throw new Error(`audit query answered ${response.status}: ${await response.text()}`);
    const page = (await response.json()) as { value: { accountnumber: string }[]; '@odata.nextLink'?: string };
    for (const r of page.value) perKey.set(r.accountnumber, (perKey.get(r.accountnumber) ?? 0) + 1);
    url = page['@odata.nextLink'];
  }
  let lost = 0;
  for (let row = 1; row <= rows; row++) if (!perKey.has(`${tag}-${row}`)) lost++;
  let duplicated = 0;
  let found = 0;
  for (const n of perKey.values()) {
    found += n;
    duplicated += n - 1;
  }
  return { expected: rows, found, lost, duplicated };
}

export interface LoadRunResult {
  run: string;
  loadId: string;
  rows: number;
  status: string;
  seconds: number;
  kills: { atMs: number; chunksDone: number; chunks?: number }[];
  seed?: number;
  rowsLost: number;
  rowsDuplicated: number;
  counts: LoadView['counts'];
  throttled: number;
  retries: number;
  events: { raw: number; unique: number };
  /** Faults the emulator injected during the run (fault runs). */
  faults?: { '429': number; '503': number; drop: number };
}

export interface KillRunOptions {
  rows: number;
  kills: number;
  seed: number;
  /** LOAD_CHUNK_SIZE of the stack (to place kills by chunk). */
  chunkSize?: number;
  tag?: string;
  log?: (line: string) => void;
  timeoutMs?: number;
}

/**
 * A load with `kills` SIGKILLs of the host, each followed by a restart after a random pause (0–1 s). The first
 * lands at a random delay after the POST (0.3–2.5 s: the scan or the first chunks); kill k (k ≥ 1) when the
 * completed chunks reach a random point in the k-th of `kills + 1` equal slices of the load, so each lands
 * mid-load however fast the machine is.
 */
export async function runKilledLoad(stack: LocalStack, events: EventLog, o: KillRunOptions): Promise<LoadRunResult> {
  const random = seededRandom(o.seed);
  const say = o.log ?? (() => undefined);
  const tag = o.tag ?? `K${o.seed}`;
  const timeoutMs = o.timeoutMs ?? 600_000;
  const csv = accountsCsv(o.rows, { tag });
  const plannedChunks = Math.ceil(o.rows / (o.chunkSize ?? 1000));
  const started = Date.now();
  const { id } = await postLoad(stack.api, 'account', csv.text, 'operation=create');
  say(`resilience: seed ${o.seed}, load ${id}, ${o.rows} rows (${plannedChunks} chunks), ${o.kills} kills planned`);
  const kills: LoadRunResult['kills'] = [];
  let view: LoadView | undefined;
  for (let k = 0; k < o.kills; k++) {
    let trigger: string;
    if (k === 0) {
      const delay = Math.round(300 + random() * 2200);
      await sleep(delay);
      view = await getLoadView(stack.api, id).catch(() => view);
      trigger = `${delay} ms after the POST`;
    } else {
      // Never at the count the previous kill saw: the restarted host must have made progress first.
      const target = Math.max(
        Math.floor((plannedChunks * (k + random() * 0.8)) / (o.kills + 1)),
        (kills.at(-1)?.chunksDone ?? 0) + 1,
      );
      view = await poll(
        async () => {
          const v = await getLoadView(stack.api, id);
          return v && (terminalLoad.has(v.status) || v.chunks.done >= target) ? v : undefined;
        },
        `chunk ${target} of the load`,
        timeoutMs,
      );
      trigger = `chunk target ${target}`;
    }
    if (view && terminalLoad.has(view.status)) {
      say(`resilience: load ended before kill ${k + 1}`);
      break;
    }
    await stack.kill();
    kills.push({
      atMs: Date.now() - started,
      chunksDone: view?.chunks.done ?? 0,
      ...(view?.chunks.total !== undefined ? { chunks: view.chunks.total } : {}),
    });
    say(
      `resilience: kill ${k + 1} at +${Date.now() - started} ms (${trigger}; ${view?.chunks.done ?? '?'}/${view?.chunks.total ?? plannedChunks} chunks done, scan ${view?.chunks.total === undefined ? 'running' : 'done'})`,
    );
    await sleep(Math.round(random() * 1000));
    await stack.restartHost();
  }
  const final = await loadEnd(stack, id, `load ${id} to end`, timeoutMs);
  return runResult(stack, events, o, { run: `${o.kills} kills`, id, tag, started, final, kills });
}

export interface FaultRunOptions {
  rows: number;
  seed: number;
  tag?: string;
  faults?: { rate429: number; rate503: number; rateDrop: number };
  timeoutMs?: number;
}

/** A load while the emulator answers some requests 429 or 503 and drops connections, some after processing. */
export async function runFaultedLoad(stack: LocalStack, events: EventLog, o: FaultRunOptions): Promise<LoadRunResult> {
  const tag = o.tag ?? `F${o.seed}`;
  const faults = o.faults ?? { rate429: 0.1, rate503: 0.05, rateDrop: 0.03 };
  const csv = accountsCsv(o.rows, { tag });
  const faultsBefore = { ...stack.emulator!.stats().faults };
  stack.emulator!.configure({ faults: { ...faults, dropAfterProcessing: true, seed: o.seed } });
  const started = Date.now();
  let final: LoadView;
  let id: string;
  try {
    ({ id } = await postLoad(stack.api, 'account', csv.text, 'operation=create'));
    final = await loadEnd(stack, id, 'faulted load to end', o.timeoutMs ?? 600_000);
  } finally {
    stack.emulator!.configure({ faults: { rate429: 0, rate503: 0, rateDrop: 0 } });
  }
  const faultsAfter = stack.emulator!.stats().faults;
  const injected = {
    '429': faultsAfter['429'] - faultsBefore['429'],
    '503': faultsAfter['503'] - faultsBefore['503'],
    drop: faultsAfter.drop - faultsBefore.drop,
  };
  const run = `faults ${faults.rate429 * 100}% 429, ${faults.rate503 * 100}% 503, ${faults.rateDrop * 100}% drops`;
  const result = await runResult(stack, events, o, { run, id, tag, started, final, kills: [] });
  return { ...result, faults: injected };
}

/** Polls the load until it ends. */
function loadEnd(stack: LocalStack, id: string, what: string, timeoutMs: number): Promise<LoadView> {
  return poll(
    async () => {
      const v = await getLoadView(stack.api, id);
      return v && terminalLoad.has(v.status) ? v : undefined;
    },
    what,
    timeoutMs,
  );
}

/** An ended load's result: its time since `started`, its end event(s) once settled, and the audit of its rows. */
async function runResult(
  stack: LocalStack,
  events: EventLog,
  o: { rows: number; seed: number },
  r: { run: string; id: string; tag: string; started: number; final: LoadView; kills: LoadRunResult['kills'] },
): Promise<LoadRunResult> {
  const seconds = (Date.now() - r.started) / 1000;
  await settleEvent(stack, events, 'loads', r.id, 'load', 120_000);
  const audit = await auditAccounts(stack, r.tag, o.rows);
  const ev = events.about(r.id);
  return {
    run: r.run,
    loadId: r.id,
    rows: o.rows,
    status: r.final.status,
    seconds: Math.round(seconds * 10) / 10,
    kills: r.kills,
    seed: o.seed,
    rowsLost: audit.lost,
    rowsDuplicated: audit.duplicated,
    counts: r.final.counts,
    throttled: r.final.throttling.throttled,
    retries: r.final.throttling.retries,
    events: { raw: ev.raw, unique: ev.unique },
  };
}

export interface JobRunResult {
  run: string;
  jobId: string;
  state: string;
  statusCode?: number;
  killedInState: string;
  seconds: number;
  events: { raw: number; unique: number; eventIds: string[] };
}

/** A solution import whose host is SIGKILLed after the submission (job submitted/running) and restarted. */
export async function runKilledImport(
  stack: LocalStack,
  events: EventLog,
  o: { seed: number; name?: string; timeoutMs?: number; log?: (line: string) => void },
): Promise<JobRunResult> {
  const random = seededRandom(o.seed ^ 0x5bd1e995);
  const started = Date.now();
  const posted = await fetch(`${stack.api}/imports`, {
    method: 'POST',
    headers: { 'content-type': 'application/zip' },
    body: buildSolutionZip({ uniqueName: o.name ?? `resilience_${o.seed}` }),
  });
  if (posted.status !== 202) throw new Error(`POST /imports answered ${posted.status}: ${await posted.text()}`);
  const { id } = (await posted.json()) as { id: string };
  type JobBody = { state: string; statusCode?: number };
  const getJob = async (): Promise<JobBody | undefined> => {
    const r = await fetch(`${stack.api}/imports/${id}`, { signal: AbortSignal.timeout(10_000) });
    return r.status === 200 ? ((await r.json()) as JobBody) : undefined;
  };
  const submitted = await poll(
    async () => {
      const j = await getJob();
      return j && j.state !== 'queued' ? j : undefined;
    },
    `import ${id} submitted`,
    o.timeoutMs ?? 120_000,
  );
  const delay = Math.round(random() * 1500);
  await sleep(delay);
  const before = (await getJob().catch(() => undefined)) ?? submitted;
  await stack.kill();
  o.log?.(`resilience: import ${id} killed in state ${before.state}, ${delay} ms after its submission was seen`);
  await sleep(Math.round(random() * 1000));
  await stack.restartHost();
  const final = await poll(
    async () => {
      const j = await getJob();
      return j && !['queued', 'submitted', 'running'].includes(j.state) ? j : undefined;
    },
    `import ${id} to end`,
    o.timeoutMs ?? 120_000,
  );
  const seconds = (Date.now() - started) / 1000;
  await settleEvent(stack, events, 'jobs', 'job', id, 60_000);
  return {
    run: 'import, host killed after submit',
    jobId: id,
    state: final.state,
    ...(final.statusCode !== undefined ? { statusCode: final.statusCode } : {}),
    killedInState: before.state,
    seconds: Math.round(seconds * 10) / 10,
    events: events.about(id),
  };
}

export interface ResilienceOptions {
  rows?: number;
  kills?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface ResilienceReport {
  seed: number;
  loads: LoadRunResult[];
  imports: JobRunResult[];
  /** Sums over the runs: both must be 0. */
  rowsLost: number;
  rowsDuplicated: number;
  /** Events beyond one per load/job (a crash between send and mark), and loads/jobs with no event. */
  duplicateEvents: number;
  missingEvents: number;
}

export function summarise(seed: number, loads: LoadRunResult[], imports: JobRunResult[]): ResilienceReport {
  const all = [...loads.map((l) => l.events), ...imports.map((j) => j.events)];
  return {
    seed,
    loads,
    imports,
    rowsLost: loads.reduce((n, l) => n + l.rowsLost, 0),
    rowsDuplicated: loads.reduce((n, l) => n + l.rowsDuplicated, 0),
    duplicateEvents: all.reduce((n, e) => n + Math.max(0, e.raw - 1), 0),
    missingEvents: all.filter((e) => e.unique === 0).length,
  };
}

export function formatResilience(report: ResilienceReport): string {
  const lines = [
    `Resilience (seed ${report.seed}; reproduce with RESILIENCE_SEED=${report.seed})`,
    'run                                   rows     status              s   lost  dup  429s  events(raw/unique)',
  ];
  for (const l of report.loads) {
    lines.push(
      `${l.run.padEnd(36)}  ${String(l.rows).padStart(7)}  ${l.status.padEnd(18)}  ${String(l.seconds).padStart(5)}  ${String(l.rowsLost).padStart(4)}  ${String(l.rowsDuplicated).padStart(3)}  ${String(l.throttled).padStart(4)}  ${l.events.raw}/${l.events.unique}`,
    );
    if (l.faults)
      lines.push(
        `  injected: ${l.faults['429']} × 429, ${l.faults['503']} × 503, ${l.faults.drop} dropped connections (after processing)`,
      );
    if (l.kills.length)
      lines.push(
        `  kills at ${l.kills.map((k) => `+${(k.atMs / 1000).toFixed(1)}s (${k.chunksDone}/${k.chunks ?? '?'} chunks)`).join(', ')}`,
      );
  }
  for (const j of report.imports)
    lines.push(
      `${j.run.padEnd(36)}  ${'-'.padStart(7)}  ${`${j.state} ${j.statusCode ?? ''}`.padEnd(18)}  ${String(j.seconds).padStart(5)}     -    -     -  ${j.events.raw}/${j.events.unique}`,
    );
  lines.push(
    `rows lost ${report.rowsLost}, rows duplicated ${report.rowsDuplicated}, duplicate events ${report.duplicateEvents}, missing events ${report.missingEvents}`,
  );
  return lines.join('\n');
}

/** The bench part: a larger load with several kills, a faulted load, a killed import. */
export async function runResilience(options: ResilienceOptions = {}): Promise<ResilienceReport> {
  const seed = options.seed ?? (Number(process.env.RESILIENCE_SEED) || Math.floor(Math.random() * 2 ** 31));
  const rows = options.rows ?? 100_000;
  const log = options.log ?? ((line: string) => console.log(line));
  log(`resilience: seed ${seed}`);
  const stack = await startResilienceStack({
    chunkSize: 1000,
    emulator: { solutions: { timing: { queuedMs: 300, runMs: 4000 } } },
  });
  try {
    const events = new EventLog(stack.storage);
    const killed = await runKilledLoad(stack, events, {
      rows,
      kills: options.kills ?? 5,
      seed,
      log,
      chunkSize: 1000,
      timeoutMs: 30 * 60_000,
    });
    const faulted = await runFaultedLoad(stack, events, { rows, seed, timeoutMs: 30 * 60_000 });
    const imported = await runKilledImport(stack, events, { seed, log });
    return summarise(seed, [killed, faulted], [imported]);
  } finally {
    await stack.stop();
  }
}

if (require.main === module) {
  const rows = Number(process.argv[2] ?? 100_000);
  void runResilience({ rows }).then(
    (report) => {
      console.log(formatResilience(report));
      console.log(JSON.stringify(report));
      if (report.rowsLost + report.rowsDuplicated + report.missingEvents > 0) process.exitCode = 1;
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
