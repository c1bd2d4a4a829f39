/**
 * The runs of the plans part (bench/plans.ts): the accounts and contacts it loads, a plan posted to POST /api/plans
 * and followed on GET /api/plans/{id} to its end, the same rows as ordinary loads, and the local stack they run on.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import type { LocalStack } from '../dev/host/localStack';
import { defaultBenchProfile, emulatorOptionsFor } from './benchProfile';
import { postLoad, waitForLoad } from './loadBenchmark';

export interface TimedRun {
  seconds: number;
  /** Rows created in the emulator ÷ seconds. */
  rowsPerSecond: number;
  created: number;
  failed?: number;
}

export interface PlanRun extends TimedRun {
  status: string;
  message?: string;
  /** Accounts whose parentaccountid is set / contacts whose parentcustomerid is set, read through the Web API. */
  parentsBound: number;
  customersBound: number;
  /** Per table, from GET /api/plans/{id}: its stage and its load's status and counts. */
  tables?: {
    table: string;
    stage: number;
    status?: string;
    succeeded?: number;
    failed?: number;
    /** The load's own start → end. */
    seconds?: number;
    startedAt?: string;
    finishedAt?: string;
  }[];
  /** The plan's creation → its first load's start (preparing and staging). */
  secondsBeforeFirstLoad?: number;
}

export const xlsxType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const terminal = new Set(['succeeded', 'partiallySucceeded', 'failed']);

/** Account i is `<tag>-i`; 30 % (i % 10 < 3) name account i + 37 as parent (some of those name another: chains). */
export function planCsvs(accounts: number, contacts: number, tag: string, references: boolean) {
  const a = [references ? 'accountnumber,name,parentaccountid' : 'accountnumber,name'];
  let selfReferences = 0;
  for (let i = 1; i <= accounts; i++) {
    const parent = i % 10 < 3 && i + 37 <= accounts ? `${tag}-${i + 37}` : '';
    if (parent) selfReferences++;
    a.push(references ? `${tag}-${i},Account ${i},${parent}` : `${tag}-${i},Account ${i}`);
  }
  const c = [references ? 'lastname,emailaddress1,parentcustomerid' : 'lastname,emailaddress1'];
  for (let j = 1; j <= contacts; j++) {
    const email = `c${j}.${tag.toLowerCase()}@example.com`;
    c.push(references ? `Person ${j},${email},${tag}-${1 + (j % accounts)}` : `Person ${j},${email}`);
  }
  return { accounts: `${a.join('\r\n')}\r\n`, contacts: `${c.join('\r\n')}\r\n`, selfReferences };
}

/** The plan zip: contacts first (the wrong order), plan.json naming the lookups' key columns. */
export function planZip(accounts: string, contacts: string): Uint8Array {
  const planJson = {
    files: [
      { file: 'accounts.csv', profile: { lookups: { parentaccountid: { by: 'accountnumber' } } } },
      { file: 'contacts.csv', profile: { lookups: { parentcustomerid: { table: 'account', by: 'accountnumber' } } } },
    ],
  };
  return zipSync({
    'contacts.csv': strToU8(contacts),
    'accounts.csv': strToU8(accounts),
    'plan.json': strToU8(JSON.stringify(planJson)),
  });
}

export class PlansApiMissing extends Error {}

