/**
 * `npm run bench -- --parts plans` (issue 15): relational loads through the local host against the emulator.
 *  (a) 10k accounts, 30 % naming a parent account later in the file (parentaccountid by accountnumber), and 20k
 *      contacts under those accounts (parentcustomerid by accountnumber), posted as one plan (a zip with plan.json,
 *      files in the wrong order) to POST /api/plans, against the same rows without the reference columns as two
 *      ordinary loads (POST /api/loads/account and /contact), posted together (independent loads: the issue's
 *      measure, target ≥ 80 %) and one after the other (the order a plan imposes, without its binds). Rows/s =
 *      rows created ÷ time from the first POST to the end; three rounds, each in another order, medians reported
 *      (this machine's noise is larger than the effects). The plan's binds are counted through the Web API. Run
 *      against two emulators: bound by round trips (as the references part) and bound by Dataverse's limits (the
 *      throughput part's time-scaled model), where loads side by side share one ceiling.
 *  (b) A 200k-row .xlsx workbook (shared strings, as Excel writes them): peak RSS of preparing and staging it
 *      alone (bench/planStagingChild.ts in its own process), and of the host (VmHWM) when it is posted as a plan
 *      and loaded.
 * Without the plans API in the build (POST /api/plans answers 404), (a) reports the baseline only and (b) the
 * staging figure only. Run alone: `node dist/bench/plans.js`.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ExcelJS from 'exceljs';
import { startLocalStack } from '../dev/host/localStack';
import { peakRssMB, postLoad, waitForLoad } from './loadBenchmark';
import {
  independentLoads,
  planCsvs,
  planRun,
  planZip,
  PlansApiMissing,
  round1,
  stackOptions,
  xlsxType,
  type EmulatorProfile,
  type PlanRun,
  type TimedRun,
} from './planRuns';

export interface PlanThroughput {
  emulator: EmulatorProfile;
  /** Rows/s of every run, in the order run (the figures below are the medians). */
  runs: { independent: number[]; sequential: number[]; plan: number[] };
  /** The two loads posted together (what independent loads are: nothing orders them). */
  independent: TimedRun;
  /** Contacts posted when accounts ended (the order a plan imposes, without its binds). */
  sequential: TimedRun;
  plan?: PlanRun;
  /** plan rows/s ÷ independent rows/s (the issue's measure; target ≥ 0.8). */
  ratio?: number;
  /** plan rows/s ÷ sequential rows/s (the plan's own cost beyond the order). */
  ratioToSequential?: number;
}

