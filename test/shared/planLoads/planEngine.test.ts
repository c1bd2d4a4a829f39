/**
 * The plan engine over Azurite and the emulator (the load engine's fixture): a plan dropped at
 * `incoming/_plans/<file>` is prepared, staged, and loaded stage by stage (each stage's loads start once the
 * previous stage's loads are written), ends with one 'plan' event and reports the order it chose; a plan that
 * can't be prepared fails naming the file and starts no load; a re-delivered plan file is the same plan; a crash
 * between a stage's claim and its loads' start is resumed by the sweep without starting anything twice.
 */
import { expect } from '@jest/globals';
import { strToU8, zipSync } from 'fflate';
import { submitLoad } from '../../../shared/loads/loadApi';
import { receiveDroppedFile } from '../../../shared/loads/loadTriggers';
import { advancePlan } from '../../../shared/planLoads/planAdvance';
import { getPlan, submitPlan } from '../../../shared/planLoads/planApi';
import type { PlanContext } from '../../../shared/planLoads/planContext';
import { createPlanContext } from '../../../shared/planLoads/planRuntime';
import { sweepPlans } from '../../../shared/planLoads/planSweep';
import { workbookBytes } from '../ingestion/workbookBytes';
import { startLoadFixture, type LoadFixture } from '../loads/loadFixture';

jest.setTimeout(120_000);

let f: LoadFixture;
let plans: PlanContext;
beforeAll(async () => {
  f = await startLoadFixture();
  plans = f.app.plans;
});
afterAll(async () => {
  await f?.close();
});

const csv = (rows: string[][]) => strToU8(rows.map((r) => r.join(',')).join('\r\n') + '\r\n');
/** Child names its parent later in the file (bound in the load's second pass), Middle one earlier. */
const accounts = [
  ['name', 'accountnumber', 'parentaccountid'],
  ['Child', 'A-3', 'A-2'],
  ['Root', 'A-1', ''],
  ['Middle', 'A-2', 'A-1'],
];
const contacts = [
  ['lastname', 'emailaddress1', 'parentcustomerid@account'],
  ['Lovelace', 'ada@example.com', 'A-1'],
  ['Hopper', 'grace@example.com', 'A-3'],
];
const tasks = [
  ['subject', 'regardingobjectid@account', 'regardingobjectid@contact'],
  ['Call', 'A-3', ''],
  ['Write', '', 'ada@example.com'],
];
/** The lookups' keys, per file (plan.json profiles, staged as each table's `_profile.json`). */
const planFiles = [
  { file: 'account.csv', profile: { lookups: { parentaccountid: { by: 'accountnumber' } } } },
  { file: 'contacts.csv', profile: { lookups: { parentcustomerid: { keys: { account: 'accountnumber' } } } } },
  {
    file: 'tasks.csv',
    profile: { lookups: { regardingobjectid: { keys: { account: 'accountnumber', contact: 'emailaddress1' } } } },
  },
];
const planJson = JSON.stringify({ files: planFiles });
const threeTables = (files: Record<string, string[][]> = {}) =>
  zipSync({
    'tasks.csv': csv(files.tasks ?? tasks),
    'contacts.csv': csv(files.contacts ?? contacts),
    'account.csv': csv(files.accounts ?? accounts),
    'plan.json': strToU8(planJson),
  });

/** The same rows with ids (a workbook has no plan.json, so no profile: its lookups hold record ids). */
const id = (n: number) => `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`;
const sheets = {
  accounts: [
    ['accountid', 'name', 'accountnumber', 'parentaccountid'],
    [id(1), 'Root', 'A-1', ''],
    [id(2), 'Middle', 'A-2', id(1)],
    [id(3), 'Child', 'A-3', id(2)],
  ],
  contacts: [
    ['contactid', 'lastname', 'emailaddress1', 'parentcustomerid@account'],
    [id(11), 'Lovelace', 'ada@example.com', id(1)],
    [id(12), 'Hopper', 'grace@example.com', id(3)],
  ],
  tasks: [
    ['subject', 'regardingobjectid@account', 'regardingobjectid@contact'],
    ['Call', id(3), ''],
    ['Write', '', id(11)],
  ],
};

