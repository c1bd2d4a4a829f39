/**
 * stagePlan against Azurite, with plans prepared on the emulator's metadata: zip entries land byte for byte
 * (inflated as they stream, also from a streaming zip writer's data-descriptor entries), plan.json's profile
 * lands beside its file, sheets land as NDJSON that the NDJSON reader reads back as the very rows the single-file
 * .xlsx load reads; a bad cell or an entry inflating past (or short of) its declared size fails naming it and
 * commits nothing; a 200k-row sheet stages with the heap flat in rows.
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import ExcelJS from 'exceljs';
import { strToU8, Zip, ZipDeflate, zipSync } from 'fflate';
import { startAzurite, type AzuriteHandle } from '../../../dev/azurite';
import { startEmulator, type EmulatorHandle } from '../../../dev/emulator/index';
import { createDataverseClient } from '../../../shared/dataverse/index';
import { openFile } from '../../../shared/ingestion/readers/fileReader';
import type { SourceRowResult } from '../../../shared/ingestion/readers/readerTypes';
import { createBlobSource, type BlobSource } from '../../../shared/loads/blobSource';
import { createTableMetadataSource } from '../../../shared/loads/tableMetadataSource';
import { stagePlan } from '../../../shared/planLoads/planStaging';
import { parsePlanFile } from '../../../shared/plans/planDocument';
import { preparePlan, type PlanDependencies } from '../../../shared/plans/planPreparation';
import { readTableCatalog } from '../../../shared/plans/tableCatalogSource';
import { workbookBytes } from '../ingestion/workbookBytes';

jest.setTimeout(120_000);

const container = 'incoming';
let azurite: AzuriteHandle;
let emulator: EmulatorHandle;
let deps: PlanDependencies;
let blobs: BlobSource;
let incoming: ContainerClient;

beforeAll(async () => {
  [azurite, emulator] = await Promise.all([startAzurite(), startEmulator({})]);
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  incoming = service.getContainerClient(container);
  await incoming.createIfNotExists();
  blobs = createBlobSource(service);
  const client = createDataverseClient({
    webApiUrl: emulator.webApiUrl,
    accessTokenSource: { getAccessToken: () => Promise.resolve('emulator-token') },
  });
  const metadata = createTableMetadataSource(client);
  deps = { catalog: await readTableCatalog(client), metadata: (t) => metadata.get(t) };
});
afterAll(async () => {
  await emulator?.close();
  await azurite?.stop();
});

const text = async (name: string) => (await incoming.getBlockBlobClient(name).downloadToBuffer()).toString('utf8');
const exists = (name: string) => incoming.getBlockBlobClient(name).exists();
const listed = async (prefix: string) => {
  const names: string[] = [];
  for await (const blob of incoming.listBlobsFlat({ prefix })) names.push(blob.name);
  return names.sort();
};

async function rowsOf(source: AsyncIterable<Buffer | Uint8Array>, options: { fileName: string; sheet?: string }) {
  const file = await openFile(source, options);
  const rows: SourceRowResult[] = [];
  for await (const row of file.rows) rows.push(row);
  return rows;
}

/** A 6 MB CSV (several blob blocks, many inflate pieces) whose bytes all differ from row to row. */
const bigContacts = () => {
  const lines = ['lastname,emailaddress1'];
  for (let i = 0; lines.length < 120_000; i++) lines.push(`Person ${i} ${'x'.repeat(i % 17)},p${i}@example.com`);
  return strToU8(`${lines.join('\r\n')}\r\n`);
};

/** A zip written by fflate's streaming writer: its entries carry data descriptors (sizes after the data). */
function streamedZip(files: Record<string, Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  const zip = new Zip((error, data) => {
    if (error) throw error;
    parts.push(data);
  });
  for (const [name, bytes] of Object.entries(files)) {
    const entry = new ZipDeflate(name, { level: 6 });
    zip.add(entry);
    for (let i = 0; i < bytes.length; i += 100_000) entry.push(bytes.subarray(i, i + 100_000), false);
    entry.push(new Uint8Array(0), true);
  }
  zip.end();
  return Buffer.concat(parts);
}