export interface PlansReport {
  loadAverage: string;
  accounts: number;
  contacts: number;
  selfReferences: number;
  /** Part (a) against each emulator profile. */
  throughput: PlanThroughput[];
  workbook: {
    rows: number;
    fileMB: number;
    staging: { seconds: number; prepareSeconds: number; peakRssMB: number; baselineRssMB: number };
    host?: PlanRun & { peakHostRssMB?: number; peakHostRssAfterStagingMB?: number };
  };
  missing?: string;
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

/** The run with the median rate (the lower middle one of an even count). */
function median<T extends TimedRun>(runs: T[]): T | undefined {
  return [...runs].sort((a, b) => a.rowsPerSecond - b.rowsPerSecond)[Math.floor((runs.length - 1) / 2)];
}

/** Part (a) on one emulator profile: rounds of (together, one after the other, plan), each in another order. */
async function throughputRuns(o: {
  emulator: EmulatorProfile;
  accounts: number;
  contacts: number;
  rounds: number;
  log: (line: string) => void;
  missing: string[];
}): Promise<PlanThroughput> {
  const { accounts, contacts, log, missing } = o;
  const stack = await startLocalStack(stackOptions(o.emulator));
  const runs: { independent: TimedRun[]; sequential: TimedRun[]; plan: PlanRun[] } = {
    independent: [],
    sequential: [],
    plan: [],
  };
  try {
    // a fresh host's first loads pay for start-up (JIT, metadata reads): warm it so the order of runs doesn't matter
    const warm = planCsvs(1000, 1000, 'W', false);
    await Promise.all([
      waitForLoad(() => stack.api, (await postLoad(stack.api, 'account', warm.accounts)).id),
      waitForLoad(() => stack.api, (await postLoad(stack.api, 'contact', warm.contacts)).id),
    ]);
    const csvs = planCsvs(accounts, contacts, 'P', true);
    const kinds = ['independent', 'sequential', 'plan'] as const;
    // each round in another order, so that the machine's drift falls on each kind alike
    for (let round = 0; round < o.rounds; round++)
      for (let k = 0; k < kinds.length; k++) {
        const kind = kinds[(round + k) % kinds.length]!;
        if (kind === 'plan') {
          if (missing.length > 0) continue;
          try {
            const run = await planRun(stack, planZip(csvs.accounts, csvs.contacts), 'application/zip');
            runs.plan.push(run);
            log(`  plan: ${run.rowsPerSecond} rows/s (${run.seconds} s), ${run.status}`);
          } catch (error) {
            if (!(error instanceof PlansApiMissing)) throw error;
            missing.push(error.message);
          }
        } else {
          const run = await independentLoads(stack, accounts, contacts, kind === 'independent');
          runs[kind].push(run);
          log(
            `  ${kind === 'independent' ? 'posted together' : 'one after the other'}: ${run.rowsPerSecond} rows/s (${run.seconds} s)`,
          );
        }
      }
  } finally {
    await stack.stop();
  }
  const independent = median(runs.independent)!;
  const sequential = median(runs.sequential)!;
  const plan = median(runs.plan);
  return {
    emulator: o.emulator,
    runs: {
      independent: runs.independent.map((r) => r.rowsPerSecond),
      sequential: runs.sequential.map((r) => r.rowsPerSecond),
      plan: runs.plan.map((r) => r.rowsPerSecond),
    },
    independent,
    sequential,
    ...(plan
      ? {
          plan,
          ratio: Math.round((plan.rowsPerSecond / independent.rowsPerSecond) * 100) / 100,
          ratioToSequential: Math.round((plan.rowsPerSecond / sequential.rowsPerSecond) * 100) / 100,
        }
      : {}),
  };
}

export async function measurePlans(
  options: {
    accounts?: number;
    contacts?: number;
    /** Rounds of (together, one after the other, plan), each in another order; medians reported. Default 3. */
    rounds?: number;
    /** Emulator profiles part (a) runs on; default both. */
    profiles?: EmulatorProfile[];
    workbookRows?: number;
    log?: (line: string) => void;
  } = {},
): Promise<PlansReport> {
  const rounds = options.rounds ?? 3;
  const profiles = options.profiles ?? (['latency', 'limits'] as const);
  const accounts = options.accounts ?? 10_000;
  const contacts = options.contacts ?? 20_000;
  const workbookRows = options.workbookRows ?? 200_000;
  const log = options.log ?? (() => undefined);
  const loadAverage = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const dir = await mkdtemp(join(tmpdir(), 'dvl-plans-'));
  const missing: string[] = [];
  try {
    const throughput: PlanThroughput[] = [];
    for (const emulator of profiles) {
      log(`plans: ${accounts} accounts + ${contacts} contacts, emulator bound by ${emulator}…`);
      throughput.push(await throughputRuns({ emulator, accounts, contacts, rounds, log, missing }));
    }

    const xlsxPath = join(dir, `plan-${workbookRows}.xlsx`);
    log(`plans: writing a ${workbookRows}-row workbook…`);
    await writeWorkbook(xlsxPath, workbookRows);
    const fileMB = round1((await stat(xlsxPath)).size / 2 ** 20);
    // a fresh stack, so that the host's VmHWM is this plan's
    const stack = await startLocalStack(stackOptions());
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
      throughput,
      workbook: { rows: workbookRows, fileMB, staging, ...(host ? { host } : {}) },
      ...(missing.length > 0 ? { missing: missing.join('; ') } : {}),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatPlans(r: PlansReport): string {
  const lines = [`plans (load average ${r.loadAverage} at start):`];
  for (const t of r.throughput) {
    lines.push(
      `  emulator bound by ${t.emulator}; medians of ${t.runs.independent.length} (rows/s: together ${t.runs.independent.join(', ')}; one after the other ${t.runs.sequential.join(', ')}; plan ${t.runs.plan.join(', ') || '–'})`,
      `    ${r.accounts} accounts + ${r.contacts} contacts as independent loads (no references): ${t.independent.rowsPerSecond} rows/s posted together (${t.independent.seconds} s), ${t.sequential.rowsPerSecond} rows/s one after the other (${t.sequential.seconds} s)`,
    );
    if (t.plan)
      lines.push(
        `    as one plan (${r.selfReferences} self-references, contacts by accountnumber): ${t.plan.rowsPerSecond} rows/s (${t.plan.seconds} s), ${t.plan.status}; ${t.plan.parentsBound} parents and ${t.plan.customersBound} parent customers bound: ratio ${t.ratio} (${t.ratioToSequential} of one after the other); ${t.plan.secondsBeforeFirstLoad ?? '?'} s before the first load, ${(t.plan.tables ?? []).map((x) => `${x.table} ${x.seconds ?? '?'} s`).join(', ')}`,
      );
  }
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
