/**
 * Dataverse's answers for one row → messages naming the column and value (rowFailureMessage.ts), from the
 * texts the emulator and Dataverse send (dataverse-wire.md §1.5, §4; dev/emulator/records/faults.ts), over a
 * plan built by the real planner; and the failed-rows file written from `loadrows` entities (loadRowsApi.ts)
 * reading back to the rows and messages that were stored.
 */
import fc from 'fast-check';
import { planLoad } from '../../../shared/ingestion/loadPlan';
import { resolveLoadProfile, type LoadProfileInput } from '../../../shared/ingestion/loadProfile';
import { writeFailedRows } from '../../../shared/ingestion/failedRowsWriter';
import { rowOfFailedRecord } from '../../../shared/loads/loadEnd';
import type { FailedRowRecord } from '../../../shared/loads/loadRecord';
import { failedRowView, failedRowsFileName, groupFailures } from '../../../shared/loads/loadRowsApi';
import { explainRowFailure, type RowFailureInput } from '../../../shared/loads/rowFailureMessage';
import { accountMetadata } from '../ingestion/accountMetadataFixture';
import { csvTable } from '../ingestion/csvArbitraries';
import { readAll } from '../ingestion/readAll';

const metadata = accountMetadata();
const planOf = (profile: LoadProfileInput, columns: string[]) =>
  planLoad(metadata, resolveLoadProfile({ folderProfile: profile }), columns);

const missingId = '00000000-0000-0000-0000-0000000000ff';
const faults = {
  missingByKey: {
    code: '0x80040217',
    message: 'A record with the specified key values does not exist in account entity',
  },
  missingById: { code: '0x80040217', message: `account With Id = ${missingId} Does Not Exist` },
  duplicateKey: { code: '0x80040237', message: 'A record with matching key values already exists.' },
  maxLength: {
    code: '0x80044331',
    message:
      "A validation error occurred.  The length of the 'name' attribute of the 'account' entity exceeded the maximum allowed length of '160'.",
  },
  outOfRange: {
    code: '0x8004431A',
    message:
      "A validation error occurred. The value 99 of 'industrycode' on record of type 'account' is outside the valid range.",
  },
  required: { code: '0x80040200', message: "Attribute 'name' cannot be NULL" },
};

