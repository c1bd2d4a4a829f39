/**
 * Plans end to end (issue 15), through the local host (child process running dist/), Azurite and the emulator:
 * accounts (a third with a parent later in the same file, chains of parents, some with a primary contact),
 * contacts (parentcustomerid to accounts by accountnumber; the accounts' primarycontactid to contacts by
 * emailaddress1 closes the cycle) and tasks regarding accounts and contacts, posted as a zip and as an .xlsx
 * workbook, files and sheets in the wrong order, no profile anywhere. Every row ends in Dataverse exactly once with
 * every lookup bound (read back through the emulator's Web API), and the plan reports the order it chose; the same
 * with the host SIGKILLed mid-plan and restarted.
 */
import { QueueClient } from '@azure/storage-queue';
import ExcelJS from 'exceljs';
import { strToU8, zipSync } from 'fflate';
import { startLocalStack, type LocalStack } from '../../dev/host/localStack';
import { decodeQueueMessage } from '../../shared/events/jobEvents';
import type { PlanView } from '../../shared/planLoads/planApi';

jest.setTimeout(420_000);

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    files: ['dist/functions/load*.js', 'dist/functions/plans*.js'],
    blobScanIntervalMs: 300,
    // The SIGKILLed host keeps the sweeper's singleton lock until its 15 s lease runs out; the restarted one polls for it.
    listenerLockRecoveryPollingMs: 500,
    hostJson: {
      singleton: { listenerLockPeriod: '00:00:15' },
      extensions: { queues: { maxPollingInterval: '00:00:00.500' } },
    },
    env: { LOAD_SWEEP_SCHEDULE: '*/3 * * * * *', LOAD_STALL_SECONDS: '8', LOAD_CHUNK_SIZE: '50' },
    emulator: { latency: { baseMs: 2, perOperationMs: 0, perTable: {} } },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const n = 240;
/** Every third account names a parent 7 rows later in the file; the next one the row before it: chains of parents. */
function parentOf(i: number): number | undefined {
  if (i % 3 === 0) return i + 7 <= n ? i + 7 : undefined;
  if (i % 3 === 1 && i > 1) return i - 1;
  return undefined;
}
const primaryContactOf = (i: number) => (i % 4 === 0 ? i : undefined);
const email = (j: number) => `c${j}@example.com`;

const accountRows = () => [
  ['accountnumber', 'name', 'parentaccountid', 'primarycontactid'],
  ...Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    const parent = parentOf(i);
    const contact = primaryContactOf(i);
    return [`A-${i}`, `Account ${i}`, parent ? `A-${parent}` : '', contact ? email(contact) : ''];
  }),
];
const contactRows = () => [
  ['lastname', 'emailaddress1', 'parentcustomerid@account'],
  ...Array.from({ length: n }, (_, k) => [`Contact ${k + 1}`, email(k + 1), `A-${n - k}`]),
];
const taskRows = () => [
  ['subject', 'regardingobjectid@account', 'regardingobjectid@contact'],
  ...Array.from({ length: n }, (_, k) =>
    k % 2 === 0 ? [`Task ${k + 1}`, `A-${k + 1}`, ''] : [`Task ${k + 1}`, '', email(k + 1)],
  ),
];

const csv = (rows: string[][]) => strToU8(rows.map((r) => r.join(',')).join('\r\n') + '\r\n');
/** Files in the wrong order: tasks first, accounts last. */
const planZip = () =>
  Buffer.from(
    zipSync({ 'tasks.csv': csv(taskRows()), 'contacts.csv': csv(contactRows()), 'accounts.csv': csv(accountRows()) }),
  );

async function planWorkbook(): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  for (const [name, rows] of [
    ['Tasks', taskRows()],
    ['Contacts', contactRows()],
    ['Accounts', accountRows()],
  ] as const) {
    const sheet = workbook.addWorksheet(name);
    for (const row of rows) sheet.addRow(row.map((cell) => (cell === '' ? null : cell)));
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

async function postPlan(body: Buffer, contentType: string): Promise<string> {
  const response = await fetch(`${stack.api}/plans`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  if (response.status !== 202) throw new Error(`POST /plans answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

async function waitForPlan(id: string, onView?: (view: PlanView) => Promise<void>): Promise<PlanView> {
  const deadline = Date.now() + 360_000;
  let last: PlanView | undefined;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${stack.api}/plans/${id}`, { signal: AbortSignal.timeout(10_000) });
      if (response.ok) {
        last = (await response.json()) as PlanView;
        await onView?.(last);
        if (['succeeded', 'partiallySucceeded', 'failed'].includes(last.status)) return last;
      }
    } catch {
      // the host is down (killed, restarting): keep polling
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`plan ${id} did not end in time; last seen: ${JSON.stringify(last)}`);
}

async function all<T>(path: string): Promise<T[]> {
  const found: T[] = [];
  let next: string | undefined = `${stack.dataverse}${path}`;
  while (next) {
    const response = await fetch(next, { headers: { authorization: 'Bearer test', accept: 'application/json' } });
    if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
    const page = (await response.json()) as { value: T[]; '@odata.nextLink'?: string };
    found.push(...page.value);
    next = page['@odata.nextLink'];
  }
  return found;
}

function once<T>(rows: T[], keyOf: (row: T) => string): Map<string, T> {
  const byKey = new Map<string, T>();
  for (const row of rows) {
    expect(byKey.has(keyOf(row))).toBe(false);
    byKey.set(keyOf(row), row);
  }
  return byKey;
}

async function planEvents(id: string) {
  const queue = new QueueClient(stack.storage, 'job-events');
  const found: { eventId: string; kind: string; outcome: string }[] = [];
  const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 });
  for (const m of peekedMessageItems) {
    const event = decodeQueueMessage(m.messageText) as { id: string; eventId: string; kind: string; outcome: string };
    if (event.id === id) found.push(event);
  }
  return found;
}