/** Drops a plan file and hands it to the blob trigger's entry point; the events queue starts empty for it. */
async function dropPlan(name: string, bytes: Uint8Array) {
  await f.storage.queueService.getQueueClient('job-events').clearMessages();
  await f.drop(`_plans/${name}`, Buffer.from(bytes));
  const result = await receiveDroppedFile(f.ctx, { container: 'incoming', table: '_plans', name });
  if (result.kind !== 'plan') throw new Error(`the plan drop was not taken as a plan: ${JSON.stringify(result)}`);
  return result.planId;
}

async function webApi<T>(path: string): Promise<T[]> {
  const response = await fetch(`${f.emulator.webApiUrl}${path}`, {
    headers: { authorization: 'Bearer test', accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
  return ((await response.json()) as { value: T[] }).value;
}

async function planEvents(planId: string) {
  return (await f.events()).filter((e) => e.id === planId);
}

describe('a plan of accounts, contacts and tasks, files in the wrong order', () => {
  let planId: string;
  beforeAll(async () => {
    f.emulator.reset();
    planId = await dropPlan('three.zip', threeTables());
    await f.drain();
  });

  test('loads accounts, then contacts, then tasks, every lookup bound', async () => {
    const view = await getPlan(plans, planId);
    if (process.env.DEBUG_PLANS)
      for (const t of view.tables)
        for await (const r of f.ctx.store.listFailedRows(t.loadId)) console.log(t.table, r.rowNumber, r.message);
    expect(view).toMatchObject({
      status: 'succeeded',
      format: 'zip',
      stage: 2,
      counts: { total: 7, succeeded: 7, failed: 0, notProcessed: 0 },
      order: { stages: [['account'], ['contact'], ['task']] },
      links: { source: 'incoming/processed/_plans/three.zip' },
    });
    expect(view.order?.reasons.task).toEqual([
      'after account, contact (task.regardingobjectid → account; task.regardingobjectid → contact)',
    ]);
    expect(view.tables.map((t) => [t.table, t.file, t.stage, t.load?.status, t.load?.counts.succeeded])).toEqual([
      ['account', 'account.csv', 0, 'succeeded', 3],
      ['contact', 'contacts.csv', 1, 'succeeded', 2],
      ['task', 'tasks.csv', 2, 'succeeded', 2],
    ]);
    // Each stage started once the previous one's rows were all written (its second pass may still have been
    // running); the lookups below bound to existing rows show nothing started early.
    const [account, contact, task] = view.tables.map((t) => t.load!.timings);
    expect(Date.parse(contact!.createdAt)).toBeGreaterThanOrEqual(Date.parse(account!.scanCompletedAt!));
    expect(Date.parse(task!.createdAt)).toBeGreaterThanOrEqual(Date.parse(contact!.scanCompletedAt!));

    const stored = await webApi<{ accountid: string; accountnumber: string; _parentaccountid_value: string | null }>(
      'accounts?$select=accountid,accountnumber,_parentaccountid_value',
    );
    const idOf = new Map(stored.map((a) => [a.accountnumber, a.accountid]));
    expect(stored.map((a) => [a.accountnumber, a._parentaccountid_value]).sort()).toEqual([
      ['A-1', null],
      ['A-2', idOf.get('A-1')],
      ['A-3', idOf.get('A-2')],
    ]);
    const people = await webApi<{ contactid: string; emailaddress1: string; _parentcustomerid_value: string }>(
      'contacts?$select=contactid,emailaddress1,_parentcustomerid_value',
    );
    expect(people.map((c) => [c.emailaddress1, c._parentcustomerid_value]).sort()).toEqual([
      ['ada@example.com', idOf.get('A-1')],
      ['grace@example.com', idOf.get('A-3')],
    ]);
    const ada = people.find((c) => c.emailaddress1 === 'ada@example.com')!.contactid;
    const work = await webApi<{ subject: string; _regardingobjectid_value: string }>(
      'tasks?$select=subject,_regardingobjectid_value',
    );
    expect(work.map((t) => [t.subject, t._regardingobjectid_value]).sort()).toEqual([
      ['Call', idOf.get('A-3')],
      ['Write', ada],
    ]);
  });

  test('one plan event with the counts summed over the tables, and the plan in the job index', async () => {
    expect(await planEvents(planId)).toEqual([
      expect.objectContaining({
        kind: 'plan',
        outcome: 'succeeded',
        counts: { total: 7, succeeded: 7, failed: 0, notProcessed: 0 },
        links: { status: `/api/plans/${planId}` },
      }),
    ]);
    const { items } = await f.ctx.index.listJobs({ pageSize: 100 });
    expect(items.find((i) => i.id === planId)).toMatchObject({
      kind: 'plan',
      state: 'succeeded',
      statusUrl: `/api/plans/${planId}`,
    });
  });

  test('the plan file delivered again is the same plan: nothing loads twice', async () => {
    const before = f.emulator.stats().recordsPerTable;
    const again = await receiveDroppedFile(f.ctx, { container: 'incoming', table: '_plans', name: 'three.zip' });
    // The file moved to processed/ when the plan ended: a late delivery finds it gone.
    expect(again).toEqual({ kind: 'gone' });
    expect(await advancePlan(plans, planId)).toMatchObject({ status: 'succeeded' });
    await f.drain();
    expect(f.emulator.stats().recordsPerTable).toEqual(before);
    expect(await planEvents(planId)).toHaveLength(1);
  });
});

test('a workbook: one sheet per table, sheets in the wrong order, an empty sheet skipped', async () => {
  f.emulator.reset();
  const bytes = await workbookBytes([
    { name: 'tasks', rows: sheets.tasks },
    { name: 'Notes', rows: [] },
    { name: 'contact', rows: sheets.contacts },
    { name: 'accounts', rows: sheets.accounts },
  ]);
  const planId = await dropPlan('book.xlsx', bytes);
  await f.drain();
  const view = await getPlan(plans, planId);
  expect([view.status, view.message]).toEqual(['succeeded', undefined]);
  expect(view).toMatchObject({ status: 'succeeded', format: 'xlsx', counts: { total: 7, succeeded: 7 } });
  expect(view.tables.map((t) => [t.table, t.file, t.kind, t.stage])).toEqual([
    ['task', 'tasks', 'sheet', 2],
    ['contact', 'contact', 'sheet', 1],
    ['account', 'accounts', 'sheet', 0],
  ]);
  expect(f.emulator.stats().recordsPerTable).toMatchObject({ account: 3, contact: 2, task: 2 });
});

test('a plan of one table is one stage', async () => {
  f.emulator.reset();
  const planId = await dropPlan('one.zip', zipSync({ 'accounts.csv': csv(sheets.accounts) }));
  // Delivered again while it runs: the same plan, staged once, its load started once.
  expect(await dropPlanAlreadyThere('one.zip')).toBe(planId);
  await f.drain();
  expect(await dropPlanAlreadyThere('one.zip')).toBeUndefined(); // ended: the file moved to processed/
  expect(await getPlan(plans, planId)).toMatchObject({
    status: 'succeeded',
    order: { stages: [['account']] },
    tables: [{ table: 'account', stage: 0, load: { status: 'succeeded', counts: { succeeded: 3 } } }],
  });
  expect(f.emulator.stats().recordsPerTable.account).toBe(3);
});

describe('a plan that cannot be prepared fails naming the file, and starts no load', () => {
  test.each([
    [
      'an unknown table',
      'unknown.zip',
      zipSync({ 'widgets.csv': csv([['name'], ['w']]), 'account.csv': csv(accounts) }),
      /'widgets\.csv'/,
    ],
    ['not a zip', 'broken.zip', strToU8('name\r\nnot a zip\r\n'), /not a zip archive/],
    ['not a workbook', 'broken.xlsx', strToU8('name\r\nnot a workbook\r\n'), /broken\.xlsx/],
    [
      'a password-protected workbook',
      'locked.xlsx',
      Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(504)]),
      /^plan file '_plans\/locked\.xlsx': .*password-protected/,
    ],
    ['a zip bomb', 'bomb.zip', zipSync({ 'account.csv': new Uint8Array(4 * 1024 * 1024) }), /'account\.csv'.*zip bomb/],
    [
      'two files for one table with conflicting profiles',
      'twice.zip',
      zipSync({
        'a.csv': csv([['name'], ['x']]),
        'b.csv': csv([['name'], ['y']]),
        'plan.json': strToU8(
          JSON.stringify({
            files: [
              { file: 'a.csv', table: 'account', operation: 'create' },
              { file: 'b.csv', table: 'account', operation: 'upsert', key: 'accountnumber' },
            ],
          }),
        ),
      }),
      /file 'a\.csv' and file 'b\.csv' are both for table account with different profiles/,
    ],
  ])('%s', async (_what, name, bytes, message) => {
    const loadsBefore = (await f.ctx.index.listJobs({ pageSize: 1000 })).items.filter((i) => i.kind === 'load').length;
    const planId = await dropPlan(name, bytes);
    const view = await getPlan(plans, planId);
    expect(view).toMatchObject({ status: 'failed', tables: [], links: { source: `incoming/failed/_plans/${name}` } });
    expect(view.message).toMatch(message);
    const loadsAfter = (await f.ctx.index.listJobs({ pageSize: 1000 })).items.filter((i) => i.kind === 'load').length;
    expect(loadsAfter).toBe(loadsBefore);
    expect(await f.drain()).toBe(0);
    expect(await planEvents(planId)).toEqual([expect.objectContaining({ kind: 'plan', outcome: 'failed' })]);
  });
});

test('an infrastructure error while preparing is thrown (the trigger retries), and the retry prepares at once', async () => {
  f.emulator.reset();
  const catalog = plans.catalog;
  plans.catalog = () => Promise.reject(new Error('EntityDefinitions answered 503'));
  try {
    await f.drop('_plans/retried.zip', Buffer.from(zipSync({ 'accounts.csv': csv(sheets.accounts) })));
    await expect(
      receiveDroppedFile(f.ctx, { container: 'incoming', table: '_plans', name: 'retried.zip' }),
    ).rejects.toThrow('503');
  } finally {
    plans.catalog = catalog;
  }
  const planId = await dropPlanAlreadyThere('retried.zip');
  await f.drain();
  expect(await getPlan(plans, planId!)).toMatchObject({ status: 'succeeded', counts: { succeeded: 3 } });
});

test('a table whose load fails outright stops the plan: no later stage starts, the plan names the table and file', async () => {
  f.emulator.reset();
  const badContacts = [
    ['lastname', 'nosuchcolumn', 'parentcustomerid@account'],
    ['X', 'y', "/accounts(accountnumber='A-1')"],
  ];
  const planId = await dropPlan('stops.zip', threeTables({ contacts: badContacts }));
  await f.drain();
  const view = await getPlan(plans, planId);
  expect(view.status).toBe('failed');
  expect(view.message).toMatch(/^table contact \(file 'contacts\.csv'\) failed: .*nosuchcolumn.*; not started: task$/);
  expect(view.tables.map((t) => [t.table, t.load?.status])).toEqual([
    ['account', 'succeeded'],
    ['contact', 'failed'],
    ['task', undefined],
  ]);
  expect(f.emulator.stats().recordsPerTable.task ?? 0).toBe(0);
});

test('a crash between the claim of a stage and the start of its loads: the sweep starts them, once', async () => {
  f.emulator.reset();
  const zip = zipSync({
    'contacts.csv': csv(contacts),
    'account.csv': csv(accounts),
    'plan.json': strToU8(JSON.stringify({ files: planFiles.slice(0, 2) })),
  });
  const hooks = f.ctx.planHooks;
  let planId: string;
  try {
    planId = await dropPlan('crash.zip', zip);
    // The process "dies" as stage 0 ends: nobody is told, and the next stage is claimed but not started.
    f.ctx.planHooks = { loadWritten: () => Promise.resolve() };
    await f.drain();
    await plans.store.mutate(planId, (p) => (p.stage === 0 ? { stage: 1 } : undefined));
  } finally {
    f.ctx.planHooks = hooks;
  }
  expect(await getPlan(plans, planId)).toMatchObject({
    status: 'running',
    stage: 1,
    tables: [{ table: 'account', load: { status: 'succeeded' } }, { table: 'contact' }],
  });
  expect((await getPlan(plans, planId)).tables[1]!.load).toBeUndefined();

  // Not stalled yet: the sweep leaves it alone.
  expect((await sweepPlans(plans)).advanced).not.toContain(planId);
  const realNow = f.ctx.now;
  f.ctx.now = () => realNow() + 10 * 60_000;
  try {
    // Two instances (each its own plan context on the same storage) and the sweep, at once: each load starts once.
    const other = createPlanContext(f.ctx, f.storage.table('loads'));
    const [swept] = await Promise.all([sweepPlans(plans), advancePlan(other, planId), advancePlan(other, planId)]);
    expect(swept.advanced).toContain(planId);
    await f.drain();
  } finally {
    f.ctx.now = realNow;
  }
  const view = await getPlan(plans, planId);
  expect(view).toMatchObject({ status: 'succeeded', counts: { total: 5, succeeded: 5 } });
  expect(f.emulator.stats().recordsPerTable).toMatchObject({ account: 3, contact: 2 });
  expect(await planEvents(planId)).toHaveLength(1);
  const loads = (await f.ctx.index.listJobs({ pageSize: 1000 })).items.filter(
    (i) => i.kind === 'load' && view.tables.some((t) => t.loadId === i.id),
  );
  expect(loads).toHaveLength(2);
});

test('an end event a crash left unpublished is published by the sweep, with the same eventId', async () => {
  f.emulator.reset();
  const planId = await dropPlan('outbox.zip', zipSync({ 'accounts.csv': csv(sheets.accounts) }));
  await f.drain();
  // The process "died" after the final write, before the event went out.
  await plans.store.mutate(planId, () => ({ eventPublished: false }));
  expect((await sweepPlans(plans)).announced).not.toContain(planId); // within the grace period: the writer's turn
  const realNow = f.ctx.now;
  f.ctx.now = () => realNow() + 60_000;
  try {
    expect((await sweepPlans(plans)).announced).toEqual([planId]);
    expect((await sweepPlans(plans)).announced).toEqual([]);
  } finally {
    f.ctx.now = realNow;
  }
  const events = (await f.events()).filter((e) => e.id === planId) as { eventId?: string }[];
  expect(events.map((e) => e.eventId)).toEqual([`${planId}:succeeded`, `${planId}:succeeded`]);
  expect(await plans.store.get(planId)).toMatchObject({ eventPublished: true });
});

describe('POST /api/plans and GET /api/plans/{id}', () => {
  test('a posted zip is recorded queued, then the blob trigger runs it as the same plan', async () => {
    const zip = zipSync({ 'account.csv': csv(sheets.accounts.map((r) => r.slice(1, 3))) });
    const accepted = await submitPlan(plans, { query: {}, contentType: 'application/zip', body: zip });
    expect(accepted).toEqual({ id: expect.any(String), statusUrl: `/api/plans/${accepted.id}` });
    expect(await getPlan(plans, accepted.id)).toMatchObject({
      status: 'queued',
      tables: [],
      file: `incoming/_plans/${accepted.id}.zip`,
    });
    expect(await dropPlanAlreadyThere(`${accepted.id}.zip`)).toBe(accepted.id);
    await f.drain();
    expect(await getPlan(plans, accepted.id)).toMatchObject({ status: 'succeeded', counts: { succeeded: 3 } });
  });

  test('?format= or the Content-Type says zip or workbook; anything else is 415', async () => {
    await expect(submitPlan(plans, { query: {}, contentType: 'text/csv', body: strToU8('a') })).rejects.toMatchObject({
      statusCode: 415,
      code: 'UnsupportedMediaType',
    });
    await expect(submitPlan(plans, { query: { shape: 'x' }, body: strToU8('a') })).rejects.toMatchObject({
      statusCode: 400,
      code: 'InvalidQuery',
    });
    await expect(submitPlan(plans, { query: { format: 'zip' }, body: new Uint8Array(0) })).rejects.toMatchObject({
      statusCode: 400,
      code: 'EmptyFile',
    });
  });

  test("POST /api/loads/_plans is refused: '_plans' is not a table but the plans' folder", async () => {
    await expect(
      submitLoad(f.ctx, { table: '_plans', query: {}, contentType: 'text/csv', body: strToU8('name\r\nx\r\n') }),
    ).rejects.toMatchObject({ statusCode: 400, code: 'InvalidTable', message: expect.stringContaining('/api/plans') });
  });

  test('an unknown plan is 404, a malformed id 400', async () => {
    await expect(getPlan(plans, '00000000-0000-0000-0000-000000000000')).rejects.toMatchObject({
      statusCode: 404,
      code: 'PlanNotFound',
    });
    await expect(getPlan(plans, 'no/such')).rejects.toMatchObject({ statusCode: 400, code: 'InvalidPlanId' });
  });
});

async function dropPlanAlreadyThere(name: string) {
  const result = await receiveDroppedFile(f.ctx, { container: 'incoming', table: '_plans', name });
  return result.kind === 'plan' ? result.planId : undefined;
}

test("files a plan staged under _plans/<planId>/ are the plan's to load, not a drop's", async () => {
  expect(
    await receiveDroppedFile(f.ctx, { container: 'incoming', table: '_plans', name: 'p-1/account/account.csv' }),
  ).toEqual({ kind: 'ignored', reason: 'a file staged by a plan (the plan loads it)' });
});
