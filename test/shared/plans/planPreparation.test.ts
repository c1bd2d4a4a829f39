/**
 * A plan prepared against the emulator's metadata (EntityDefinitions, ManyToOneRelationships): accounts with
 * parent accounts and primary contacts, contacts under accounts, tasks regarding both — as a zip and as a
 * workbook, files and sheets in the wrong order — gives accounts, then contacts, then tasks, with the
 * account ↔ contact cycle broken at account.primarycontactid and the reasons.
 */
import { Readable } from 'node:stream';
import { strToU8, zipSync } from 'fflate';
import { startEmulator, type EmulatorHandle } from '../../../dev/emulator/index';
import { createDataverseClient } from '../../../shared/dataverse/index';
import { createTableMetadataSource } from '../../../shared/loads/tableMetadataSource';
import { preparePlan, type PlanDependencies } from '../../../shared/plans/planPreparation';
import { readTableCatalog } from '../../../shared/plans/tableCatalogSource';
import { workbookBytes } from '../ingestion/workbookBytes';

let emulator: EmulatorHandle;
let deps: PlanDependencies;
beforeAll(async () => {
  emulator = await startEmulator({});
  const client = createDataverseClient({
    webApiUrl: emulator.webApiUrl,
    accessTokenSource: { getAccessToken: () => Promise.resolve('emulator-token') },
  });
  const metadata = createTableMetadataSource(client);
  deps = { catalog: await readTableCatalog(client), metadata: (t) => metadata.get(t) };
});
afterAll(async () => {
  await emulator?.close();
});

const accounts = [
  ['name', 'accountnumber', 'parentaccountid', 'primarycontactid'],
  ['Child', 'A-3', "/accounts(accountnumber='A-2')", ''],
  ['Middle', 'A-2', "/accounts(accountnumber='A-1')", ''],
  ['Root', 'A-1', '', "/contacts(emailaddress1='ada@example.com')"],
];
const contacts = [
  ['lastname', 'emailaddress1', 'parentcustomerid@account'],
  ['Lovelace', 'ada@example.com', "/accounts(accountnumber='A-1')"],
];
const tasks = [
  ['subject', 'regardingobjectid@account', 'regardingobjectid@contact'],
  ['Call', "/accounts(accountnumber='A-3')", ''],
  ['Write', '', "/contacts(emailaddress1='ada@example.com')"],
];
const csv = (rows: string[][]) => strToU8(rows.map((r) => r.join(',')).join('\n') + '\n');

function expectAccountsContactsTasks(plan: Awaited<ReturnType<typeof preparePlan>>) {
  expect(plan.order.stages).toEqual([['account'], ['contact'], ['task']]);
  expect(plan.order.deferred.map((d) => `${d.table}.${d.attribute}→${d.target} (${d.reason})`)).toEqual([
    'account.parentaccountid→account (self)',
    'account.primarycontactid→contact (cycle)',
  ]);
  expect(plan.order.reasons.task).toEqual([
    'after account, contact (task.regardingobjectid → account; task.regardingobjectid → contact)',
  ]);
}

test('a zip, files in the wrong order and named by entity set and logical names', async () => {
  const zip = zipSync({ 'tasks.csv': csv(tasks), 'contacts.csv': csv(contacts), 'account.csv': csv(accounts) });
  const plan = await preparePlan({ kind: 'zip', bytes: zip }, deps);
  expect(plan.tables.map((t) => [t.source.name, t.table, t.resolvedBy])).toEqual([
    ['account.csv', 'account', 'logical name'],
    ['contacts.csv', 'contact', 'entity set name'],
    ['tasks.csv', 'task', 'entity set name'],
  ]);
  expectAccountsContactsTasks(plan);
});

test('a workbook, one sheet per table in the wrong order; an empty sheet is not a table', async () => {
  const bytes = await workbookBytes([
    { name: 'tasks', rows: tasks },
    { name: 'Notes', rows: [] },
    { name: 'contact', rows: contacts },
    { name: 'accounts', rows: accounts },
  ]);
  const plan = await preparePlan({ kind: 'xlsx', source: Readable.from([bytes]) }, deps);
  expect(plan.tables.map((t) => [t.source.name, t.table])).toEqual([
    ['tasks', 'task'],
    ['contact', 'contact'],
    ['accounts', 'account'],
  ]);
  expectAccountsContactsTasks(plan);
});

test('plan.json order wins, by any table name', async () => {
  const zip = zipSync({
    'account.csv': csv(accounts),
    'contacts.csv': csv(contacts),
    'plan.json': strToU8(JSON.stringify({ order: ['contacts', 'account'] })),
  });
  const plan = await preparePlan({ kind: 'zip', bytes: zip }, deps);
  expect(plan.order.stages).toEqual([['contact'], ['account']]);
  expect(plan.order.deferred.map((d) => `${d.table}.${d.attribute} (${d.reason})`)).toEqual([
    'account.parentaccountid (self)',
    'contact.parentcustomerid (order)',
  ]);
});

test.each([
  [
    { 'acounts.csv': csv(accounts) },
    "file 'acounts.csv' matches no table: 'acounts' is not a table (did you mean 'account'?)",
  ],
  [{ 'account.csv': strToU8('') }, "file 'account.csv' of the plan: "],
  [{ 'account.parquet': strToU8('x') }, "file 'account.parquet' of the plan: .parquet files are not supported"],
])('bad plan %# fails naming the file', async (files, message) => {
  await expect(preparePlan({ kind: 'zip', bytes: zipSync(files) }, deps)).rejects.toThrow(message);
});