async function runAndCheck(body: Buffer, contentType: string, options: { kill?: boolean } = {}) {
  stack.emulator!.reset();
  await new QueueClient(stack.storage, 'job-events').clearMessages();
  const id = await postPlan(body, contentType);
  let killed = false;
  const view = await waitForPlan(id, async (v) => {
    // Mid-plan: accounts written (waiting for their primary contacts), contacts loading.
    if (!options.kill || killed || (v.stage ?? 0) < 1) return;
    const contacts = v.tables.find((t) => t.table === 'contact')?.load;
    if (!contacts || contacts.chunks.done < 1) return;
    killed = true;
    await stack.restartHost({ hard: true });
  });
  expect(killed).toBe(options.kill === true);

  // The plan: its order and why, one load per table, counts adding up.
  expect(view).toMatchObject({
    status: 'succeeded',
    order: { stages: [['account'], ['contact'], ['task']] },
    counts: { total: 3 * n, succeeded: 3 * n, failed: 0, notProcessed: 0 },
  });
  expect(view.order!.deferred).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ table: 'account', attribute: 'primarycontactid', target: 'contact', reason: 'cycle' }),
      expect.objectContaining({ table: 'account', attribute: 'parentaccountid', target: 'account', reason: 'self' }),
    ]),
  );
  expect(view.order!.reasons.contact!.join(' ')).toContain('contact.parentcustomerid → account');
  expect(view.tables.map((t) => [t.table, t.stage, t.load?.status, t.load?.counts.succeeded])).toEqual(
    expect.arrayContaining([
      ['account', 0, 'succeeded', n],
      ['contact', 1, 'succeeded', n],
      ['task', 2, 'succeeded', n],
    ]),
  );
  expect(view.tables.find((t) => t.table === 'account')!.crossTableBinds).toEqual(['primarycontactid']);
  const summed = (key: 'total' | 'succeeded' | 'failed') =>
    view.tables.reduce((sum, t) => sum + (t.load?.counts[key] ?? 0), 0);
  expect([summed('total'), summed('succeeded'), summed('failed')]).toEqual([
    view.counts.total,
    view.counts.succeeded,
    view.counts.failed,
  ]);

  // Every row once, every lookup bound.
  type Account = {
    accountid: string;
    accountnumber: string;
    _parentaccountid_value: string | null;
    _primarycontactid_value: string | null;
  };
  const accounts = once(
    await all<Account>('accounts?$select=accountid,accountnumber,_parentaccountid_value,_primarycontactid_value'),
    (a) => a.accountnumber,
  );
  type Contact = { contactid: string; emailaddress1: string; _parentcustomerid_value: string | null };
  const contacts = once(
    await all<Contact>('contacts?$select=contactid,emailaddress1,_parentcustomerid_value'),
    (c) => c.emailaddress1,
  );
  type Task = { subject: string; _regardingobjectid_value: string | null };
  const tasks = once(await all<Task>('tasks?$select=subject,_regardingobjectid_value'), (t) => t.subject);
  expect([accounts.size, contacts.size, tasks.size]).toEqual([n, n, n]);
  for (let i = 1; i <= n; i++) {
    const account = accounts.get(`A-${i}`)!;
    const parent = parentOf(i);
    const contact = primaryContactOf(i);
    expect([i, account._parentaccountid_value]).toEqual([i, parent ? accounts.get(`A-${parent}`)!.accountid : null]);
    expect([i, account._primarycontactid_value]).toEqual([i, contact ? contacts.get(email(contact))!.contactid : null]);
    expect([i, contacts.get(email(i))!._parentcustomerid_value]).toEqual([
      i,
      accounts.get(`A-${n - i + 1}`)!.accountid,
    ]);
    const regarding = i % 2 === 1 ? accounts.get(`A-${i}`)!.accountid : contacts.get(email(i))!.contactid;
    expect([i, tasks.get(`Task ${i}`)!._regardingobjectid_value]).toEqual([i, regarding]);
  }

  // One end for the plan (an event may repeat after a kill, with the same eventId).
  const events = await planEvents(id);
  expect(new Set(events.map((e) => e.eventId))).toEqual(new Set([`${id}:succeeded`]));
  expect(events[0]).toMatchObject({ kind: 'plan', outcome: 'succeeded' });
  return view;
}

const zipType = 'application/zip';
const workbookType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

test('a zip, files in the wrong order: every row once, every lookup bound, the order reported', async () => {
  await runAndCheck(planZip(), zipType);
});

test('an .xlsx workbook, sheets in the wrong order: the same', async () => {
  await runAndCheck(await planWorkbook(), workbookType);
});

test('the host SIGKILLed mid-plan and restarted: tables done stay done, every row still once, every lookup bound', async () => {
  await runAndCheck(planZip(), zipType, { kill: true });
});