describe('a zip', () => {
  const accounts = strToU8('name,accountnumber,parentaccountid\nRoot,A-1,\nChild,A-2,A-1\n');
  const contacts = bigContacts();
  const planJson = JSON.stringify({
    files: [
      { file: 'people.csv', table: 'contact', operation: 'upsert', key: 'emailaddress1', profile: { batchSize: 500 } },
    ],
  });

  test.each([
    ['zipSync (sizes in the local headers)', (f: Record<string, Uint8Array>) => zipSync(f)],
    ['a streaming zip writer (data descriptors)', streamedZip],
  ])(
    'each data file to its own blob byte for byte, plan.json profile beside it, re-staged identically: %s',
    async (_, makeZip) => {
      const zip = makeZip({
        'plan.json': strToU8(planJson),
        'data/people.csv': contacts,
        '__MACOSX/data/._people.csv': strToU8('resource fork'),
        'accounts.csv': accounts,
      });
      // general purpose flag bit 3 of the first local header: sizes come after the data (data descriptor)
      expect(Boolean(zip[6]! & 8)).toBe(makeZip === streamedZip);
      const prepared = await preparePlan({ kind: 'zip', bytes: zip }, deps);
      const planId = `zip-${makeZip === streamedZip ? 'streamed' : 'sync'}`;
      const input = {
        planId,
        container,
        source: { kind: 'zip' as const, bytes: zip },
        prepared,
        planFile: parsePlanFile(planJson),
      };
      const staged = await stagePlan(input, { blobs });
      expect(staged).toEqual(
        prepared.tables.map((t) => ({
          table: t.table,
          file: t.source.name,
          blobName: `_plans/${planId}/${t.table}/${t.source.name}`,
        })),
      );
      expect(staged.map((s) => s.blobName).sort()).toEqual([
        `_plans/${planId}/account/accounts.csv`,
        `_plans/${planId}/contact/people.csv`,
      ]);
      expect(await listed(`_plans/${planId}/`)).toEqual([
        `_plans/${planId}/account/accounts.csv`,
        `_plans/${planId}/contact/_profile.json`,
        `_plans/${planId}/contact/people.csv`,
      ]);
      const download = (name: string) => incoming.getBlockBlobClient(`_plans/${planId}/${name}`).downloadToBuffer();
      expect((await download('account/accounts.csv')).equals(Buffer.from(accounts))).toBe(true);
      const people = await download('contact/people.csv');
      expect(people.length).toBe(contacts.length);
      expect(people.equals(Buffer.from(contacts))).toBe(true);
      expect(JSON.parse(await text(`_plans/${planId}/contact/_profile.json`))).toEqual({
        batchSize: 500,
        operation: 'upsert',
        alternateKey: 'emailaddress1',
      });

      const again = await stagePlan(input, { blobs });
      expect(again).toEqual(staged);
      expect((await download('contact/people.csv')).equals(people)).toBe(true);
      expect(await listed(`_plans/${planId}/`)).toHaveLength(3);
    },
  );

  test.each([
    [
      'past the size its directory declares: a zip bomb',
      0.5,
      'ZipBomb',
      /'account\.csv' of the plan zip inflates to more than the \d+ bytes its directory declares: refused/,
    ],
    [
      'to less than its directory declares: a damaged zip',
      2,
      'NotAZip',
      /'account\.csv' of the plan zip inflates to \d+ bytes but its directory declares \d+: the zip is damaged/,
    ],
  ])('an entry inflating %s; no blob is committed', async (_, factor, code, message) => {
    const big = strToU8(`name\n${Array.from({ length: 200_000 }, (_, i) => `Contoso ${i}`).join('\n')}\n`); // 2.7 MB
    const honest = zipSync({ 'account.csv': big });
    const prepared = await preparePlan({ kind: 'zip', bytes: honest }, deps);
    // the central directory entry (signature PK\1\2) lies about the uncompressed size, at +24
    const lying = Buffer.from(honest);
    const central = lying.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    lying.writeUInt32LE(Math.floor(big.length * factor), central + 24);
    const staging = stagePlan({ planId: code, container, source: { kind: 'zip', bytes: lying }, prepared }, { blobs });
    await expect(staging).rejects.toMatchObject({ name: 'PlanError', code });
    await expect(staging).rejects.toThrow(message);
    expect(await exists(`_plans/${code}/account/account.csv`)).toBe(false);
  });

  test("plan.json's profile is written when the prepared table carries none; none is written without one", async () => {
    const planJson = JSON.stringify({ files: [{ file: 'account.csv', operation: 'create' }] });
    const zip = zipSync({ 'account.csv': strToU8('name\nContoso\n'), 'contact.csv': strToU8('lastname\nLovelace\n') });
    // prepared from a zip without plan.json: its tables carry no profile
    const prepared = await preparePlan({ kind: 'zip', bytes: zip }, deps);
    expect(prepared.tables.map((t) => t.profile)).toEqual([undefined, undefined]);
    await stagePlan(
      {
        planId: 'fallback',
        container,
        source: { kind: 'zip', bytes: zip },
        prepared,
        planFile: parsePlanFile(planJson),
      },
      { blobs },
    );
    expect(JSON.parse(await text('_plans/fallback/account/_profile.json'))).toEqual({ operation: 'create' });
    expect(await exists('_plans/fallback/contact/_profile.json')).toBe(false);
  });
});

