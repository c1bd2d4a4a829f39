import v8 from 'node:v8';
import vm from 'node:vm';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { openFile } from '../../../shared/ingestion/readers/fileReader';
import { detectDelimiter } from '../../../shared/ingestion/readers/csvReader';
import { IngestionError } from '../../../shared/ingestion/ingestionError';
import { readAll, streamOf } from './readAll';

const ok = (rows: Awaited<ReturnType<typeof readAll>>['rows']) =>
  rows.filter((r) => r.ok).map((r) => (r.ok ? r.values : undefined));

describe('CSV reader', () => {
  test('reads header and rows, quoted fields with newlines, doubled quotes, CRLF', async () => {
    const { file, rows } = await readAll(
      'name,description\r\n"Contoso, Ltd","line 1\r\nline ""2"""\r\nFabrikam,plain\r\n',
      { fileName: 'accounts.csv' },
    );
    expect(file.format).toBe('csv');
    expect(file.columns).toEqual(['name', 'description']);
    expect(ok(rows)).toEqual([
      { name: 'Contoso, Ltd', description: 'line 1\r\nline "2"' },
      { name: 'Fabrikam', description: 'plain' },
    ]);
    expect(rows.map((r) => [r.rowNumber, r.line])).toEqual([
      [1, 2],
      [2, 4],
    ]);
    expect(rows[0]!.raw).toBe('"Contoso, Ltd","line 1\r\nline ""2"""');
  });

  test.each([
    [',', 'a,b\n1,2\n'],
    [';', 'a;b\n1;2\n'],
    ['\t', 'a\tb\n1\t2\n'],
    [',', 'a\n1\n'],
    [';', '"x,y";b\n1;2\n'],
  ])('detects delimiter %j from the header line', async (delimiter, text) => {
    expect(detectDelimiter(text)).toBe(delimiter);
    const { file, rows } = await readAll(text, { fileName: 'f.csv' });
    expect(file.header?.delimiter).toBe(delimiter);
    expect(rows.every((r) => r.ok)).toBe(true);
  });

  test('.tsv means tab even when the header has commas', async () => {
    const { rows } = await readAll('a,x\tb\n1,2\t3\n', { fileName: 'f.tsv' });
    expect(ok(rows)).toEqual([{ 'a,x': '1,2', b: '3' }]);
  });

  test('a ragged row fails alone, naming row, line and column counts; later rows still come', async () => {
    const { rows } = await readAll('a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n', { fileName: 'f.csv' });
    expect(rows.map((r) => r.ok)).toEqual([true, false, false, true]);
    expect(rows[1]).toMatchObject({
      ok: false,
      rowNumber: 2,
      line: 3,
      message: 'row 2 (line 3) has 2 columns; the header has 3',
    });
    expect(rows[2]).toMatchObject({
      ok: false,
      rowNumber: 3,
      message: 'row 3 (line 4) has 4 columns; the header has 3',
    });
  });

  test('UTF-8 BOM is skipped and counted in byte offsets', async () => {
    const { rows, file } = await readAll(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('näme;b\né;2\n')]),
      { fileName: 'f.csv' },
    );
    expect(file.columns).toEqual(['näme', 'b']);
    expect(ok(rows)).toEqual([{ näme: 'é', b: '2' }]);
    expect(rows[0]!.byteStart).toBe(3 + Buffer.byteLength('näme;b\n'));
    expect(file.byteOffsetsAreBlobOffsets).toBe(true);
  });

  test.each([
    ['utf16le', Buffer.from([0xff, 0xfe])],
    ['utf16be', Buffer.from([0xfe, 0xff])],
  ])('UTF-16 (%s) with BOM is transcoded', async (encoding, bom) => {
    const text = 'name,city\nZoë,Zürich 日本\n';
    let body = Buffer.from(text, 'utf16le');
    if (encoding === 'utf16be') body = Buffer.from(body).swap16();
    const { rows, file } = await readAll(Buffer.concat([bom, body]), { fileName: 'f.csv' }, 5);
    expect(ok(rows)).toEqual([{ name: 'Zoë', city: 'Zürich 日本' }]);
    expect(file.byteOffsetsAreBlobOffsets).toBe(false);
  });

  test('invalid UTF-8 fails the load naming the byte offset, also across chunk boundaries', async () => {
    const bytes = Buffer.concat([Buffer.from('a,b\nééé,'), Buffer.from([0xe9, 0x74]), Buffer.from('\n')]);
    for (const piece of [1, 2, 3, 64]) {
      await expect(readAll(bytes, { fileName: 'f.csv' }, piece)).rejects.toThrow(
        'invalid byte sequence at byte offset 11',
      );
    }
  });

  test('a multi-byte character split across pieces is fine', async () => {
    const { rows } = await readAll('a\n€😀\n', { fileName: 'f.csv' }, 1);
    expect(ok(rows)).toEqual([{ a: '€😀' }]);
  });

  test('gzip is detected by magic bytes even without a .gz name', async () => {
    const { rows, file } = await readAll(gzipSync('a,b\n1,2\n'), { fileName: 'data.csv' });
    expect(file.compressed).toBe(true);
    expect(file.byteOffsetsAreBlobOffsets).toBe(false);
    expect(ok(rows)).toEqual([{ a: '1', b: '2' }]);
  });

  test('a field over maxFieldBytes fails its row; a record over maxRecordBytes fails the load', async () => {
    const big = 'x'.repeat(2000);
    const { rows } = await readAll(`a,b\n1,${big}\n2,3\n`, { fileName: 'f.csv', limits: { maxFieldBytes: 1000 } });
    expect(rows[0]).toMatchObject({
      ok: false,
      message: "row 1 (line 2), column 'b': the value is 2.0 KB, over the 1000 bytes field limit (maxFieldBytes)",
    });
    expect(rows[1]!.ok).toBe(true);
    await expect(
      readAll(`a,b\n1,${big}\n`, { fileName: 'f.csv', limits: { maxRecordBytes: 1000 } }),
    ).rejects.toMatchObject({ code: 'RecordTooLarge' });
  });

  test('too many columns fails the load', async () => {
    await expect(
      readAll(`${Array.from({ length: 5 }, (_, i) => `c${i}`).join(',')}\n1,2,3,4,5\n`, {
        fileName: 'f.csv',
        limits: { maxColumns: 4 },
      }),
    ).rejects.toThrow('the header has 5 columns; at most 4 are allowed (maxColumns)');
  });
});