describe('explainRowFailure', () => {
  const upsert = planOf(
    {
      operation: 'upsert',
      alternateKey: 'accountnumber',
      columns: { 'Account Name': 'name', Number: 'accountnumber', Industry: 'industrycode' },
      lookups: { Company: { attribute: 'parentaccountid', by: 'accountnumber' } },
    },
    ['Account Name', 'Number', 'Industry', 'Company'],
  );
  const row = (values: Record<string, unknown>): Omit<RowFailureInput, 'fault'> => ({
    plan: upsert,
    alternateKeys: metadata.keys,
    rowNumber: 3,
    values,
  });

  test('a lookup target missing by key names the column, the lookup and the value, not the row own key', () => {
    const out = explainRowFailure({
      ...row({ 'Account Name': 'Contoso', Number: 'A-1', Company: 'P-404' }),
      fault: faults.missingByKey,
    });
    expect(out).toEqual({
      column: 'Company',
      value: 'P-404',
      message:
        "row 3, column 'Company' (parentaccountid → account by accountnumber): no account with accountnumber 'P-404'",
    });
  });

  test('a lookup target missing by id names the column and the id', () => {
    const plan = planOf({ operation: 'create' }, ['name', 'parentaccountid']);
    const out = explainRowFailure({
      plan,
      rowNumber: 7,
      values: { name: 'x', parentaccountid: missingId },
      fault: faults.missingById,
    });
    expect(out).toEqual({
      column: 'parentaccountid',
      value: missingId,
      message: `row 7, column 'parentaccountid' (parentaccountid → account by id): no account with id '${missingId}'`,
    });
  });

  test("an update whose own key finds nothing says so, naming the key's column and value", () => {
    const plan = planOf({ operation: 'update', alternateKey: 'accountnumber' }, ['accountnumber', 'name']);
    const out = explainRowFailure({
      plan,
      rowNumber: 2,
      values: { accountnumber: 'A-9', name: 'x' },
      fault: faults.missingByKey,
    });
    expect(out.message).toBe("row 2, column 'accountnumber': no account with accountnumber 'A-9' to update");
    expect(out.column).toBe('accountnumber');
  });

  test('a duplicate key names the key columns and values (a create: the table key the row fills)', () => {
    const plan = planOf({ operation: 'create' }, ['name', 'accountnumber']);
    const out = explainRowFailure({
      plan,
      alternateKeys: metadata.keys,
      rowNumber: 5,
      values: { name: 'x', accountnumber: 'A-1' },
      fault: faults.duplicateKey,
    });
    expect(out).toEqual({
      column: 'accountnumber',
      value: 'A-1',
      message: "row 5, column 'accountnumber': another account already has accountnumber 'A-1'",
    });
  });

  test('max length, invalid choice and a required column name the column and value', () => {
    const long = 'x'.repeat(170);
    expect(explainRowFailure({ ...row({ 'Account Name': long }), fault: faults.maxLength })).toMatchObject({
      column: 'Account Name',
      value: long,
      message: `row 3, column 'Account Name' (name): '${'x'.repeat(30)}…' is 170 characters, over the 160 allowed`,
    });
    expect(explainRowFailure({ ...row({ Industry: '99' }), fault: faults.outOfRange })).toEqual({
      column: 'Industry',
      value: '99',
      message:
        "row 3, column 'Industry' (industrycode): '99' is not a valid choice or is out of range (Dataverse got 99)",
    });
    expect(explainRowFailure({ ...row({ 'Account Name': '' }), fault: faults.required })).toEqual({
      column: 'Account Name',
      value: '',
      message: "row 3, column 'Account Name' (name): a value is required",
    });
    const withoutName = planOf({ operation: 'create', checkRequired: false }, ['accountnumber']);
    expect(explainRowFailure({ plan: withoutName, rowNumber: 1, values: {}, fault: faults.required })).toEqual({
      message: 'row 1: name is required, and the file has no column for it',
    });
  });

  test('any other answer keeps Dataverse text after the row number', () => {
    expect(
      explainRowFailure({
        ...row({}),
        fault: { code: '0x80040220', message: 'Principal user is missing prvCreateAccount privilege' },
      }),
    ).toEqual({ message: 'row 3: Principal user is missing prvCreateAccount privilege' });
  });

  test('property: the message always starts with the row number; a named column is one of the file columns holding the value', () => {
    const columns = ['Account Name', 'Number', 'Industry', 'Company'];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.dictionary(fc.constantFrom(...columns), fc.string({ maxLength: 30 })),
        fc.constantFrom(...Object.values(faults)),
        (rowNumber, values, fault) => {
          const out = explainRowFailure({ plan: upsert, alternateKeys: metadata.keys, rowNumber, values, fault });
          expect(out.message.startsWith(`row ${rowNumber}`)).toBe(true);
          if (out.column !== undefined) {
            for (const column of out.column.split(', ')) expect(columns).toContain(column);
            expect(out.message).toContain(`column '${out.column.split(', ')[0]}'`);
          }
          if (out.column !== undefined && !out.column.includes(', ')) expect(out.value).toBe(values[out.column] ?? '');
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('failed rows from loadrows', () => {
  const failedRecord = (rowNumber: number, cells: string[], message: string, extra: Partial<FailedRowRecord> = {}) =>
    ({
      rowNumber,
      line: rowNumber + 1,
      chunkIndex: 0,
      code: 'ConversionFailed',
      message,
      rowJson: JSON.stringify({ raw: cells.join(','), cells }),
      ...extra,
    }) satisfies FailedRowRecord;

  test('property: the CSV file written from stored failed rows reads back to the same cells plus _error', async () => {
    await fc.assert(
      fc.asyncProperty(csvTable, fc.string({ maxLength: 40 }), async ({ columns, rows, delimiter }, message) => {
        const stored = rows.map((cells, i) => failedRecord(i + 1, cells, `row ${i + 1}: ${message}`));
        let text = '';
        for await (const piece of writeFailedRows(
          stored.map((r) => ({ row: rowOfFailedRecord(r), error: r.message })),
          { format: 'csv', columns, delimiter, formulaProtection: false },
        ))
          text += piece;
        const read = await readAll(text, { fileName: 'f.csv', delimiter: delimiter as ',' });
        expect(read.file.columns).toEqual([...columns.filter((c) => c !== '_error'), '_error']);
        expect(read.rows.map((r) => r.cells!.at(-1))).toEqual(stored.map((r) => r.message));
        if (!columns.includes('_error')) expect(read.rows.map((r) => r.cells!.slice(0, -1))).toEqual(rows);
      }),
      { numRuns: 100 },
    );
  });

  test('a row view names cells by header, keeps Dataverse code and text, and parses the key', () => {
    const record = {
      plan: {
        shape: {
          format: 'csv' as const,
          encoding: 'utf-8' as const,
          compressed: false,
          byteOffsetsAreBlobOffsets: true,
          header: { columns: ['name', 'accountnumber'], delimiter: ',' as const, dataStart: 0 },
        },
        profile: resolveLoadProfile({}),
        blobEtag: 'e',
        fileKey: 'k',
        chunkSize: 1000,
      },
    };
    const view = failedRowView(
      record,
      failedRecord(
        4,
        ['Contoso', 'A-1', 'extra'],
        "row 4, column 'accountnumber': another account already has accountnumber 'A-1'",
        {
          code: '0x80040237',
          column: 'accountnumber',
          value: 'A-1',
          dataverseCode: '0x80040237',
          dataverseMessage: 'A record with matching key values already exists.',
          keyJson: JSON.stringify({ accountnumber: 'A-1' }),
        },
      ),
    );
    expect(view).toEqual({
      rowNumber: 4,
      line: 5,
      column: 'accountnumber',
      value: 'A-1',
      code: '0x80040237',
      message: "row 4, column 'accountnumber': another account already has accountnumber 'A-1'",
      dataverse: { code: '0x80040237', message: 'A record with matching key values already exists.' },
      key: { accountnumber: 'A-1' },
      row: { name: 'Contoso', accountnumber: 'A-1', _3: 'extra' },
    });
    expect(failedRowView({}, { ...failedRecord(1, [], 'x'), rowJson: '{"raw":"not read"}' }).row).toEqual({
      _raw: 'not read',
    });
  });

  test('groups: by code and column, largest first, one sample (the first row) each', async () => {
    async function* rows() {
      await Promise.resolve(); // as the store's pages arrive
      yield failedRecord(1, [], 'a', { column: 'Company', value: 'P-1', code: '0x80040217' });
      yield failedRecord(2, [], 'b', { column: 'revenue' });
      yield failedRecord(3, [], 'c', { column: 'Company', value: 'P-2', code: '0x80040217' });
      yield failedRecord(4, [], 'd', { column: 'Company', value: 'P-3', code: '0x80040237' });
      yield failedRecord(5, [], 'e', { column: 'revenue' });
      yield failedRecord(6, [], 'f', { column: 'revenue' });
    }
    expect(await groupFailures(rows())).toEqual([
      { code: 'ConversionFailed', column: 'revenue', count: 3, sample: { rowNumber: 2, line: 3, message: 'b' } },
      {
        code: '0x80040217',
        column: 'Company',
        count: 2,
        sample: { rowNumber: 1, line: 2, value: 'P-1', message: 'a' },
      },
      {
        code: '0x80040237',
        column: 'Company',
        count: 1,
        sample: { rowNumber: 4, line: 5, value: 'P-3', message: 'd' },
      },
    ]);
  });

  test('the download name comes from the source file, in safe characters', () => {
    expect(failedRowsFileName({ blobName: 'account/accounts.csv' }, 'csv')).toBe('accounts.failed-rows.csv');
    expect(failedRowsFileName({ blobName: 'account/Q1 "big" file.ndjson.gz' }, 'ndjson')).toBe(
      'Q1__big__file.failed-rows.ndjson',
    );
  });
});
