/**
 * A staged sheet loads as its workbook would (Azurite + the emulator, the load engine): the same workbook loaded
 * sheet by sheet as single-sheet .xlsx files, and staged by stagePlan then loaded from its NDJSON, leaves the very
 * same records in Dataverse (upserts by alternate key: text, numbers, money, a boolean, a date, empty cells
 * skipped) and fails the same rows with the same messages (a value that isn't a number, an empty key cell).
 */
import { expect } from '@jest/globals';
import { Readable } from 'node:stream';
import { getLoad } from '../../../shared/loads/loadApi';
import { acceptLoad } from '../../../shared/loads/loadScan';
import { stagePlan } from '../../../shared/planLoads/planStaging';
import { preparePlan } from '../../../shared/plans/planPreparation';
import { readTableCatalog } from '../../../shared/plans/tableCatalogSource';
import { workbookBytes, type Sheet } from '../ingestion/workbookBytes';
import { startLoadFixture, type LoadFixture } from '../loads/loadFixture';

jest.setTimeout(120_000);

let f: LoadFixture;
beforeAll(async () => {
  f = await startLoadFixture();
});
afterAll(async () => {
  await f?.close();
});

const utc = (t: string) => new Date(`${t}Z`);
const sheets: Sheet[] = [
  {
    name: 'account',
    rows: [
      ['name', 'accountnumber', 'revenue', 'creditonhold', 'numberofemployees', 'address1_latitude', 'description'],
      ['Contoso', 'S-1', 1234.5, true, 12, 47.6062, 'first'],
      ['Fabrikam', 'S-2', 0.25, false, null, -33.86785, null],
      [],
      ['Northwind', 'S-3', null, null, 'many', null, '  '],
      ['No number', null, 5, true, 1, null, 'its key cell is empty'],
    ],
  },
  {
    name: 'contact',
    rows: [
      ['lastname', 'emailaddress1', 'birthdate', 'creditlimit'],
      ['Lovelace', 'ada@example.com', utc('1815-12-10T00:00:00'), 100],
      ['Hopper', 'grace@example.com', null, 2500.75],
    ],
    dateColumns: [3],
  },
];

async function records(set: string, select: string): Promise<Record<string, unknown>[]> {
  const response = await fetch(`${f.emulator.webApiUrl}${set}?$select=${select}`, {
    headers: { authorization: 'Bearer test', accept: 'application/json' },
  });
  const page = (await response.json()) as { value: Record<string, unknown>[] };
  const fields = select.split(',');
  return page.value
    .map((r) => Object.fromEntries(fields.map((k) => [k, r[k] ?? null])))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** Loads a blob as an ordinary load of its folder's table; the view and its failed rows' messages. */
async function load(name: string, content: Buffer) {
  await f.drop(name, content, { metadata: { operation: 'upsert' } });
  const started = await acceptLoad(f.ctx, { container: 'incoming', name });
  await f.drain();
  const id = 'record' in started ? started.record.id : '';
  const failed: string[] = [];
  for await (const r of f.ctx.store.listFailedRows(id)) failed.push(r.message);
  return { view: await getLoad(f.ctx, id), failed };
}

async function dataverseState() {
  return {
    accounts: await records(
      'accounts',
      'name,accountnumber,revenue,creditonhold,numberofemployees,address1_latitude,description',
    ),
    contacts: await records('contacts', 'lastname,emailaddress1,birthdate,creditlimit'),
  };
}

test('the same records and failed rows from the workbook loaded sheet by sheet and from its staged NDJSON', async () => {
  f.emulator.reset();
  const direct = [];
  for (const sheet of sheets)
    direct.push(await load(`${sheet.name}/direct.xlsx`, await workbookBytes([{ ...sheet, name: 'Sheet1' }])));
  const fromWorkbook = await dataverseState();

  f.emulator.reset();
  const bytes = await workbookBytes(sheets);
  const prepared = await preparePlan(
    { kind: 'xlsx', source: Readable.from([bytes]) },
    { catalog: await readTableCatalog(f.app.dataverse.client), metadata: (t) => f.ctx.metadata.get(t) },
  );
  const staged = await stagePlan(
    { planId: 'same', container: 'incoming', source: { kind: 'xlsx', read: () => Readable.from([bytes]) }, prepared },
    { blobs: f.ctx.blobs },
  );
  const fromStaged = [];
  for (const s of staged) {
    const ndjson = await f.ctx.blobs.readText('incoming', s.blobName);
    fromStaged.push(await load(`${s.table}/staged.ndjson`, Buffer.from(ndjson!, 'utf8')));
  }
  const fromNdjson = await dataverseState();

  expect(fromWorkbook.accounts).toHaveLength(2); // Northwind fails ('many' employees), so does the empty key
  expect(direct[0]!.failed).toEqual([
    expect.stringMatching(/row 3, column 'numberofemployees'/),
    expect.stringMatching(/row 4, column 'accountnumber': the key column is empty/),
  ]);
  expect(fromWorkbook.contacts).toHaveLength(2);
  expect(fromWorkbook.accounts[0]).toMatchObject({ name: 'Contoso', revenue: 1234.5, creditonhold: true });
  expect(fromWorkbook.contacts.map((c) => c.birthdate)).toContain('1815-12-10');
  expect(fromNdjson).toEqual(fromWorkbook);
  expect(fromStaged.map((l) => [l.view.counts, l.failed])).toEqual(direct.map((l) => [l.view.counts, l.failed]));
});