describe('JSON array reader', () => {
  test('streams elements with row numbers, lines and byte ranges; non-objects and bad elements fail alone', async () => {
    const text = '[\n {"a": "x]", "b": {"c": [1, 2]}},\n 42,\n {"a": "\\"q\\""},\n {"a": tru}\n]';
    const { rows, file } = await readAll(text, { fileName: 'f.json' }, 3);
    expect(file.format).toBe('json');
    expect(file.columns).toEqual(['a', 'b']);
    expect(rows.map((r) => [r.rowNumber, r.line, r.ok])).toEqual([
      [1, 2, true],
      [2, 3, false],
      [3, 4, true],
      [4, 5, false],
    ]);
    expect(rows[1]).toMatchObject({
      message: 'row 2 (line 3) is a number; each element of the array must be an object',
    });
    expect((rows[3] as { message: string }).message).toMatch(/^row 4 \(line 5\) is not valid JSON/);
    expect(text.slice(rows[0]!.byteStart, rows[0]!.byteEnd)).toBe('{"a": "x]", "b": {"c": [1, 2]}}');
    expect(ok(rows)[1]).toEqual({ a: '"q"' });
  });

  test.each([
    ['{"a":1}', "the JSON file's top-level value is an object, not an array"],
    ['"text"', 'top-level value is a string, not an array'],
    ['[{"a":1},]', "a ',' is followed by ']'"],
    ['[{"a":1} {"a":2}]', "expected ',' or ']' after row 1"],
    ['[{"a":1}] x', "unexpected content after the closing ']'"],
    ['[{"a":1}, {"a":', 'the file ends inside row 2'],
    ['[]', 'the JSON array is empty'],
  ])('%s fails the load: %s', async (text, message) => {
    await expect(readAll(text, { fileName: 'f.json' })).rejects.toThrow(message);
  });

  test('content type picks the format when the name has no extension', async () => {
    const { file } = await readAll('[{"a":1}]', { fileName: 'upload', contentType: 'application/json; charset=utf-8' });
    expect(file.format).toBe('json');
  });
});