describe('a workbook', () => {
  const utc = (t: string) => new Date(`${t}Z`);
  const sheets = () =>
    workbookBytes([
      { name: 'Notes', rows: [] },
      {
        name: 'accounts',
        rows: [
          ['name', 'revenue', 'active', 'founded', 'opened', 'accountnumber'],
          ['Contoso, "Ltd"', 1234.5, true, utc('2024-03-01T00:00:00'), utc('2024-03-01T10:30:15'), 'A-1'],
          [],
          ['Fabrikam', 0.1 + 0.2, false, utc('1999-12-31T00:00:00'), null, null],
          ['  ', -7, null, null, null, { formula: '"A-"&3', result: 'A-3' }],
          ['Ünïcødé ✓', 1e21, true, null, null, { richText: [{ text: 'A-' }, { text: '4' }] }],
        ],
        dateColumns: [4, 5],
      },
      {
        name: 'contact',
        rows: [
          ['lastname', 'emailaddress1'],
          ['Lovelace', 'ada@example.com'],
        ],
      },
    ]);

  test('each sheet as NDJSON holding the values the single-file .xlsx load reads (types kept, empty cells as "")', async () => {
    const bytes = await sheets();
    const prepared = await preparePlan({ kind: 'xlsx', source: Readable.from([bytes]) }, deps);
    const staged = await stagePlan(
      {
        planId: 'book',
        container,
        source: { kind: 'xlsx', read: () => Readable.from([bytes]) },
        prepared,
      },
      { blobs },
    );
    expect(staged).toEqual([
      { table: 'account', file: 'accounts', blobName: '_plans/book/account/accounts.ndjson' },
      { table: 'contact', file: 'contact', blobName: '_plans/book/contact/contact.ndjson' },
    ]);
    expect(await listed('_plans/book/')).toEqual([
      '_plans/book/account/accounts.ndjson',
      '_plans/book/contact/contact.ndjson',
    ]);
    const ndjson = await text('_plans/book/account/accounts.ndjson');
    expect(ndjson.split('\n')).toEqual([
      '{"name":"Contoso, \\"Ltd\\"","revenue":1234.5,"active":true,"founded":"2024-03-01","opened":"2024-03-01T10:30:15","accountnumber":"A-1"}',
      '{"name":"Fabrikam","revenue":0.30000000000000004,"active":false,"founded":"1999-12-31","opened":"","accountnumber":""}',
      '{"name":"  ","revenue":-7,"active":"","founded":"","opened":"","accountnumber":"A-3"}',
      '{"name":"Ünïcødé ✓","revenue":1e+21,"active":true,"founded":"","opened":"","accountnumber":"A-4"}',
      '',
    ]);
    // read back by the load's NDJSON reader: the same rows, numbered the same, as the .xlsx reader's
    for (const { file, blobName } of staged) {
      const fromWorkbook = await rowsOf(Readable.from([bytes]), { fileName: 'plan.xlsx', sheet: file });
      const fromStaged = await rowsOf(blobs.read({ container, name: blobName, etag: '*' }), { fileName: blobName });
      expect(fromStaged.map((r) => [r.ok, r.rowNumber, r.ok && r.values])).toEqual(
        fromWorkbook.map((r) => [r.ok, r.rowNumber, r.ok && r.values]),
      );
    }
  });

  test('a cell the .xlsx reader refuses fails the staging naming sheet, row and cell; that sheet is not committed', async () => {
    const bytes = await workbookBytes([
      {
        name: 'contact',
        rows: [
          ['lastname', 'emailaddress1'],
          ['Lovelace', 'ada@example.com'],
        ],
      },
      {
        name: 'account',
        rows: [
          ['name', 'revenue'],
          ['Contoso', 5],
          ['Fabrikam', { error: '#N/A' }],
        ],
      },
    ]);
    const prepared = await preparePlan({ kind: 'xlsx', source: Readable.from([bytes]) }, deps);
    const staging = stagePlan(
      { planId: 'bad-cell', container, source: { kind: 'xlsx', read: () => Readable.from([bytes]) }, prepared },
      { blobs },
    );
    await expect(staging).rejects.toMatchObject({ name: 'PlanError', code: 'CellInvalid' });
    await expect(staging).rejects.toThrow(
      "sheet 'account' row 3: column 'revenue' (cell B3) holds the Excel error #N/A",
    );
    expect(await exists('_plans/bad-cell/account/account.ndjson')).toBe(false);
  });

  test('a 200,000-row sheet stages with the heap flat in rows', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const dir = await mkdtemp(join(tmpdir(), 'plan-staging-'));
    try {
      const path = join(dir, 'accounts.xlsx');
      const rowsWanted = 200_000;
      // inline strings: the shared-strings table (held while reading, by design) would hide what staging holds
      const writer = new ExcelJS.stream.xlsx.WorkbookWriter({
        filename: path,
        useSharedStrings: false,
        useStyles: true,
      });
      const sheet = writer.addWorksheet('account');
      sheet.getColumn(5).numFmt = 'yyyy-mm-dd';
      sheet.addRow(['name', 'accountnumber', 'description', 'revenue', 'opendeals_date']).commit();
      for (let i = 0; i < rowsWanted; i++)
        sheet
          .addRow([
            `Contoso ${i}`,
            `ACC-${String(i).padStart(7, '0')}`,
            'Some description text that takes space',
            i * 1.37,
            new Date(Date.UTC(2000, 0, 1) + (i % 9000) * 86_400_000),
          ])
          .commit();
      sheet.commit();
      await writer.commit();
      const prepared = await preparePlan({ kind: 'xlsx', source: createReadStream(path) }, deps);

      const retained: number[] = [];
      let pieces = 0;
      async function* sampled(): AsyncGenerator<Uint8Array> {
        for await (const piece of createReadStream(path) as AsyncIterable<Buffer>) {
          if (pieces++ % 4 === 0) {
            gc();
            retained.push(process.memoryUsage().heapUsed);
          }
          yield piece;
        }
      }
      const [staged] = await stagePlan(
        { planId: 'big', container, source: { kind: 'xlsx', read: sampled }, prepared },
        { blobs },
      );
      const blob = await incoming.getBlockBlobClient(staged!.blobName).getProperties();
      let lines = 0;
      for await (const piece of blobs.read({ container, name: staged!.blobName, etag: blob.etag! }))
        for (let i = piece.indexOf(10); i >= 0; i = piece.indexOf(10, i + 1)) lines++;
      expect(lines).toBe(rowsWanted);
      expect(retained.length).toBeGreaterThan(10);
      const growth = Math.max(...retained) - retained[0]!;
      // the NDJSON is ~31 MB: holding its rows (or its text) would grow the retained heap by at least that much
      expect(blob.contentLength).toBeGreaterThan(25 * 1024 * 1024);
      expect(growth).toBeLessThan(8 * 1024 * 1024);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
