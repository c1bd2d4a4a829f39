import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { IngestionError, type IngestionErrorCode } from '../../../shared/ingestion/ingestionError';
import { planLoad } from '../../../shared/ingestion/loadPlan';
import { resolveLoadProfile, type LoadProfileInput } from '../../../shared/ingestion/loadProfile';
import type { ReaderLimits } from '../../../shared/ingestion/readers/readerTypes';
import { convertRow, type ConvertedRow } from '../../../shared/ingestion/rowConversion';
import { accountMetadata } from './accountMetadataFixture';
import { readAll } from './readAll';

/**
 * The bad-input corpus (test/corpus, plus large files generated here): each file yields a clear failed-load
 * reason or exactly the failed rows expected, and rows converted + rows failed = rows in the file.
 */

const corpus = join(__dirname, '..', '..', 'corpus');
const file = (name: string) => () => readFileSync(join(corpus, name));
const metadata = accountMetadata();

interface Outcome {
  converted: ConvertedRow[];
  failed: { rowNumber: number; message: string }[];
  delimiter?: string;
}

async function load(
  content: Buffer,
  fileName: string,
  profile: LoadProfileInput = {},
  limits?: Partial<ReaderLimits>,
): Promise<Outcome | IngestionError> {
  try {
    const { file: opened, rows } = await readAll(content, { fileName, limits }, 64 * 1024);
    const plan = planLoad(metadata, resolveLoadProfile({ folderProfile: profile }), opened.columns);
    const outcome: Outcome = { converted: [], failed: [], delimiter: opened.header?.delimiter };
    for (const row of rows) {
      if (!row.ok) {
        outcome.failed.push({ rowNumber: row.rowNumber, message: row.message });
        continue;
      }
      const converted = convertRow(plan, row, { fileKey: `corpus/${fileName}` });
      if (converted.ok) outcome.converted.push(converted);
      else
        outcome.failed.push({
          rowNumber: converted.rowNumber,
          message: converted.faults.map((f) => f.message).join('; '),
        });
    }
    return outcome;
  } catch (error) {
    if (error instanceof IngestionError) return error;
    throw error;
  }
}

type Case = {
  name: string;
  content: () => Buffer;
  profile?: LoadProfileInput;
  limits?: Partial<ReaderLimits>;
} & (
  | { fails: IngestionErrorCode; message: string }
  | { rowsInFile: number; failed: [rowNumber: number, fragment: string][]; check?: (outcome: Outcome) => void }
);

const noRequired = { checkRequired: false };

