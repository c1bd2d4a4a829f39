/**
 * `npm run bench -- --parts plans` (issue 15): relational loads through the local host against the emulator.
 *  (a) 10k accounts, 30 % naming a parent account later in the file (parentaccountid by accountnumber), and 20k
 *      contacts under those accounts (parentcustomerid by accountnumber), posted as one plan (a zip with plan.json,
 *      files in the wrong order) to POST /api/plans, against the same rows without the reference columns posted as
 *      two independent loads at once (POST /api/loads/account and /contact). Rows/s of each (rows created ÷ time
 *      from the first POST to the end) and the ratio; the issue's target is ≥ 80 %. The plan's binds are counted
 *      through the emulator's Web API.
 *  (b) A 200k-row .xlsx workbook (shared strings, as Excel writes them): peak RSS of preparing and staging it
 *      alone (bench/planStagingChild.ts in its own process), and of the host (VmHWM) when it is posted as a plan
 *      and loaded.
 * Without the plans API in the build (POST /api/plans answers 404), (a) reports the baseline only and (b) the
 * staging figure only. Run alone: `node dist/bench/plans.js`.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ExcelJS from 'exceljs';
import { strToU8, zipSync } from 'fflate';
import { startLocalStack, type LocalStack } from '../dev/host/localStack';
import { peakRssMB, postLoad, waitForLoad } from './loadBenchmark';

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

export interface PlansReport {
  loadAverage: string;
  accounts: number;
  contacts: number;
  selfReferences: number;
  /** The two loads posted together (what independent loads are: nothing orders them). */
  independent: TimedRun;
  /** Contacts posted when accounts ended (the order a plan imposes, without its binds). */
  sequential: TimedRun;
  plan?: PlanRun;
  /** plan rows/s ÷ independent rows/s (the issue's measure; target ≥ 0.8). */
  ratio?: number;
  /** plan rows/s ÷ sequential rows/s (the plan's own cost beyond the order). */
  ratioToSequential?: number;
  workbook: {
    rows: number;
    fileMB: number;
    staging: { seconds: number; prepareSeconds: number; peakRssMB: number; baselineRssMB: number };
    host?: PlanRun & { peakHostRssMB?: number; peakHostRssAfterStagingMB?: number };
  };
  missing?: string;
}

const xlsxType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
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
const round1 = (n: number) => Math.round(n * 10) / 10;

/** The rows without references as two ordinary loads: posted together, or contacts after accounts ended. */
async function independentLoads(
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

async function planRun(
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

async function writeWorkbook(path: string, rows: number): Promise<void> {
  const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useSharedStrings: true, useStyles: true });
  const sheet = writer.addWorksheet('account');
  sheet.addRow(['name', 'accountnumber', 'description', 'revenue', 'creditonhold']).commit();
  for (let i = 1; i <= rows; i++)
    sheet
      .addRow([
        `Contoso ${i}`,
        `W-${i}`,
        'Some description text that takes space',
        Math.round(i * 137) / 100,
        i % 3 === 0,
      ])
      .commit();
  sheet.commit();
  await writer.commit();
}

/** The load and plan functions, named one by one (the host's glob needs Node 22's fs.globSync). */
const functionFiles = () =>
  readdirSync(join(__dirname, '..', 'functions'))
    .filter((f) => /^(load|plan).*\.js$/.test(f))
    .map((f) => `dist/functions/${f}`);

const stackOptions = () => ({
  files: functionFiles(),
  blobScanIntervalMs: 500,
  hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.500', batchSize: 16, newBatchThreshold: 8 } } },
  emulator: { latency: { baseMs: 20, perOperationMs: 0.2, perTable: {} } },
});

