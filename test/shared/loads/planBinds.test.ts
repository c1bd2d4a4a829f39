/**
 * Cross-table binds of a plan over real parts (Azurite, the emulator over HTTP; shared/loads/planBinds.ts): the
 * cycle account.primarycontactid ↔ contact.parentcustomerid broken as the plan engine breaks it. Accounts load
 * without their primary contact and wait; contacts load (their parent account bound at create); releasePlanBinds
 * binds every account's primary contact, in-file parents in the same pass. The plan engine isn't here: the tests
 * record the load as it would (`crossTableBinds` on a queued record, the blob naming the load id).
 */
import { odata } from '@azure/data-tables';
import { getLoad } from '../../../shared/loads/loadApi';
import { acceptLoad } from '../../../shared/loads/loadScan';
import { processChunk } from '../../../shared/loads/chunkWorker';
import { releasePlanBinds } from '../../../shared/loads/planBinds';
import type { PendingBind } from '../../../shared/loads/inFileBinds';
import { runBindPass } from '../../../shared/loads/bindPass';
import { sweepLoads } from '../../../shared/loads/loadSweeper';
import { isTerminal, newLoadRecord, type FailedRowRecord, type LoadRecord } from '../../../shared/loads/loadRecord';
import { names, startLoadFixture, type LoadFixture } from './loadFixture';

jest.setTimeout(120_000);

let f: LoadFixture;
const written: string[] = [];
beforeAll(async () => {
  f = await startLoadFixture({ chunkSize: 5 });
  f.ctx.planHooks = {
    // Told when a load of a plan waits for its binds (its end, also told, is not what these tests look at).
    loadWritten: (record) => {
      if (!isTerminal(record)) written.push(record.id);
      return Promise.resolve();
    },
  };
});
afterAll(async () => {
  await f?.close();
});
beforeEach(() => {
  f.emulator.reset();
  written.length = 0;
});