const cases: Case[] = [
  {
    name: 'binary-png.csv',
    content: file('binary-png.csv'),
    fails: 'FileLooksBinary',
    message: 'file looks binary (PNG image); expected CSV, JSON or NDJSON text',
  },
  {
    name: 'workbook-zip.csv',
    content: file('workbook-zip.csv'),
    fails: 'FileLooksBinary',
    message: 'file looks binary (zip archive, e.g. an .xlsx workbook: save it as CSV)',
  },
  {
    name: 'nul-bytes.csv',
    content: file('nul-bytes.csv'),
    fails: 'FileLooksBinary',
    message: 'file looks binary (NUL byte at byte offset 31)',
  },
  {
    name: 'latin1.csv',
    content: file('latin1.csv'),
    fails: 'InvalidUtf8',
    message: 'file is not valid UTF-8: invalid byte sequence at byte offset 20',
  },
  {
    name: 'utf8-truncated-at-end.csv',
    content: file('utf8-truncated-at-end.csv'),
    fails: 'InvalidUtf8',
    message: 'truncated byte sequence at byte offset 8 (end of file)',
  },
  { name: 'empty.csv', content: file('empty.csv'), fails: 'EmptyFile', message: 'file is empty (0 bytes)' },
  {
    name: 'whitespace-only.csv',
    content: file('whitespace-only.csv'),
    fails: 'EmptyFile',
    message: 'file is empty (only whitespace)',
  },
  {
    name: 'header-only.csv',
    content: file('header-only.csv'),
    fails: 'EmptyFile',
    message: 'file has a header row but no data rows',
  },
  {
    name: 'unbalanced-quotes.csv',
    content: file('unbalanced-quotes.csv'),
    fails: 'InvalidCsv',
    message: 'unbalanced quotes: a quoted field is never closed',
  },
  {
    name: 'invalid-closing-quote.csv',
    content: file('invalid-closing-quote.csv'),
    fails: 'InvalidCsv',
    message: 'invalid quoting on line 3: a closing quote must be followed by the delimiter or a line break',
  },
  {
    name: 'duplicate-headers.csv',
    content: file('duplicate-headers.csv'),
    fails: 'HeaderInvalid',
    message: "duplicate column name 'Name' in the header (columns 1 and 3)",
  },
  {
    name: 'empty-header-name.csv',
    content: file('empty-header-name.csv'),
    fails: 'HeaderInvalid',
    message: 'column 2 of the header has an empty name',
  },
  {
    name: 'actually-json.csv',
    content: file('actually-json.csv'),
    fails: 'FormatMismatch',
    message: "file is named .csv but its content looks like JSON (it starts with '[')",
  },
  {
    name: 'ndjson-with-array.ndjson',
    content: file('ndjson-with-array.ndjson'),
    fails: 'FormatMismatch',
    message: "file is named .ndjson but its content starts with '['",
  },
  {
    name: 'not-an-array.json',
    content: file('not-an-array.json'),
    fails: 'NotAnArray',
    message: "the JSON file's top-level value is an object, not an array",
  },
  {
    name: 'json-trailing-garbage.json',
    content: file('json-trailing-garbage.json'),
    fails: 'InvalidJson',
    message: "unexpected content after the closing ']' of the array",
  },
  {
    name: 'unknown-column.csv',
    content: file('unknown-column.csv'),
    fails: 'PlanInvalid',
    message:
      "column 'acountnumber' matches no attribute of table 'account' (did you mean 'accountnumber'?); column 'Revenu' matches no attribute of table 'account' (did you mean 'revenue'?)",
  },
  {
    name: 'missing-required.csv',
    content: file('missing-required.csv'),
    fails: 'PlanInvalid',
    message: "required attribute(s) missing for create: 'name'",
  },
  {
    name: 'utf16le-bom.csv',
    content: file('utf16le-bom.csv'),
    rowsInFile: 2,
    failed: [],
    check: (o) => expect(o.converted[0]!.body).toMatchObject({ name: 'Zoë', description: 'Zürich 日本' }),
  },
  {
    name: 'utf16be-bom.csv',
    content: file('utf16be-bom.csv'),
    rowsInFile: 1,
    failed: [],
    check: (o) => expect(o.converted[0]!.body).toMatchObject({ name: 'Zoë' }),
  },
  {
    name: 'ragged-rows.csv',
    content: file('ragged-rows.csv'),
    rowsInFile: 4,
    failed: [
      [2, 'row 2 (line 3) has 2 columns; the header has 3'],
      [3, 'row 3 (line 4) has 4 columns; the header has 3'],
    ],
  },
  {
    name: 'formula-values.csv',
    content: file('formula-values.csv'),
    rowsInFile: 3,
    failed: [],
    check: (o) =>
      expect(o.converted.map((r) => [r.body.name, r.body.description])).toEqual([
        ['=SUM(A1:A3)', '+1234'],
        ['@cmd', '-2+3'],
        ['=HYPERLINK("http://example.com")', '=1+1'],
      ]),
  },
  {
    name: 'trailing-delimiter.csv',
    content: file('trailing-delimiter.csv'),
    rowsInFile: 2,
    failed: [],
    check: (o) => expect(o.converted[1]!.body).toMatchObject({ name: 'Fabrikam', description: 'd2' }),
  },
  {
    name: 'mixed-line-endings.csv',
    content: file('mixed-line-endings.csv'),
    rowsInFile: 3,
    failed: [],
    check: (o) =>
      expect(o.converted.map((r) => [r.rowNumber, r.line, r.body.description])).toEqual([
        [1, 2, 'd1'],
        [2, 3, 'two\r\nlines'],
        [3, 5, 'd3'],
      ]),
  },
  {
    name: 'bom-semicolon.csv',
    content: file('bom-semicolon.csv'),
    rowsInFile: 2,
    failed: [],
    check: (o) => {
      expect(o.delimiter).toBe(';');
      expect(o.converted[0]!.body).toMatchObject({ name: 'Contoso', description: 'a; b', revenue: 12.5 });
    },
  },
  {
    name: 'tab-separated.tsv',
    content: file('tab-separated.tsv'),
    rowsInFile: 1,
    failed: [],
    check: (o) => expect(o.converted[0]!.body).toMatchObject({ description: 'has, commas' }),
  },
  {
    name: 'thousands-separators.csv',
    content: file('thousands-separators.csv'),
    rowsInFile: 4,
    failed: [
      [
        1,
        "row 1, column 'numberofemployees': '1,000' is not a whole number: use '.' as the decimal separator and no thousands separators",
      ],
      [
        2,
        "row 2, column 'revenue': '1,234.56' is not a number: use '.' as the decimal separator and no thousands separators",
      ],
      [
        3,
        "row 3, column 'revenue': '1.234.567' is not a number: use '.' as the decimal separator and no thousands separators",
      ],
    ],
  },
  {
    name: 'wrong-date-format.csv',
    content: file('wrong-date-format.csv'),
    rowsInFile: 3,
    failed: [
      [2, "row 2, column 'new_founded': '04/03/2021' is not a date: expected ISO 8601"],
      [3, "row 3, column 'new_founded': 'March 4 2021' is not a date"],
    ],
  },
  {
    name: 'unknown-choice-label.csv',
    content: file('unknown-choice-label.csv'),
    rowsInFile: 4,
    failed: [
      [
        3,
        "row 3, column 'industrycode': 'Banking' is not a label of choice industrycode (allowed: 1 'Accounting', 2 'Agriculture'",
      ],
    ],
    check: (o) => expect(o.converted.map((r) => r.body.industrycode)).toEqual([1, 2, 2]),
  },
  {
    name: 'bad-lookup.csv',
    content: file('bad-lookup.csv'),
    rowsInFile: 2,
    failed: [[2, "row 2, column 'primarycontactid': 'not-a-guid' is not a GUID"]],
  },
  {
    name: 'integer-out-of-range.csv',
    content: file('integer-out-of-range.csv'),
    rowsInFile: 3,
    failed: [
      [1, '-5 is out of range for numberofemployees (0 to 1000000000)'],
      [2, '99999999999 is out of range for numberofemployees'],
    ],
  },
  {
    name: 'json-mixed-elements.json',
    content: file('json-mixed-elements.json'),
    rowsInFile: 4,
    failed: [
      [2, 'row 2 (line 3) is a string; each element of the array must be an object'],
      [3, 'row 3 (line 4) is an array; each element of the array must be an object'],
    ],
  },
  {
    name: 'bad-line.ndjson',
    content: file('bad-line.ndjson'),
    rowsInFile: 4,
    failed: [[3, 'line 3 is not valid JSON']],
  },
  // Generated: large or deep inputs.
  {
    name: 'field-10mb.csv',
    content: () => Buffer.from(`name,description\nContoso,"${'x'.repeat(10 * 1024 * 1024)}"\nFabrikam,d\n`),
    fails: 'RecordTooLarge',
    message: 'a row on line 2 is larger than 4 MB (maxRecordBytes)',
  },
  {
    name: 'field-10mb.csv (maxRecordBytes raised: the field limit fails the row)',
    content: () => Buffer.from(`name,description\nContoso,"${'x'.repeat(10 * 1024 * 1024)}"\nFabrikam,d\n`),
    limits: { maxRecordBytes: 16 * 1024 * 1024 },
    rowsInFile: 2,
    failed: [
      [1, "row 1 (line 2), column 'description': the value is 10 MB, over the 1 MB field limit (maxFieldBytes)"],
    ],
  },
  {
    name: 'huge-header.csv',
    content: () =>
      Buffer.from(`${Array.from({ length: 2000 }, (_, i) => `column_${i}`).join(',')}\n${'1,'.repeat(1999)}1\n`),
    fails: 'TooManyColumns',
    message: 'the header has 2000 columns; at most 1000 are allowed (maxColumns)',
  },
  {
    name: 'long-line-no-newline.csv',
    content: () => Buffer.from(`name${'x'.repeat(5 * 1024 * 1024)}`),
    fails: 'RecordTooLarge',
    message: 'the header row is larger than 4 MB (maxRecordBytes): is this a CSV file with a header row?',
  },
  {
    name: 'million-delimiters.csv (one line of 3,000,000 commas)',
    content: () => Buffer.from(','.repeat(3_000_000)),
    fails: 'TooManyColumns',
    message: 'the header has more than 1000 columns (maxColumns)',
  },
  {
    name: 'many-delimiters-in-a-row.csv',
    content: () => Buffer.from(`name\nContoso\n${','.repeat(3_000_000)}\n`),
    fails: 'TooManyColumns',
    message: 'a row on line 3 has more than 1000 columns (maxColumns)',
  },
  {
    name: 'deep-nesting.json (10,000 levels)',
    content: () => Buffer.from(`[${'['.repeat(10_000)}${']'.repeat(10_000)}, {"name": "Contoso"}]`),
    profile: noRequired,
    rowsInFile: 2,
    failed: [[1, 'row 1 (line 1) is an array; each element of the array must be an object']],
  },
  {
    name: 'deep-nesting-object.json (10,000 levels)',
    content: () => Buffer.from(`[{"name": "Contoso", "description": ${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}]`),
    rowsInFile: 1,
    failed: [[1, "row 1, column 'description': an object is not text"]],
  },
  {
    name: 'deep-nesting.ndjson (10,000 levels)',
    content: () => Buffer.from(`{"name": "A"}\n${'['.repeat(10_000)}${']'.repeat(10_000)}\n{"name": "B"}\n`),
    rowsInFile: 3,
    failed: [[2, 'line 2 is an array; each line must be a JSON object']],
  },
  {
    name: 'truncated.csv.gz',
    content: () => {
      const gz = gzipSync(Buffer.from(`name\n${'Contoso\n'.repeat(10_000)}`));
      return gz.subarray(0, gz.length - 40);
    },
    fails: 'CompressedDataCorrupt',
    message: 'gzip data is truncated or corrupt',
  },
  {
    name: 'valid.csv.gz',
    content: () => gzipSync(Buffer.from(`name,revenue\n${'Contoso,1.5\n'.repeat(1000)}`)),
    rowsInFile: 1000,
    failed: [],
  },
  {
    name: 'not-gzip.csv.gz',
    content: () => Buffer.from('name\nContoso\n'),
    fails: 'CompressedDataCorrupt',
    message: 'file is named .gz but is not gzip data',
  },
];

