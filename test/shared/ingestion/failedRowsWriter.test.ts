import fc from 'fast-check';
import { csvLine, escapeCsvCell, writeFailedRows } from '../../../shared/ingestion/failedRowsWriter';
import { planLoad } from '../../../shared/ingestion/loadPlan';
import { resolveLoadProfile } from '../../../shared/ingestion/loadProfile';
import type { SourceRowResult } from '../../../shared/ingestion/readers/readerTypes';
import { accountMetadata } from './accountMetadataFixture';
import { csvTable, trickyCell } from './csvArbitraries';
import { readAll } from './readAll';

async function text(pieces: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const piece of pieces) out += piece;
  return out;
}

function lineBreaksBefore(content: string, offset: number): number {
  const before = Buffer.from(content).subarray(0, offset).toString('utf8');
  return (before.match(/\r\n|\r|\n/g) ?? []).length;
}

describe('CSV codec', () => {
  test('property: any cells written by the failed-rows CSV codec read back identically, with correct lines and byte ranges', async () => {
    await fc.assert(
      fc.asyncProperty(csvTable, fc.integer({ min: 1, max: 40 }), async ({ columns, rows, delimiter }, pieceSize) => {
        const content =
          csvLine(columns, { delimiter }) +
          rows.map((cells) => csvLine(cells, { delimiter, formulaProtection: false })).join('');
        const read = await readAll(content, { fileName: 'f.csv', delimiter: delimiter as ',' }, pieceSize);
        expect(read.file.columns).toEqual(columns);
        expect(read.rows.map((r) => r.cells)).toEqual(rows);
        expect(read.rows.every((r) => r.ok)).toBe(true);
        for (const r of read.rows) {
          expect(r.line).toBe(1 + lineBreaksBefore(content, r.byteStart));
          const again = await readAll(
            csvLine(columns, { delimiter }) + Buffer.from(content).subarray(r.byteStart, r.byteEnd).toString('utf8'),
            { fileName: 'f.csv', delimiter: delimiter as ',' },
          );
          expect(again.rows[0]!.cells).toEqual(r.cells);
        }
      }),
      { numRuns: 150 },
    );
  });

  test('property: formula protection changes exactly the cells a spreadsheet would evaluate, by a leading quote', () => {
    fc.assert(
      fc.property(trickyCell, (cell) => {
        const plain = escapeCsvCell(cell, { formulaProtection: false });
        const safe = escapeCsvCell(cell);
        if (/^[=+\-@\t\r]/.test(cell)) expect(safe).toBe(escapeCsvCell(`'${cell}`, { formulaProtection: false }));
        else expect(safe).toBe(plain);
      }),
    );
    expect(escapeCsvCell('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(escapeCsvCell('a,b', { delimiter: ';' })).toBe('a,b');
    expect(escapeCsvCell(' padded ')).toBe('" padded "');
  });
});

describe('failed-rows file', () => {
  const rowsOf = async (content: string, fileName: string) => (await readAll(content, { fileName })).rows;

  test('CSV: the rows as read plus a last _error column; ragged rows keep their cells; a fixed file plans again', async () => {
    const rows = await rowsOf('name,numberofemployees\r\n"Contoso, Ltd",many\r\n=cmd,1\r\nshort\r\n', 'f.csv');
    const entries = [
      { row: rows[0]!, error: "row 1, column 'numberofemployees': 'many' is not a whole number" },
      { row: rows[1]!, error: 'a "quoted" error' },
      { row: rows[2]!, error: (rows[2] as { message: string }).message },
    ];
    const out = await text(writeFailedRows(entries, { format: 'csv', columns: ['name', 'numberofemployees'] }));
    expect(out).toBe(
      'name,numberofemployees,_error\r\n' +
        '"Contoso, Ltd",many,"row 1, column \'numberofemployees\': \'many\' is not a whole number"\r\n' +
        '\'=cmd,1,"a ""quoted"" error"\r\n' +
        'short,,row 3 (line 4) has 1 column; the header has 2\r\n',
    );
    const again = await readAll(out, { fileName: 'failed.csv' });
    expect(again.rows.map((r) => r.cells?.slice(0, 2))).toEqual([
      ['Contoso, Ltd', 'many'],
      ["'=cmd", '1'],
      ['short', ''],
    ]);
    const plan = planLoad(accountMetadata(), resolveLoadProfile({}), again.file.columns);
    expect(plan.bindings.find((b) => b.column === '_error')).toMatchObject({ kind: 'ignored' });
  });

  test('JSON and NDJSON: objects with an _error field; unparseable rows keep their text in _raw', async () => {
    const rows = await rowsOf('{"name":"A","n":1}\nnot json\n', 'f.ndjson');
    const entries = [
      { row: rows[0]!, error: 'bad n' },
      { row: rows[1]!, error: 'line 2 is not valid JSON' },
    ];
    expect(await text(writeFailedRows(entries, { format: 'ndjson' }))).toBe(
      '{"name":"A","n":1,"_error":"bad n"}\n{"_error":"line 2 is not valid JSON","_raw":"not json"}\n',
    );
    const json = await text(writeFailedRows(entries, { format: 'json' }));
    expect(JSON.parse(json)).toEqual([
      { name: 'A', n: 1, _error: 'bad n' },
      { _error: 'line 2 is not valid JSON', _raw: 'not json' },
    ]);
    const reread = await readAll(json, { fileName: 'failed.json' });
    expect(reread.rows.map((r: SourceRowResult) => r.ok)).toEqual([true, true]);
  });

  test('JSON failed rows keep their own text (digits, 10,000 levels of nesting) and stay one line in NDJSON', async () => {
    const deep = `{"name": "A", "big": 12345678901234567890, "description": ${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    const rows = await rowsOf(`[\n  ${deep},\n  {\n    "name": "B"\n  }\n]`, 'f.json');
    const json = await text(
      writeFailedRows(
        rows.map((row) => ({ row, error: 'x' })),
        { format: 'json' },
      ),
    );
    expect(json).toContain('"big": 12345678901234567890');
    expect(json).toContain('{ "name": "B","_error":"x"}');
    const ndjson = await text(writeFailedRows([{ row: rows[1]!, error: 'y' }], { format: 'ndjson' }));
    expect(ndjson).toBe('{ "name": "B","_error":"y"}\n');
    const again = await readAll(json, { fileName: 'failed.json' });
    expect(again.rows.map((r) => r.ok)).toEqual([true, true]);
  });
});
