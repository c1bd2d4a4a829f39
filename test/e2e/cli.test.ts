/**
 * `dvload` end to end: the compiled CLI (dist/cli/dvload.js, as `npx dvload` runs it) in a child process against
 * the local stack (loads, plans, imports). Exit codes (0 succeeded, 2 partially succeeded, 1 failed), `--json`, the progress output when
 * forced on, no colours without a terminal. Needs `npm run build` first.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { z } from 'zod';
import type { LocalStack } from '../../dev/host/localStack';
import { buildSolutionZip } from '../../dev/emulator/solutions/solutionZip';
import { accountsWithBadRows, startClientStack } from './cliStack';
import { repoRoot } from './hostTestKit';

jest.setTimeout(240_000);

let stack: LocalStack;
const dir = mkdtempSync(join(tmpdir(), 'dvload-'));

beforeAll(async () => {
  stack = await startClientStack();
});
afterAll(async () => stack?.stop());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function dvload(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'dist/cli/dvload.js'), '--interval', '200', ...args],
      { env: { ...process.env, DVLOAD_API: stack.api, DVLOAD_KEY: '', NO_COLOR: '', ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const file = (name: string, content: string | Uint8Array) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

const loadJson = z.looseObject({
  id: z.string(),
  status: z.string(),
  table: z.string(),
  counts: z.looseObject({ total: z.number(), succeeded: z.number(), failed: z.number() }),
  retryOf: z.string().optional(),
});
const lastJson = (run: Run): unknown => JSON.parse(run.stdout.trim().split('\n').at(-1)!);

let partialId: string;

describe('dvload load', () => {
  it('exits 0 when every row is loaded, and --json prints the final load', async () => {
    const csv = file('good.csv', 'name,accountnumber\r\nContoso,CLI-G1\r\nFabrikam,CLI-G2\r\n');
    const run = await dvload(['--json', 'load', csv, '--table', 'account', '--operation', 'create']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(loadJson.parse(lastJson(run))).toMatchObject({
      status: 'succeeded',
      table: 'account',
      counts: { total: 2, succeeded: 2, failed: 0 },
    });
  });

  it('exits 2 for a partial success and, forced on, prints the progress bar as the rows go', async () => {
    const { text, bad } = accountsWithBadRows(1500, 'CLIP');
    const csv = file('partial.csv', text);
    const profile = file('profile.json', JSON.stringify({ batchSize: 50, operation: 'create' }));
    const run = await dvload(['--progress', 'load', csv, '--table', 'account', '--profile', profile]);
    expect(run.code).toBe(2);
    const lines = run.stderr.split('\n').filter((l) => l.includes('rows |'));
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.at(-1)).toMatch(/100% \| 1500\/1500 rows \| \d+ rows\/s \| ETA .* \| failed 150 \| 429s \d+/);
    expect(bad).toBe(150);
    // Text output without a terminal: no colour codes, the outcome and where to look next.
    expect(run.stdout).not.toContain('\u001b[');
    expect(run.stdout).toMatch(/^load [0-9a-f-]{36} partiallySucceeded$/m);
    expect(run.stdout).toMatch(/rows 1,500: 1,350 succeeded, 150 failed, 0 not processed/);
    partialId = /^load ([0-9a-f-]{36})/m.exec(run.stdout)![1]!;
  });

  it('exits 1 for a failed load, with the reason', async () => {
    const csv = file('nothing.csv', 'colour,shape\r\nred,round\r\n');
    const run = await dvload(['load', csv, '--table', 'account']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/ failed\n/);
    expect(run.stdout).toMatch(/colour/);
  });

  it('exits 1 naming the problem when the file or the request is wrong', async () => {
    const unknown = await dvload(['load', file('data.bin', 'x'), '--table', 'account']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/cannot tell the format of '.*data\.bin': add --format/);
    const missing = await dvload(['--json', 'load', join(dir, 'absent.csv'), '--table', 'account']);
    expect(missing.code).toBe(1);
    expect(lastJson(missing)).toMatchObject({ error: { code: 'FileUnreadable' } });
    const badProfile = await dvload([
      'load',
      file('p.csv', 'name\r\nx\r\n'),
      '--table',
      'account',
      '--profile',
      file('bad-profile.json', '{"operaton":"create"}'),
    ]);
    expect(badProfile.code).toBe(1);
    expect(badProfile.stderr).toMatch(/unknown setting 'operaton'.*operation/);
    const noKey = await dvload(['load', file('q.csv', 'name\r\nx\r\n'), '--table', 'no such table!']);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/InvalidTable/);
  });

  it('--no-wait prints the id and returns', async () => {
    const csv = file('nowait.csv', 'name,accountnumber\r\nNW,CLI-NW1\r\n');
    const run = await dvload(['load', csv, '--table', 'account', '--no-wait']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('dvload import', () => {
  it('exits 0 when the import succeeds, with the progress bar forced on', async () => {
    const zip = file('good.zip', buildSolutionZip({ uniqueName: 'cli_good', version: '1.0.0.0' }));
    const run = await dvload(['--progress', 'import', zip]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/100% \| succeeded/);
    expect(run.stdout).toMatch(/^ImportSolution [0-9a-f-]{36} succeeded/m);
  });

  it('exits 1 and prints the import log when the import fails; --json is the job', async () => {
    const zip = file('bad.zip', buildSolutionZip({ uniqueName: 'cli_bad', missingDependencies: ['cli_missing'] }));
    const text = await dvload(['import', zip, '--stage-and-upgrade']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/failed/);
    expect(text.stdout).toMatch(/cli_missing/);
    const json = await dvload(['--json', 'import', zip]);
    expect(json.code).toBe(1);
    expect(lastJson(json)).toMatchObject({ kind: 'ImportSolution', state: 'failed', statusCode: 31 });
  });

  it('sends --settings with the zip: a settings file of the wrong shape is refused, naming it', async () => {
    const zip = file('set.zip', buildSolutionZip({ uniqueName: 'cli_settings', version: '1.0.0.0' }));
    const wrong = file('wrong-settings.json', JSON.stringify({ EnvironmentVariables: [{ Value: 'x' }] }));
    const refused = await dvload(['import', zip, '--settings', wrong]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/settings.*SchemaName/);
    const right = file('settings.json', JSON.stringify({ EnvironmentVariables: [], ConnectionReferences: [] }));
    const run = await dvload(['import', zip, '--settings', right]);
    expect(run.code).toBe(0);
  });
});

describe('dvload status', () => {
  it('lists the newest loads and jobs, and shows one load or one job by id', async () => {
    const list = await dvload(['--json', 'status', '--limit', '50']);
    expect(list.code).toBe(0);
    const items = z.object({ items: z.array(z.object({ id: z.string(), kind: z.string() })) }).parse(lastJson(list));
    expect(items.items.map((i) => i.id)).toContain(partialId);
    expect(items.items.some((i) => i.kind === 'ImportSolution')).toBe(true);
    const text = await dvload(['status']);
    expect(text.stdout).toMatch(new RegExp(`load\\s+partiallySucceeded\\s+${partialId}`));

    const load = await dvload(['--json', 'status', partialId]);
    expect(loadJson.parse(lastJson(load))).toMatchObject({ id: partialId, status: 'partiallySucceeded' });
    const jobId = items.items.find((i) => i.kind === 'ImportSolution')!.id;
    const job = await dvload(['status', jobId]);
    expect(job.code).toBe(0);
    expect(job.stdout).toMatch(new RegExp(`^ImportSolution ${jobId} `));
  });

  it('exits 1 for an unknown id, and when the API cannot be reached', async () => {
    const unknown = await dvload(['status', '00000000-0000-0000-0000-000000000000']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No job|no load/);
    const down = await dvload(['status'], { DVLOAD_API: 'http://127.0.0.1:9/api' });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9\/api/);
  });
});

describe('dvload plan', () => {
  const csv = (rows: string[][]) => strToU8(rows.map((r) => r.join(',')).join('\r\n') + '\r\n');
  const planJson = z.looseObject({
    id: z.string(),
    status: z.string(),
    counts: z.looseObject({ total: z.number(), succeeded: z.number(), failed: z.number() }),
    tables: z.array(
      z.looseObject({ table: z.string(), loadId: z.string(), load: z.looseObject({ status: z.string() }) }),
    ),
  });

  it('--wait follows the plan to its end and prints the order and each table with its load', async () => {
    // Contacts first in the zip; their parentcustomerid names accounts by accountnumber, so accounts load first.
    const zip = file(
      'migration.zip',
      zipSync({
        'contacts.csv': csv([
          ['lastname', 'parentcustomerid@account'],
          ...Array.from({ length: 12 }, (_, i) => [`Plan contact ${i}`, `CLI-PL${i % 5}`]),
        ]),
        'accounts.csv': csv([
          ['accountnumber', 'name'],
          ...Array.from({ length: 5 }, (_, i) => [`CLI-PL${i}`, `Plan account ${i}`]),
        ]),
      }),
    );
    const run = await dvload(['--progress', 'plan', zip, '--wait']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^plan [0-9a-f-]{36} accepted \(migration\.zip\)$/m);
    expect(
      run.stderr
        .split('\n')
        .filter((l) => l.includes('rows | stage'))
        .at(-1),
    ).toMatch(/100% \| 17\/17 rows \| stage 2\/2 \| failed 0/);
    expect(run.stdout).toMatch(/^plan [0-9a-f-]{36} succeeded \(.+\.zip\)$/m);
    expect(run.stdout).toMatch(/^ {2}order: 1\. account {2}2\. contact$/m);
    expect(run.stdout).toMatch(/rows 17: 17 succeeded, 0 failed, 0 not processed/);
    expect(run.stdout).toMatch(
      /^ {2}account \(accounts\.csv, stage 1\) succeeded: 5 rows, 5 succeeded, 0 failed {2}load [0-9a-f-]{36}$/m,
    );
    expect(run.stdout).toMatch(
      /^ {2}contact \(contacts\.csv, stage 2\) succeeded: 12 rows, 12 succeeded, 0 failed {2}load [0-9a-f-]{36}$/m,
    );

    // status finds the plan by its id; --json is the plan's view, each table's load in it.
    const planId = /^plan ([0-9a-f-]{36})/m.exec(run.stdout)![1]!;
    const status = await dvload(['--json', 'status', planId]);
    expect(status.code).toBe(0);
    const plan = planJson.parse(lastJson(status));
    expect(plan).toMatchObject({ id: planId, status: 'succeeded', counts: { total: 17, succeeded: 17, failed: 0 } });
    const contactLoad = plan.tables.find((t) => t.table === 'contact')!.loadId;
    expect(run.stdout).toContain(`load ${contactLoad}`);
    const load = await dvload(['--json', 'status', contactLoad]);
    expect(loadJson.parse(lastJson(load))).toMatchObject({ table: 'contact', counts: { succeeded: 12 } });
  });

  it('exits 1 naming the file when a plan cannot be loaded, or its format cannot be told', async () => {
    const zip = file('unknown.zip', zipSync({ 'widgets.csv': csv([['name'], ['w']]) }));
    const run = await dvload(['plan', zip]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^plan [0-9a-f-]{36} failed/m);
    expect(run.stdout).toMatch(/widgets\.csv/);
    const unknown = await dvload(['plan', file('plan.bin', 'x')]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/cannot tell the format of '.*plan\.bin': add --format zip\|xlsx/);
    const noWait = await dvload(['plan', zip, '--no-wait']);
    expect(noWait.code).toBe(0);
    expect(noWait.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('dvload rows and retry', () => {
  it('prints the failed rows with column and value, --json all of them, --out the failed-rows file', async () => {
    const text = await dvload(['rows', partialId, '--page-size', '40']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines).toHaveLength(150);
    expect(lines).toContainEqual(expect.stringMatching(/^row 23 {2}column 'numberofemployees' {2}value 'n\/a' /));
    const json = await dvload(['--json', 'rows', partialId]);
    const rows = z.object({ items: z.array(z.looseObject({ rowNumber: z.number() })) }).parse(lastJson(json));
    expect(rows.items.map((r) => r.rowNumber)).toContain(13);
    const out = join(dir, 'failed.csv');
    const saved = await dvload(['rows', partialId, '--out', out]);
    expect(saved.code).toBe(0);
    const failed = readFileSync(out, 'utf8').trim().split(/\r?\n/);
    expect(failed[0]).toMatch(/^name,accountnumber,numberofemployees,parentaccountid,_error$/);
    expect(failed).toHaveLength(151);
  });

  it('retry loads the failed rows again as a linked load; a corrected file loads instead', async () => {
    // Fixed at the Dataverse side: the missing parent now exists, so those rows go in; 'n/a' still fails.
    const parent = await fetch(`${stack.dataverse}accounts`, {
      method: 'POST',
      headers: { authorization: 'Bearer test', 'content-type': 'application/json' },
      body: JSON.stringify({ accountid: '00000000-0000-0000-0000-0000000000ff', name: 'Parent' }),
    });
    expect(parent.status).toBeLessThan(300);
    const again = await dvload(['--json', 'retry', partialId]);
    expect(again.code).toBe(2);
    expect(loadJson.parse(lastJson(again))).toMatchObject({
      retryOf: partialId,
      status: 'partiallySucceeded',
      counts: { total: 150, succeeded: 75, failed: 75 },
    });

    // The rows still failing ('n/a'), corrected in the first load's failed-rows file and loaded instead.
    const out = join(dir, 'fix.csv');
    expect((await dvload(['rows', partialId, '--out', out])).code).toBe(0);
    const [header, ...lines] = readFileSync(out, 'utf8')
      .split(/\r?\n/)
      .filter((l) => l !== '');
    const fixed = lines.filter((l) => l.includes(',n/a,')).map((l) => l.replace(',n/a,', ',7,'));
    expect(fixed).toHaveLength(75);
    const body = `${[header, ...fixed].join('\r\n')}\r\n`;
    const run = await dvload(['--json', 'retry', partialId, '--file', file('fixed.csv', body)]);
    expect(run.stdout).toMatch(/"status":"succeeded"/);
    expect(run.code).toBe(0);
    expect(loadJson.parse(lastJson(run))).toMatchObject({
      retryOf: partialId,
      counts: { total: 75, succeeded: 75, failed: 0 },
    });
  });

  it('exits 1 for rows of an unknown load', async () => {
    const run = await dvload(['rows', '00000000-0000-0000-0000-000000000000']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/000000000000/);
  });
});
