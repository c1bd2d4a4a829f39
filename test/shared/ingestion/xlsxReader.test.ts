import v8 from 'node:v8';
import vm from 'node:vm';
import { PassThrough, Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { unzipSync, zipSync, strToU8 } from 'fflate';
import { openFile } from '../../../shared/ingestion/readers/fileReader';
import { excelDateText, readWorkbookSheets } from '../../../shared/ingestion/readers/xlsxReader';
import { resolveLimits } from '../../../shared/ingestion/readers/fileReader';
import type { SourceRowResult } from '../../../shared/ingestion/readers/readerTypes';
import { streamOf } from './readAll';
import { workbookBytes } from './workbookBytes';

async function readRows(bytes: Buffer, options: { fileName?: string; sheet?: string } = {}) {
  const file = await openFile(streamOf(bytes, 4096), { fileName: 'data.xlsx', ...options });
  const rows: SourceRowResult[] = [];
  for await (const row of file.rows) rows.push(row);
  return { file, rows };
}

const utc = (text: string) => new Date(`${text}Z`);

describe('xlsx reader', () => {
  test('a single-sheet workbook is a table: header first, cell types kept, row numbers and sheet rows', async () => {
    const bytes = await workbookBytes([
      {
        name: 'Accounts',
        rows: [
          ['name', 'revenue', 'active', 'founded', 'opened', 'notes'],
          [
            'Contoso, Ltd',
            1234.5,
            true,
            utc('2024-03-01T00:00:00'),
            utc('2024-03-01T10:30:15'),
            { formula: '1+1', result: 2 },
          ],
          [],
          ['Fabrikam', 7, false, utc('1999-12-31T00:00:00'), null, { richText: [{ text: 'bold ' }, { text: 'part' }] }],
        ],
        dateColumns: [4, 5],
      },
    ]);
    const { file, rows } = await readRows(bytes);
    expect(file).toMatchObject({ format: 'xlsx', sheet: 'Accounts', byteOffsetsAreBlobOffsets: false });
    expect(file.columns).toEqual(['name', 'revenue', 'active', 'founded', 'opened', 'notes']);
    expect(rows.map((r) => r.ok && r.values)).toEqual([
      {
        name: 'Contoso, Ltd',
        revenue: 1234.5,
        active: true,
        founded: '2024-03-01',
        opened: '2024-03-01T10:30:15',
        notes: 2,
      },
      { name: 'Fabrikam', revenue: 7, active: false, founded: '1999-12-31', opened: '', notes: 'bold part' },
    ]);
    // the blank sheet row 3 is not a row; `line` is the sheet row
    expect(rows.map((r) => [r.rowNumber, r.line])).toEqual([
      [1, 2],
      [2, 4],
    ]);
    expect(rows[0]!.cells).toEqual(['Contoso, Ltd', '1234.5', 'true', '2024-03-01', '2024-03-01T10:30:15', '2']);
  });

  test('an Excel error cell fails its row alone, naming sheet, column and cell', async () => {
    const bytes = await workbookBytes([
      {
        name: 'account',
        rows: [
          ['name', 'revenue'],
          ['A', { error: '#N/A' }],
          ['B', 2],
        ],
      },
    ]);
    const { rows } = await readRows(bytes);
    expect(rows[0]).toMatchObject({
      ok: false,
      rowNumber: 1,
      message: "sheet 'account' row 2: column 'revenue' (cell B2) holds the Excel error #N/A",
    });
    expect(rows[1]).toMatchObject({ ok: true, values: { name: 'B', revenue: 2 } });
  });

  test('a value right of the last header fails its row', async () => {
    const bytes = await workbookBytes([{ name: 'account', rows: [['name'], ['A', 'stray']] }]);
    const { rows } = await readRows(bytes);
    expect(rows[0]).toMatchObject({
      ok: false,
      message: "sheet 'account' row 2: cell B2 holds a value but its column has no header",
    });
  });

  test.each([
    [
      [
        ['name', 'Name'],
        ['a', 'b'],
      ],
      "sheet 'account' header cell B1 repeats the column name 'Name' (also in A1)",
    ],
    [
      [
        ['name', null, 'x'],
        ['a', 'b', 'c'],
      ],
      "sheet 'account' header cell B1 is empty: every column needs a name",
    ],
    [[['name']], "sheet 'account' of 'data.xlsx' has a header row but no data rows"],
  ])('bad header or no rows: %j', async (rows, message) => {
    const bytes = await workbookBytes([{ name: 'account', rows }]);
    await expect(readRows(bytes)).rejects.toThrow(message);
  });

  test('a workbook of several sheets loads one table only when the sheet is named; an unknown sheet names the ones there', async () => {
    const bytes = await workbookBytes([
      { name: 'account', rows: [['name'], ['A']] },
      { name: 'Contacts', rows: [['lastname'], ['Smith'], ['Jones']] },
    ]);
    await expect(readRows(bytes)).rejects.toThrow("'data.xlsx' has 2 sheets (account, Contacts)");
    const { file, rows } = await readRows(bytes, { sheet: 'contacts' });
    expect(file.sheet).toBe('Contacts');
    expect(rows.map((r) => r.ok && r.values)).toEqual([{ lastname: 'Smith' }, { lastname: 'Jones' }]);
    await expect(readRows(bytes, { sheet: 'tasks' })).rejects.toMatchObject({
      code: 'SheetNotFound',
      message: "'data.xlsx' has no sheet 'tasks' (its sheets: account, Contacts)",
    });
  });

  test('sheets are named right whatever the order of the parts in the zip (workbook part last)', async () => {
    const parts = unzipSync(
      await workbookBytes([
        { name: 'account', rows: [['name'], ['A']] },
        { name: 'Contacts', rows: [['lastname'], ['Smith']] },
      ]),
    );
    const names = Object.keys(parts);
    const last = ['xl/workbook.xml'];
    const first = names.filter(
      (n) => n === '[Content_Types].xml' || n.includes('_rels') || n.includes('sharedStrings'),
    );
    const reordered = [...first, ...names.filter((n) => !first.includes(n) && !last.includes(n)), ...last];
    const bytes = Buffer.from(zipSync(Object.fromEntries(reordered.map((n) => [n, parts[n]!]))));
    const seen: string[] = [];
    for await (const sheet of readWorkbookSheets(streamOf(bytes, 1000), { limits: resolveLimits() })) {
      for await (const _ of sheet.rows);
      seen.push(`${sheet.name}:${sheet.columns.join(',')}`);
    }
    expect(seen.sort()).toEqual(['Contacts:lastname', 'account:name']);
    const { rows } = await readRows(bytes, { sheet: 'contacts' });
    expect(rows.map((r) => r.ok && r.values)).toEqual([{ lastname: 'Smith' }]);
  });

  test('readWorkbookSheets gives every sheet in order with its columns', async () => {
    const bytes = await workbookBytes([
      {
        name: 'account',
        rows: [
          ['name', 'accountnumber'],
          ['A', 'A-1'],
        ],
      },
      { name: 'empty', rows: [] },
      { name: 'task', rows: [['subject'], ['Call']] },
    ]);
    const seen: { name: string; columns: string[]; rows: number }[] = [];
    for await (const sheet of readWorkbookSheets(streamOf(bytes, 1000), { limits: resolveLimits() })) {
      let count = 0;
      for await (const _ of sheet.rows) count++;
      seen.push({ name: sheet.name, columns: sheet.columns, rows: count });
    }
    expect(seen).toEqual([
      { name: 'account', columns: ['name', 'accountnumber'], rows: 1 },
      { name: 'empty', columns: [], rows: 0 },
      { name: 'task', columns: ['subject'], rows: 1 },
    ]);
  });

  test.each([
    [
      'a text file named .xlsx',
      Buffer.from('name\nContoso\n'),
      "'data.xlsx' is not an .xlsx workbook (it is not a zip package)",
    ],
    [
      'a password-protected workbook (an OLE compound file)',
      Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(600)]),
      "'data.xlsx' is not an .xlsx workbook: it is a password-protected (encrypted) workbook or an old .xls file; remove the password or save it as .xlsx",
    ],
    ['an empty file', Buffer.alloc(0), "'data.xlsx' is empty: expected an .xlsx workbook"],
    [
      'a zip with no sheets',
      Buffer.from(zipSync({ 'readme.txt': strToU8('hello') })),
      "'data.xlsx' is not an .xlsx workbook: it has no sheets",
    ],
    ['a truncated workbook', 'truncated', /'data.xlsx' is not a readable .xlsx workbook|has no sheets/],
  ])('%s fails with a message naming the file', async (_, content, message) => {
    const bytes =
      content === 'truncated'
        ? (await workbookBytes([{ name: 'a', rows: [['x'], [1]] }])).subarray(0, 400)
        : (content as Buffer);
    const error = await readRows(bytes).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'IngestionError', code: 'WorkbookInvalid' });
    if (message instanceof RegExp) expect((error as Error).message).toMatch(message);
    else expect((error as Error).message).toBe(message);
  });

  test('property: strings, numbers and booleans come back exactly as written', async () => {
    const text = fc
      .string({ minLength: 1, maxLength: 30, unit: 'grapheme' })
      .filter(
        (s) =>
          s.trim() !== '' &&
          ![...s].some((c) => c.charCodeAt(0) < 0x20 || c === '\ufffe' || c === '\uffff') &&
          !/_x[0-9a-fA-F]{4}_/.test(s),
      );
    const cell = fc.oneof(
      text,
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (n === 0 ? 0 : n)),
      fc.boolean(),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(cell, cell), { minLength: 1, maxLength: 20 }), async (rows) => {
        const bytes = await workbookBytes([{ name: 'data', rows: [['a', 'b'], ...rows] }]);
        const read = await readRows(bytes);
        expect(read.rows.map((r) => r.ok && r.values)).toEqual(rows.map(([a, b]) => ({ a, b })));
      }),
      { numRuns: 40 },
    );
  });

  test('property: a date cell reads back as the wall-clock time written, to the second', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1900-03-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
        (date) => {
          const second = new Date(Math.floor(date.getTime() / 1000) * 1000);
          const text = excelDateText(second);
          const iso = second.toISOString().slice(0, 19);
          expect(text).toBe(iso.endsWith('T00:00:00') ? iso.slice(0, 10) : iso);
        },
      ),
    );
  });

  test('memory stays flat in the number of rows (a streamed 60,000-row workbook)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const rowsWanted = 60_000;
    const out = new PassThrough();
    const parts: Buffer[] = [];
    out.on('data', (b: Buffer) => parts.push(b));
    const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false, useStyles: false });
    const sheet = writer.addWorksheet('account');
    sheet.addRow(['name', 'accountnumber', 'description', 'revenue']).commit();
    for (let i = 0; i < rowsWanted; i++)
      sheet.addRow([`Contoso ${i}`, `ACC-${i}`, 'Some description text that takes space', i * 1.5]).commit();
    sheet.commit();
    await writer.commit();
    const file = await openFile(Readable.from([Buffer.concat(parts)]), { fileName: 'big.xlsx' });
    let count = 0;
    const retained: number[] = [];
    for await (const row of file.rows) {
      if (row.ok) count++;
      if (count % 20_000 === 0) {
        gc();
        retained.push(process.memoryUsage().heapUsed);
      }
    }
    expect(count).toBe(rowsWanted);
    expect(retained[retained.length - 1]! - retained[0]!).toBeLessThan(8 * 1024 * 1024);
  }, 600_000);
});