describe('bad-input corpus', () => {
  test('has at least 25 committed files and every one is covered by a case', () => {
    const committed = readdir();
    expect(committed.length).toBeGreaterThanOrEqual(25);
    for (const name of committed) expect(cases.some((c) => c.name === name)).toBe(true);
  });

  test.each(cases.map((c) => [c.name, c] as const))(
    '%s',
    async (_, c) => {
      const fileName = c.name.split(' ')[0]!;
      const outcome = await load(c.content(), fileName, c.profile, c.limits);
      if ('fails' in c) {
        expect(outcome).toBeInstanceOf(IngestionError);
        const error = outcome as IngestionError;
        expect(error.code).toBe(c.fails);
        expect(error.message).toContain(c.message);
        return;
      }
      if (outcome instanceof IngestionError) throw new Error(`expected rows, the load failed: ${outcome.message}`);
      // No row silently dropped: every row of the file is either converted or failed, once.
      expect(outcome.converted.length + outcome.failed.length).toBe(c.rowsInFile);
      const numbers = [...outcome.converted.map((r) => r.rowNumber), ...outcome.failed.map((f) => f.rowNumber)].sort(
        (a, b) => a - b,
      );
      expect(numbers).toEqual(Array.from({ length: c.rowsInFile }, (_, i) => i + 1));
      expect(outcome.failed.map((f) => f.rowNumber)).toEqual(c.failed.map(([n]) => n));
      c.failed.forEach(([, fragment], i) => expect(outcome.failed[i]!.message).toContain(fragment));
      c.check?.(outcome);
    },
    120_000,
  );
});

function readdir(): string[] {
  return readdirSync(corpus).filter((name) => !name.startsWith('.') && name !== 'README.md');
}