export async function measurePlans(
  options: { accounts?: number; contacts?: number; workbookRows?: number; log?: (line: string) => void } = {},
): Promise<PlansReport> {
  const accounts = options.accounts ?? 10_000;
  const contacts = options.contacts ?? 20_000;
  const workbookRows = options.workbookRows ?? 200_000;
  const log = options.log ?? (() => undefined);
  const loadAverage = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const dir = await mkdtemp(join(tmpdir(), 'dvl-plans-'));
  const missing: string[] = [];
  try {
    let stack = await startLocalStack(stackOptions());
    let independent: TimedRun;
    let sequential: TimedRun;
    let plan: PlanRun | undefined;
    try {
      // a fresh host's first loads pay for start-up (JIT, metadata reads): warm it so the order of runs doesn't matter
      const warm = planCsvs(1000, 1000, 'W', false);
      await Promise.all([
        waitForLoad(() => stack.api, (await postLoad(stack.api, 'account', warm.accounts)).id),
        waitForLoad(() => stack.api, (await postLoad(stack.api, 'contact', warm.contacts)).id),
      ]);
      log(`plans: ${accounts} accounts + ${contacts} contacts as two independent loads (no references)…`);
      independent = await independentLoads(stack, accounts, contacts, true);
      log(`  independent, posted together: ${independent.rowsPerSecond} rows/s (${independent.seconds} s)`);
      sequential = await independentLoads(stack, accounts, contacts, false);
      log(`  independent, one after the other: ${sequential.rowsPerSecond} rows/s (${sequential.seconds} s)`);
      log('plans: the same rows with references, as one plan (zip)…');
      const csvs = planCsvs(accounts, contacts, 'P', true);
      try {
        plan = await planRun(stack, planZip(csvs.accounts, csvs.contacts), 'application/zip');
        log(`  plan: ${plan.rowsPerSecond} rows/s (${plan.seconds} s), ${plan.status}`);
      } catch (error) {
        if (!(error instanceof PlansApiMissing)) throw error;
        missing.push(error.message);
      }
    } finally {
      await stack.stop();
    }

    const xlsxPath = join(dir, `plan-${workbookRows}.xlsx`);
    log(`plans: writing a ${workbookRows}-row workbook…`);
    await writeWorkbook(xlsxPath, workbookRows);
    const fileMB = round1((await stat(xlsxPath)).size / 2 ** 20);
    // a fresh stack, so that the host's VmHWM is this plan's
    stack = await startLocalStack(stackOptions());
    let staging: PlansReport['workbook']['staging'];
    let host: NonNullable<PlansReport['workbook']['host']> | undefined;
    try {
      log('  staging alone (preparePlan + stagePlan in a child process)…');
      const { stdout } = await promisify(execFile)(process.execPath, [
        join(__dirname, 'planStagingChild.js'),
        xlsxPath,
        stack.storage,
        stack.dataverse,
      ]);
      staging = JSON.parse(stdout.trim().split('\n').pop()!) as typeof staging;
      log(`  staging: ${staging.seconds} s, peak RSS ${staging.peakRssMB} MB`);
      if (missing.length === 0) {
        log('  posted as a plan to the host…');
        const pid = 'pid' in stack.host ? stack.host.pid : process.pid;
        const incoming = BlobServiceClient.fromConnectionString(stack.storage).getContainerClient('incoming');
        let afterStaging: number | undefined;
        // the host's peak when the sheet is staged (its NDJSON blob committed): staging's share of the peak
        const onPoll = async (planId: string) => {
          if (afterStaging !== undefined) return;
          if (await incoming.getBlockBlobClient(`_plans/${planId}/account/account.ndjson`).exists())
            afterStaging = peakRssMB(pid);
        };
        const run = await planRun(stack, await readFile(xlsxPath), xlsxType, onPoll);
        host = {
          ...run,
          ...(peakRssMB(pid) !== undefined ? { peakHostRssMB: peakRssMB(pid) } : {}),
          ...(afterStaging !== undefined ? { peakHostRssAfterStagingMB: afterStaging } : {}),
        };
        log(`  host: peak RSS ${host.peakHostRssMB ?? '?'} MB, ${host.rowsPerSecond} rows/s, ${host.status}`);
      }
    } finally {
      await stack.stop();
    }
    return {
      loadAverage,
      accounts,
      contacts,
      selfReferences: planCsvs(accounts, contacts, 'P', true).selfReferences,
      independent,
      sequential,
      ...(plan
        ? {
            plan,
            ratio: Math.round((plan.rowsPerSecond / independent.rowsPerSecond) * 100) / 100,
            ratioToSequential: Math.round((plan.rowsPerSecond / sequential.rowsPerSecond) * 100) / 100,
          }
        : {}),
      workbook: { rows: workbookRows, fileMB, staging, ...(host ? { host } : {}) },
      ...(missing.length > 0 ? { missing: missing.join('; ') } : {}),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatPlans(r: PlansReport): string {
  const lines = [`plans (load average ${r.loadAverage} at start):`];
  lines.push(
    `  ${r.accounts} accounts + ${r.contacts} contacts as independent loads (no references): ${r.independent.rowsPerSecond} rows/s posted together (${r.independent.seconds} s), ${r.sequential.rowsPerSecond} rows/s one after the other (${r.sequential.seconds} s)`,
  );
  if (r.plan)
    lines.push(
      `  as one plan (${r.selfReferences} self-references, contacts by accountnumber): ${r.plan.rowsPerSecond} rows/s (${r.plan.seconds} s), ${r.plan.status}; ${r.plan.parentsBound} parents and ${r.plan.customersBound} parent customers bound: ratio ${r.ratio} (${r.ratioToSequential} of one after the other); ${r.plan.secondsBeforeFirstLoad ?? '?'} s before the first load, ${(r.plan.tables ?? []).map((t) => `${t.table} ${t.seconds ?? '?'} s`).join(', ')}`,
    );
  const w = r.workbook;
  lines.push(
    `  ${w.rows}-row workbook (${w.fileMB} MB): staging alone ${w.staging.seconds} s, peak RSS ${w.staging.peakRssMB} MB`,
  );
  if (w.host)
    lines.push(
      `  posted as a plan: host peak RSS ${w.host.peakHostRssMB ?? '?'} MB (${w.host.peakHostRssAfterStagingMB ?? '?'} MB when staged), ${w.host.rowsPerSecond} rows/s, ${w.host.status}`,
    );
  if (r.missing) lines.push(`  missing: ${r.missing}`);
  return lines.join('\n');
}

if (require.main === module) {
  void measurePlans({ log: (line) => process.stderr.write(`${line}\n`) }).then(
    (r) => console.log(`${formatPlans(r)}\n${JSON.stringify(r)}`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