describe('NDJSON reader', () => {
  test('one object per line; blank lines are not rows; a bad line fails alone naming the line', async () => {
    const { rows } = await readAll('{"a":1}\r\n\n{"a":\n"s"\n{"a":2}', { fileName: 'f.jsonl' });
    expect(rows.map((r) => [r.rowNumber, r.line, r.ok])).toEqual([
      [1, 1, true],
      [2, 3, false],
      [3, 4, false],
      [4, 5, true],
    ]);
    expect((rows[1] as { message: string }).message).toMatch(/^line 3 is not valid JSON/);
    expect((rows[2] as { message: string }).message).toBe('line 4 is a string; each line must be a JSON object');
  });

  test('a line over maxRecordBytes fails alone without being buffered', async () => {
    const { rows } = await readAll(
      `{"a":"${'x'.repeat(5000)}"}\n{"a":1}\n`,
      { fileName: 'f.ndjson', limits: { maxRecordBytes: 1024 } },
      100,
    );
    expect(rows[0]).toMatchObject({ ok: false, message: 'line 1 is 4.9 KB, over the 1 KB row limit (maxRecordBytes)' });
    expect(rows[1]!.ok).toBe(true);
  });
});

describe('streaming', () => {
  test('memory stays flat in the number of rows (a generated CSV read as a stream)', async () => {
    // The retained heap is measured after a forced GC at checkpoints, so the assertion is about what the
    // reader keeps, not about when the collector happens to run on a loaded machine.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const rowsWanted = 240_000;
    const line = 'Contoso Pharmaceuticals Ltd,ACC-000000,Some description text that takes space,12345.67\n';
    function* generate() {
      yield Buffer.from('name,accountnumber,description,revenue\n');
      let batch: string[] = [];
      for (let i = 0; i < rowsWanted; i++) {
        batch.push(line);
        if (batch.length === 1000) {
          yield Buffer.from(batch.join(''));
          batch = [];
        }
      }
      if (batch.length) yield Buffer.from(batch.join(''));
    }
    const file = await openFile(Readable.from(generate()), { fileName: 'big.csv' });
    let count = 0;
    const retained: number[] = [];
    for await (const row of file.rows) {
      if (row.ok) count++;
      if (count % 60_000 === 0) {
        gc();
        retained.push(process.memoryUsage().heapUsed);
      }
    }
    expect(count).toBe(rowsWanted);
    // 180,000 more rows (~16 MB of text, far more as row objects) went through between the first and last
    // checkpoint; a reader that kept rows would grow by tens of MB here.
    const growth = retained[retained.length - 1]! - retained[0]!;
    expect(growth).toBeLessThan(8 * 1024 * 1024);
  }, 600_000);

  test('close() stops reading the source', async () => {
    let pulled = 0;
    function* generate() {
      yield Buffer.from('a\n');
      for (let i = 0; i < 1_000_000; i++) {
        pulled++;
        yield Buffer.from(`${i}\n`);
      }
    }
    const file = await openFile(Readable.from(generate()), { fileName: 'f.csv' });
    for await (const row of file.rows) if (row.rowNumber === 10) break;
    await file.close();
    expect(pulled).toBeLessThan(100_000);
  });
});

test('failures are IngestionErrors with codes', async () => {
  const error = await openFile(streamOf(''), { fileName: 'f.csv' }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(IngestionError);
  expect(error).toMatchObject({ code: 'EmptyFile', message: 'file is empty (0 bytes)' });
});