async function postPlan(api: string, body: Uint8Array, contentType: string): Promise<string> {
  const response = await fetch(`${api}/plans`, { method: 'POST', headers: { 'content-type': contentType }, body });
  if (response.status === 404) throw new PlansApiMissing('POST /api/plans answered 404: the plans API is not built');
  if (response.status !== 202) throw new Error(`POST /plans answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

interface PlanView {
  status: string;
  message?: string;
  tables?: {
    table: string;
    stage: number;
    load?: {
      status: string;
      counts: { succeeded: number; failed: number };
      timings: { startedAt?: string; finishedAt?: string; durationSeconds?: number };
    };
  }[];
  timings?: { createdAt: string };
}

async function waitForPlan(api: string, id: string, onPoll?: (id: string) => Promise<void>): Promise<PlanView> {
  const deadline = Date.now() + 30 * 60_000;
  let last: PlanView | undefined;
  while (Date.now() < deadline) {
    await onPoll?.(id);
    const response = await fetch(`${api}/plans/${id}`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    if (response?.ok) {
      last = (await response.json()) as PlanView;
      if (terminal.has(last.status)) return last;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`plan ${id} did not end in time; last seen: ${JSON.stringify(last)}`);
}

/** Records of `set` whose `field` is set, paging through the emulator's Web API. */
async function countSet(stack: LocalStack, set: string, field: string): Promise<number> {
  let count = 0;
  let next: string | undefined = `${stack.dataverse}${set}?$select=${field}`;
  while (next) {
    const response = await fetch(next, { headers: { authorization: 'Bearer bench', accept: 'application/json' } });
    const page = (await response.json()) as { value: Record<string, unknown>[]; '@odata.nextLink'?: string };
    count += page.value.filter((r) => r[field]).length;
    next = page['@odata.nextLink'];
  }
  return count;
}

const created = (stack: LocalStack) => {
  const records = stack.emulator!.stats().recordsPerTable;
  return (records.account ?? 0) + (records.contact ?? 0);
};
export const round1 = (n: number) => Math.round(n * 10) / 10;

/** The rows without references as two ordinary loads: posted together, or contacts after accounts ended. */
export async function independentLoads(
  stack: LocalStack,
  accounts: number,
  contacts: number,
  together: boolean,
): Promise<TimedRun> {
  const csvs = planCsvs(accounts, contacts, together ? 'I' : 'S', false);
  stack.emulator!.reset();
  const started = Date.now();
  const load = async (table: string, text: string) =>
    waitForLoad(() => stack.api, (await postLoad(stack.api, table, text)).id, { timeoutMs: 30 * 60_000 });
  const views = together
    ? await Promise.all([load('account', csvs.accounts), load('contact', csvs.contacts)])
    : [await load('account', csvs.accounts), await load('contact', csvs.contacts)];
  const seconds = (Date.now() - started) / 1000;
  return {
    seconds: round1(seconds),
    rowsPerSecond: Math.round(created(stack) / seconds),
    created: created(stack),
    failed: views.reduce((sum, v) => sum + v.counts.failed, 0),
  };
}

export async function planRun(
  stack: LocalStack,
  body: Uint8Array,
  contentType: string,
  onPoll?: (id: string) => Promise<void>,
): Promise<PlanRun> {
  stack.emulator!.reset();
  const started = Date.now();
  const id = await postPlan(stack.api, body, contentType);
  const view = await waitForPlan(stack.api, id, onPoll);
  const seconds = (Date.now() - started) / 1000;
  const starts = (view.tables ?? []).flatMap((t) =>
    t.load?.timings.startedAt ? [Date.parse(t.load.timings.startedAt)] : [],
  );
  const firstStart = starts.length > 0 ? Math.min(...starts) : undefined;
  const run: PlanRun = {
    seconds: round1(seconds),
    rowsPerSecond: Math.round(created(stack) / seconds),
    created: created(stack),
    status: view.status,
    ...(view.message ? { message: view.message } : {}),
    ...(firstStart !== undefined && view.timings
      ? { secondsBeforeFirstLoad: round1((firstStart - Date.parse(view.timings.createdAt)) / 1000) }
      : {}),
    parentsBound: await countSet(stack, 'accounts', '_parentaccountid_value'),
    customersBound: await countSet(stack, 'contacts', '_parentcustomerid_value'),
    ...(view.tables
      ? {
          tables: view.tables.map((t) => ({
            table: t.table,
            stage: t.stage,
            ...(t.load
              ? {
                  status: t.load.status,
                  succeeded: t.load.counts.succeeded,
                  failed: t.load.counts.failed,
                  ...(t.load.timings.durationSeconds !== undefined ? { seconds: t.load.timings.durationSeconds } : {}),
                  ...(t.load.timings.startedAt ? { startedAt: t.load.timings.startedAt } : {}),
                  ...(t.load.timings.finishedAt ? { finishedAt: t.load.timings.finishedAt } : {}),
                }
              : {}),
          })),
        }
      : {}),
  };
  return run;
}

/** The load and plan functions, named one by one (the host's glob needs Node 22's fs.globSync). */
const functionFiles = () =>
  readdirSync(join(__dirname, '..', 'functions'))
    .filter((f) => /^(load|plan).*\.js$/.test(f))
    .map((f) => `dist/functions/${f}`);

/**
 * The emulator a run loads into: `latency` (20 ms a request + 0.2 ms an operation, default limits; as the
 * references part) is bound by round trips, so whatever runs side by side goes faster; `limits` (the throughput
 * part's model of Dataverse's default limits, time-scaled) is bound by the service protection limits, as real
 * loads are.
 */
export type EmulatorProfile = 'latency' | 'limits';

export const stackOptions = (emulator: EmulatorProfile = 'latency') => ({
  files: functionFiles(),
  blobScanIntervalMs: 500,
  hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.500', batchSize: 16, newBatchThreshold: 8 } } },
  emulator:
    emulator === 'limits'
      ? emulatorOptionsFor(defaultBenchProfile)
      : { latency: { baseMs: 20, perOperationMs: 0.2, perTable: {} } },
});
