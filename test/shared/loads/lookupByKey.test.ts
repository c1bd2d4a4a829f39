/**
 * Lookups bound by the target's alternate key without any profile (issue 15; shared/ingestion/lookupKeys.ts), over
 * real parts (Azurite, the emulator over HTTP): the metadata reads the targets' keys, accounts whose
 * parentaccountid holds accountnumber values (parents later in the file and in other chunks: the second pass)
 * and contacts whose parentcustomerid@account holds accountnumber values all end bound, read back through the
 * emulator's Web API (tasks regarding both too); a plain parentcustomerid column, whose two targets both have a key, fails its rows naming
 * the candidates.
 */
import { getLoad } from '../../../shared/loads/loadApi';
import { acceptLoad } from '../../../shared/loads/loadScan';
import type { FailedRowRecord } from '../../../shared/loads/loadRecord';
import { startLoadFixture, type LoadFixture } from './loadFixture';

jest.setTimeout(120_000);

let f: LoadFixture;
beforeAll(async () => {
  f = await startLoadFixture({ chunkSize: 4 });
});
afterAll(async () => {
  await f?.close();
});

async function webApi<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(`${f.emulator.webApiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: 'Bearer test', accept: 'application/json', 'content-type': 'application/json' },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  if (!response.ok)
    throw new Error(`${init.method ?? 'GET'} ${path} answered ${response.status}: ${await response.text()}`);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

async function load(name: string, content: string) {
  await f.drop(name, content);
  const started = await acceptLoad(f.ctx, { container: 'incoming', name });
  await f.drain();
  const id = 'record' in started ? started.record.id : '';
  const failed: FailedRowRecord[] = [];
  for await (const r of f.ctx.store.listFailedRows(id)) failed.push(r);
  return { id, view: await getLoad(f.ctx, id), record: await f.ctx.store.get(id), failed };
}

const csv = (lines: string[]) => lines.join('\r\n') + '\r\n';
/** An account created before the load, named by id in the file (a column mixing ids and key values). */
const existing = { accountid: '5e0c5f51-0000-4000-8000-0000000000aa', accountnumber: 'Z-0', name: 'Existing' };

test('the metadata carries the targets’ alternate keys (EntityDefinitions … $expand=Keys)', async () => {
  const contact = await f.ctx.metadata.get('contact');
  expect(
    contact.attributes.parentcustomerid!.lookupTargets!.map((t) => [t.table, t.keys?.map((k) => k.attributes)]),
  ).toEqual([
    ['account', [['accountnumber']]],
    ['contact', [['emailaddress1']]],
  ]);
});

test('accounts and contacts bind every lookup by accountnumber with no profile, parents later in the file too', async () => {
  f.emulator.reset();
  await webApi('accounts', { method: 'POST', body: existing });
  // A-1 → A-2 → A-3 (a chain of three, each parent later in the file); A-5 → A-1 (earlier, another chunk);
  // A-6 → A-7 (next row, same chunk); A-7 → Z-0 by id; A-9 → A-12 (a later chunk).
  const parents: Record<number, string> = {
    1: 'A-2',
    2: 'A-3',
    5: 'A-1',
    6: 'A-7',
    7: existing.accountid.toUpperCase(),
    9: 'A-12',
  };
  const accountRows = ['accountnumber,name,parentaccountid'];
  for (let i = 1; i <= 12; i++) accountRows.push(`A-${i},Account ${i},${parents[i] ?? ''}`);
  const accounts = await load('account/by-key.csv', csv(accountRows));
  expect(accounts.failed).toEqual([]);
  expect(accounts.view).toMatchObject({ status: 'succeeded', counts: { total: 12, succeeded: 12, failed: 0 } });
  expect(accounts.record?.plan?.inFileBinds).toBe(true); // the second pass picked the lookup up on its own

  type Account = { accountid: string; accountnumber: string; _parentaccountid_value: string | null };
  const stored = (await webApi<{ value: Account[] }>('accounts?$select=accountid,accountnumber,_parentaccountid_value'))
    .value;
  expect(stored).toHaveLength(13);
  const idOf = new Map(stored.map((a) => [a.accountnumber, a.accountid]));
  for (let i = 1; i <= 12; i++) {
    const parent = parents[i];
    const expected = parent === undefined ? null : parent.startsWith('A-') ? idOf.get(parent)! : existing.accountid;
    expect([i, stored.find((a) => a.accountnumber === `A-${i}`)!._parentaccountid_value]).toEqual([i, expected]);
  }

  // Contacts: parentcustomerid@account names the table (account and contact both have a key of one column).
  const contactRows = ['lastname,emailaddress1,parentcustomerid@account'];
  for (let i = 1; i <= 6; i++) contactRows.push(`Contact ${i},c${i}@example.com,A-${2 * i}`);
  const contacts = await load('contact/by-key.csv', csv(contactRows));
  expect(contacts.failed).toEqual([]);
  expect(contacts.view).toMatchObject({ status: 'succeeded', counts: { total: 6, succeeded: 6 } });
  type Contact = { emailaddress1: string; _parentcustomerid_value: string | null };
  const people = (await webApi<{ value: Contact[] }>('contacts?$select=emailaddress1,_parentcustomerid_value')).value;
  expect(people).toHaveLength(6);
  for (let i = 1; i <= 6; i++)
    expect(people.find((c) => c.emailaddress1 === `c${i}@example.com`)?._parentcustomerid_value).toBe(
      idOf.get(`A-${2 * i}`),
    );

  // Tasks regarding accounts (accountnumber) and contacts (emailaddress1), one column per target.
  const tasks = await load(
    'task/by-key.csv',
    csv(['subject,regardingobjectid@account,regardingobjectid@contact', 'T-1,A-3,', 'T-2,,c2@example.com']),
  );
  expect(tasks.failed).toEqual([]);
  expect(tasks.view).toMatchObject({ status: 'succeeded', counts: { total: 2, succeeded: 2 } });
  type Task = { subject: string; _regardingobjectid_value: string | null };
  const stored2 = (await webApi<{ value: Task[] }>('tasks?$select=subject,_regardingobjectid_value')).value;
  const contactId = (
    await webApi<{ value: { contactid: string }[] }>(
      `contacts?$select=contactid&$filter=emailaddress1 eq 'c2@example.com'`,
    )
  ).value[0]!.contactid;
  expect(Object.fromEntries(stored2.map((t) => [t.subject, t._regardingobjectid_value]))).toEqual({
    'T-1': idOf.get('A-3'),
    'T-2': contactId,
  });
});

test('a plain parentcustomerid column of key values fails its rows, naming the column, the candidate tables and keys', async () => {
  f.emulator.reset();
  await webApi('accounts', { method: 'POST', body: existing });
  const result = await load(
    'contact/plain.csv',
    csv(['lastname,parentcustomerid', 'One,Z-0', `Two,account:${existing.accountid}`]),
  );
  expect(result.view).toMatchObject({ status: 'partiallySucceeded', counts: { total: 2, succeeded: 1, failed: 1 } });
  expect(result.failed.map((r) => [r.rowNumber, r.column, r.value])).toEqual([[1, 'parentcustomerid', 'Z-0']]);
  expect(result.failed[0]!.message).toContain(
    "row 1, column 'parentcustomerid': 'Z-0' is not a GUID, and parentcustomerid can point at account (key accountnumber) or contact (key emailaddress1): name the table with 'parentcustomerid@<table>' columns, a 'parentcustomerid.type' column, or lookups.parentcustomerid.table and .by in the load profile",
  );
  const people = (
    await webApi<{ value: { lastname: string; _parentcustomerid_value: string | null }[] }>(
      'contacts?$select=lastname,_parentcustomerid_value',
    )
  ).value;
  expect(people).toEqual([expect.objectContaining({ lastname: 'Two', _parentcustomerid_value: existing.accountid })]);
});

test('a key value that matches no record fails its row, naming the column, the key and the value', async () => {
  f.emulator.reset();
  const result = await load('account/missing.csv', csv(['accountnumber,name,parentaccountid', 'M-1,One,M-404']));
  expect(result.view).toMatchObject({ status: 'failed', counts: { total: 1, succeeded: 0, failed: 1 } });
  expect(result.failed.map((r) => [r.rowNumber, r.column, r.value])).toEqual([[1, 'parentaccountid', 'M-404']]);
  expect(result.failed[0]!.message).toContain(
    "row 1, column 'parentaccountid' (parentaccountid → account by accountnumber): no account with accountnumber 'M-404'",
  );
});