async function get<T>(path: string): Promise<T[]> {
  const response = await fetch(`${f.emulator.webApiUrl}${path}`, {
    headers: { authorization: 'Bearer test', accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { value: T[] }).value;
}

interface Account {
  accountid: string;
  accountnumber: string;
  _primarycontactid_value: string | null;
  _parentaccountid_value: string | null;
}
const accounts = () =>
  get<Account>('accounts?$select=accountid,accountnumber,_primarycontactid_value,_parentaccountid_value');
const contacts = () =>
  get<{ contactid: string; emailaddress1: string; _parentcustomerid_value: string | null }>(
    'contacts?$select=contactid,emailaddress1,_parentcustomerid_value',
  );

/** The plan engine's part: the load recorded with its cross-table binds before its file is dropped. */
async function dropPlanLoad(
  id: string,
  name: string,
  content: string,
  crossTableBinds?: string[],
): Promise<LoadRecord | undefined> {
  const at = new Date().toISOString();
  await f.ctx.store.createIfAbsent({
    ...newLoadRecord(
      { id, status: 'queued', table: name.split('/')[0]!, container: 'incoming', blobName: name, source: 'blob' },
      at,
    ),
    ...(crossTableBinds ? { crossTableBinds, planId: 'plan-1' } : {}),
  });
  await f.drop(name, content, { metadata: { loadid: id } });
  await acceptLoad(f.ctx, { container: 'incoming', name });
  await f.drain();
  return f.ctx.store.get(id);
}

const rows = 12;
const email = (i: number) => (i === 9 ? `c+${i}@example.com` : `c${i}@example.com`);
/** Row 3 has no primary contact, rows 7 and 10 name contacts nobody has; row 9's key holds '+' (no key URL carries it). */
const contactOf = (i: number) =>
  i === 3 ? '' : i === 7 ? 'nobody@example.com' : i === 10 ? 'ghost@example.com' : email(i);
const unmatched = (i: number) => i === 7 || i === 10;
/** Rows 2, 4 and 10 name a parent account later in the file (an in-file bind, bound in the same pass). */
const parentOf = (i: number) => (i === 2 ? 'A-8' : i === 4 ? 'A-11' : i === 10 ? 'A-12' : '');

function accountsFile(): string {
  const lines = ['accountnumber,name,primarycontactid,parentaccountid'];
  for (let i = 1; i <= rows; i++) lines.push(`A-${i},Account ${i},${contactOf(i)},${parentOf(i)}`);
  return lines.join('\r\n') + '\r\n';
}
function contactsFile(): string {
  const lines = ['emailaddress1,lastname,parentcustomerid'];
  for (let i = 1; i <= rows; i++) if (i !== 7) lines.push(`${email(i)},Contact ${i},A-${i}`);
  return lines.join('\r\n') + '\r\n';
}

const accountLookups = {
  primarycontactid: { by: 'emailaddress1' },
  parentaccountid: { attribute: 'parentaccountid', by: 'accountnumber' },
};

async function loadContacts(id: string): Promise<void> {
  await f.drop(
    'contact/_profile.json',
    JSON.stringify({ lookups: { parentcustomerid: { table: 'account', by: 'accountnumber' } } }),
  );
  const record = await dropPlanLoad(id, `contact/${id}.csv`, contactsFile());
  expect(record).toMatchObject({ status: 'succeeded', succeeded: rows - 1 });
}

async function failedRows(loadId: string): Promise<FailedRowRecord[]> {
  const found: FailedRowRecord[] = [];
  for await (const r of f.ctx.store.listFailedRows(loadId)) found.push(r);
  return found;
}

const pendingBinds = (loadId: string) => f.ctx.inFileBinds!.listPending(loadId);

/** Removes what a chunk kept of its pending binds (its `bind-chunk-<chunk>` entities), as if never written. */
async function forgetChunkBinds(loadId: string, chunkIndex: number): Promise<void> {
  const prefix = `bind-chunk-${String(chunkIndex).padStart(6, '0')}`;
  const table = f.storage.table(names.loadsTable);
  const filter = odata`PartitionKey eq ${loadId} and RowKey ge ${prefix} and RowKey lt ${`${prefix}.`}`;
  const keys: string[] = [];
  for await (const e of table.listEntities({ queryOptions: { filter } })) keys.push(e.rowKey!);
  expect(keys.length).toBeGreaterThan(1); // the part count and at least one part
  for (const key of keys) await table.deleteEntity(loadId, key);
}

/** Every account bound as the files say: its contact by e-mail, its parent by number (rows 7 and 10: no contact). */
async function expectBound(): Promise<void> {
  const stored = await accounts();
  expect(stored).toHaveLength(rows);
  const byNumber = new Map(stored.map((a) => [a.accountnumber, a]));
  const contactId = new Map((await contacts()).map((c) => [c.emailaddress1, c.contactid]));
  for (let i = 1; i <= rows; i++) {
    const account = byNumber.get(`A-${i}`)!;
    const contact = i === 3 || unmatched(i) ? null : contactId.get(email(i))!;
    const parent = parentOf(i) ? byNumber.get(parentOf(i))!.accountid : null;
    expect([i, account._primarycontactid_value, account._parentaccountid_value]).toEqual([i, contact, parent]);
  }
}

describe.each([
  { mode: 'CreateMultiple', profile: { operation: 'create', executionMode: 'bulk' } },
  { mode: '$batch creates', profile: { operation: 'create', executionMode: 'batch' } },
  { mode: 'UpsertMultiple', profile: { operation: 'upsert', alternateKey: 'accountnumber', executionMode: 'bulk' } },
  { mode: '$batch upserts', profile: { operation: 'upsert', alternateKey: 'accountnumber', executionMode: 'batch' } },
])('a cycle broken by the plan, accounts by $mode', ({ profile }) => {
  test('accounts wait without their primary contact; released after the contacts, every one is bound, once', async () => {
    const accountsId = `accounts-${profile.operation}-${profile.executionMode}`;
    await f.drop('account/_profile.json', JSON.stringify({ ...profile, lookups: accountLookups }));
    const waiting = await dropPlanLoad(accountsId, `account/${accountsId}.csv`, accountsFile(), ['primarycontactid']);

    // Complete, not ended: the plan is told, the source stays where it is, no account has its primary contact yet.
    expect(waiting).toMatchObject({ status: 'running', succeeded: rows, failed: 0, total: rows });
    expect(waiting?.plan?.crossTableBinds).toEqual(['primarycontactid']);
    expect(written).toContain(accountsId);
    expect(await getLoad(f.ctx, accountsId)).toMatchObject({ status: 'running', waiting: 'plan binds' });
    expect((await accounts()).map((a) => a._primarycontactid_value)).toEqual(Array(rows).fill(null));
    expect(await pendingBinds(accountsId)).toHaveLength(rows - 1);

    await loadContacts(`contacts-${accountsId}`);
    const accountIds = new Map((await accounts()).map((a) => [a.accountnumber, a.accountid]));
    for (const c of await contacts()) expect(c._parentcustomerid_value).toBeTruthy();
    expect(accountIds.size).toBe(rows);

    // The plan's last stage is written: it releases the accounts. A crash before the pass is marked done re-runs it.
    const store = f.ctx.inFileBinds!;
    const completePass = store.completePass.bind(store);
    let crashes = 1;
    store.completePass = (...args) =>
      crashes-- > 0 ? Promise.reject(new Error('host killed')) : completePass(...args);
    try {
      await expect(releasePlanBinds(f.ctx, accountsId)).rejects.toThrow('host killed');
      expect(await f.ctx.store.get(accountsId)).toMatchObject({ status: 'running', planBindsReleased: true });
      await releasePlanBinds(f.ctx, accountsId);
    } finally {
      store.completePass = completePass;
    }
    const ended = await f.ctx.store.get(accountsId);
    expect(ended).toMatchObject({ status: 'partiallySucceeded', succeeded: rows - 2, failed: 2 });
    await runBindPass(f.ctx, ended!);
    await releasePlanBinds(f.ctx, accountsId);
    expect(await getLoad(f.ctx, accountsId)).toMatchObject({
      status: 'partiallySucceeded',
      counts: { total: rows, succeeded: rows - 2, failed: 2 },
    });

    const failed = await failedRows(accountsId);
    expect(failed.map((r) => [r.rowNumber, r.code, r.column, r.value])).toEqual([
      [7, 'LookupNotBound', 'primarycontactid', 'nobody@example.com'],
      [10, 'LookupNotBound', 'primarycontactid', 'ghost@example.com'],
    ]);
    expect(failed[0]!.message).toBe(
      "row 7, column 'primarycontactid': 'nobody@example.com' matches no row of the plan or of Dataverse, so the lookup was not bound (the row was created without it)",
    );
    // Row 10's parent (in-file) and contact (cross-table) went in one PATCH: tried again apart, the parent is bound.
    expect(failed[1]!.message).toBe(
      "row 10, column 'primarycontactid': 'ghost@example.com' matches no row of the plan or of Dataverse, so the lookup was not bound (the row was created without it)",
    );
    expect(failed[0]!.dataverseMessage).toBeTruthy();
    // The same accounts, never a duplicate: every one bound as its row says.
    expect(new Map((await accounts()).map((a) => [a.accountnumber, a.accountid]))).toEqual(accountIds);
    await expectBound();
  });
});

test('a chunk retried writes the same bind entities, and the binds stay right', async () => {
  const id = 'accounts-retried-chunk';
  await f.drop('account/_profile.json', JSON.stringify({ operation: 'create', lookups: accountLookups }));
  const at = new Date().toISOString();
  await f.ctx.store.createIfAbsent({
    ...newLoadRecord(
      { id, status: 'queued', table: 'account', container: 'incoming', blobName: `account/${id}.csv`, source: 'blob' },
      at,
    ),
    crossTableBinds: ['primarycontactid'],
  });
  await f.drop(`account/${id}.csv`, accountsFile(), { metadata: { loadid: id } });
  // The first delivery of chunk 1 writes its rows and their bind entities, then its host dies before completing.
  const completeChunk = f.ctx.store.completeChunk.bind(f.ctx.store);
  let crashes = 1;
  f.ctx.store.completeChunk = (loadId, chunkIndex, ...rest) =>
    chunkIndex === 1 && crashes-- > 0
      ? Promise.reject(new Error('host killed'))
      : completeChunk(loadId, chunkIndex, ...rest);
  try {
    await acceptLoad(f.ctx, { container: 'incoming', name: `account/${id}.csv` });
    await expect(f.drain()).rejects.toThrow('host killed');
  } finally {
    f.ctx.store.completeChunk = completeChunk;
    await f.storage.queueService.getQueueClient(names.chunkQueue).clearMessages();
  }
  const ofChunk = (binds: PendingBind[], chunkIndex: number) => binds.filter((b) => b.chunkIndex === chunkIndex);
  // What the first delivery of chunk 1 wrote, then gone, so what the second writes is compared with it.
  const first = ofChunk(await pendingBinds(id), 1);
  expect(first).toHaveLength(5);
  await forgetChunkBinds(id, 1);
  expect(ofChunk(await pendingBinds(id), 1)).toEqual([]);

  // The redeliveries: chunk 1 again (its rows found created by their ids), then whatever the crash left.
  for (const chunkIndex of [0, 1, 2]) {
    const message = await f.ctx.store.getPlan(id, chunkIndex);
    await processChunk(f.ctx, message!, { attempt: 2, maxAttempts: 5 });
  }
  expect(ofChunk(await pendingBinds(id), 1)).toEqual(first);
  expect(await f.ctx.store.get(id)).toMatchObject({ status: 'running', succeeded: rows, failed: 0 });

  await loadContacts(`contacts-${id}`);
  await releasePlanBinds(f.ctx, id);
  expect(await f.ctx.store.get(id)).toMatchObject({ status: 'partiallySucceeded', succeeded: rows - 2, failed: 2 });
  await expectBound();
});

test('a load without crossTableBinds is as before: bound at create, no bind entities, no wait, the plan not told', async () => {
  const people = ['emailaddress1,lastname', 'c1@example.com,One', 'c+9@example.com,Nine'];
  await f.drop('contact/_profile.json', '{}');
  expect(
    await dropPlanLoad('contacts-first', 'contact/contacts-first.csv', people.join('\r\n') + '\r\n'),
  ).toMatchObject({
    status: 'succeeded',
    succeeded: 2,
  });
  await f.drop('account/_profile.json', JSON.stringify({ lookups: { primarycontactid: { by: 'emailaddress1' } } }));
  const id = 'accounts-plain';
  const lines = [
    'accountnumber,name,primarycontactid',
    'P-1,One,c1@example.com',
    'P-2,Two,c+9@example.com',
    'P-3,Three,',
  ];
  const record = await dropPlanLoad(id, `account/${id}.csv`, lines.join('\r\n') + '\r\n');
  expect(record).toMatchObject({ status: 'succeeded', succeeded: 3 });
  expect(record?.plan?.crossTableBinds).toBeUndefined();
  expect(record?.crossTableBinds).toBeUndefined();
  expect(written).toEqual([]);
  expect(await pendingBinds(id)).toEqual([]);
  const contactId = new Map((await contacts()).map((c) => [c.emailaddress1, c.contactid]));
  const primary = new Map((await accounts()).map((a) => [a.accountnumber, a._primarycontactid_value]));
  expect(primary).toEqual(
    new Map([
      ['P-1', contactId.get('c1@example.com')],
      ['P-2', contactId.get('c+9@example.com')],
      ['P-3', null],
    ]),
  );
});

test('the other side of the cycle: contacts wait for a polymorphic lookup named by its attribute (parentcustomerid@account)', async () => {
  const contactsId = 'contacts-waiting';
  await f.drop(
    'contact/_profile.json',
    JSON.stringify({ lookups: { parentcustomerid: { keys: { account: 'accountnumber' } } } }),
  );
  const people = ['emailaddress1,lastname,parentcustomerid@account'];
  for (let i = 1; i <= 6; i++) people.push(`${email(i)},Contact ${i},${i === 5 ? 'A-99' : `A-${i}`}`);
  const waiting = await dropPlanLoad(contactsId, `contact/${contactsId}.csv`, people.join('\r\n') + '\r\n', [
    'parentcustomerid',
  ]);
  expect(waiting).toMatchObject({ status: 'running', succeeded: 6 });
  expect(written).toEqual([contactsId]);
  expect((await contacts()).map((c) => c._parentcustomerid_value)).toEqual(Array(6).fill(null));
  // The sweeper finds it idle: it tells the plan again (whose advance a crash may have lost), and doesn't end it.
  const realNow = f.ctx.now;
  f.ctx.now = () => realNow() + f.ctx.stallMs + 1;
  try {
    const report = await sweepLoads(f.ctx);
    expect(report.finalized).not.toContain(contactsId);
    expect(report.requeuedChunks.filter((c) => c.loadId === contactsId)).toEqual([]);
  } finally {
    f.ctx.now = realNow;
  }
  expect(written).toEqual([contactsId, contactsId]);
  expect(await f.ctx.store.get(contactsId)).toMatchObject({ status: 'running', succeeded: 6 });

  // The accounts, their primary contacts bound at create (the contacts exist): an ordinary load.
  await f.drop('account/_profile.json', JSON.stringify({ lookups: { primarycontactid: { by: 'emailaddress1' } } }));
  const lines = ['accountnumber,name,primarycontactid'];
  for (let i = 1; i <= 6; i++) lines.push(`A-${i},Account ${i},${email(i)}`);
  expect(await dropPlanLoad('accounts-after', 'account/accounts-after.csv', lines.join('\r\n') + '\r\n')).toMatchObject(
    {
      status: 'succeeded',
      succeeded: 6,
    },
  );

  await releasePlanBinds(f.ctx, contactsId);
  expect(await f.ctx.store.get(contactsId)).toMatchObject({ status: 'partiallySucceeded', succeeded: 5, failed: 1 });
  const failed = await failedRows(contactsId);
  expect(failed.map((r) => [r.rowNumber, r.code, r.column, r.value])).toEqual([
    [5, 'LookupNotBound', 'parentcustomerid@account', 'A-99'],
  ]);
  const accountOf = new Map((await accounts()).map((a) => [a.accountnumber, a.accountid]));
  const parents = new Map((await contacts()).map((c) => [c.emailaddress1, c._parentcustomerid_value]));
  for (let i = 1; i <= 6; i++)
    expect([i, parents.get(email(i))]).toEqual([i, i === 5 ? null : accountOf.get(`A-${i}`)]);
  const primaries = (await accounts()).map((a) => a._primarycontactid_value);
  expect(primaries.every((p) => p !== null)).toBe(true);
});

test('a row too long for a Table property with its binds is kept cut, and its failed bind still reported', async () => {
  const id = 'accounts-long-row';
  await f.drop(
    'account/_profile.json',
    JSON.stringify({
      operation: 'create',
      columns: { notes: null },
      lookups: { primarycontactid: { by: 'emailaddress1' } },
    }),
  );
  const lines = ['accountnumber,name,notes,primarycontactid', `L-1,Long,"${'x""\\'.repeat(6_000)}",nobody@example.com`];
  const waiting = await dropPlanLoad(id, `account/${id}.csv`, lines.join('\r\n') + '\r\n', ['primarycontactid']);
  expect(waiting).toMatchObject({ status: 'running', succeeded: 1 });
  await releasePlanBinds(f.ctx, id);
  expect(await f.ctx.store.get(id)).toMatchObject({ status: 'failed', succeeded: 0, failed: 1 });
  const [failed] = await failedRows(id);
  expect(failed).toMatchObject({ rowNumber: 1, code: 'LookupNotBound', value: 'nobody@example.com' });
  expect(failed!.rowJson).toContain('(row cut: ');
});
