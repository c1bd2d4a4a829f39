import fc from 'fast-check';
import { planLoad } from '../../../shared/ingestion/loadPlan';
import { resolveLoadProfile, type LoadProfileInput } from '../../../shared/ingestion/loadProfile';
import type { SourceRow, CellValue } from '../../../shared/ingestion/readers/readerTypes';
import { convertRow, type ConvertedRow, type FailedRow } from '../../../shared/ingestion/rowConversion';
import { recordIdFor, uuidV5 } from '../../../shared/ingestion/recordId';
import { recordPath } from '../../../shared/ingestion/odataKeys';
import { accountMetadata } from './accountMetadataFixture';
import { plainShortDecimalPlaces } from '../../../shared/ingestion/valueConversion';

const metadata = accountMetadata();
const row = (values: Record<string, CellValue>, rowNumber = 3): SourceRow => ({
  ok: true,
  rowNumber,
  line: rowNumber + 1,
  byteStart: 0,
  byteEnd: 0,
  raw: '',
  values,
});

function convert(values: Record<string, CellValue>, profile: LoadProfileInput = {}, fileKey?: string) {
  const columns = Object.keys(values);
  const plan = planLoad(metadata, resolveLoadProfile({ folderProfile: { checkRequired: false, ...profile } }), columns);
  return convertRow(plan, row(values), { fileKey });
}
const body = (values: Record<string, CellValue>, profile?: LoadProfileInput) => {
  const result = convert(values, profile);
  if (!result.ok) throw new Error(result.faults.map((f) => f.message).join('; '));
  return JSON.parse(JSON.stringify(result.body)) as Record<string, unknown>;
};
const fault = (values: Record<string, CellValue>, profile?: LoadProfileInput) => {
  const result = convert(values, profile);
  if (result.ok) throw new Error(`expected a fault, got ${JSON.stringify(result.body)}`);
  return result.faults[0]!;
};

describe('value conversion', () => {
  test('text: verbatim (formula-looking values too), max length checked', () => {
    expect(body({ name: '=SUM(A1:A9)', description: '@cmd|/c calc' })).toEqual({
      name: '=SUM(A1:A9)',
      description: '@cmd|/c calc',
    });
    expect(fault({ name: 'x'.repeat(161) })).toEqual({
      rowNumber: 3,
      column: 'name',
      value: `${'x'.repeat(80)}… (161 characters)`,
      message: "row 3, column 'name': the value is 161 characters long; name allows at most 160",
    });
  });

  test('whole numbers: range from metadata and the Integer default; thousands separators refused clearly', () => {
    expect(body({ numberofemployees: ' 42 ', sharesoutstanding: '-2147483648' })).toEqual({
      numberofemployees: 42,
      sharesoutstanding: -2147483648,
    });
    expect(fault({ numberofemployees: '-1' }).message).toBe(
      "row 3, column 'numberofemployees': -1 is out of range for numberofemployees (0 to 1000000000)",
    );
    expect(fault({ sharesoutstanding: '2147483648' }).message).toContain('out of range');
    expect(fault({ numberofemployees: '1,000' }).message).toBe(
      "row 3, column 'numberofemployees': '1,000' is not a whole number: use '.' as the decimal separator and no thousands separators",
    );
    expect(fault({ numberofemployees: '4.5' }).message).toContain("'4.5' is not a whole number");
  });

  test('BigInt keeps every digit beyond 2^53', () => {
    const result = convert({ new_bignumber: '9007199254740993' });
    expect(result.ok && JSON.stringify(result.body)).toBe('{"new_bignumber":9007199254740993}');
    expect(fault({ new_bignumber: '9223372036854775808' }).message).toContain('out of range');
  });

  test("decimals and money: '.' separator, precision, range; '1,5' refused", () => {
    expect(body({ revenue: '1234.50', new_rate: '-0.1250', address1_latitude: '47.6' })).toEqual({
      revenue: 1234.5,
      new_rate: -0.125,
      address1_latitude: 47.6,
    });
    expect(fault({ revenue: '1,5' }).message).toBe(
      "row 3, column 'revenue': '1,5' is not a number: use '.' as the decimal separator and no thousands separators",
    );
    expect(fault({ revenue: '1.234' }).message).toBe(
      "row 3, column 'revenue': 1.234 has 3 decimal places; revenue allows at most 2",
    );
    expect(fault({ address1_latitude: '91' }).message).toContain('out of range');
    expect(fault({ revenue: 'abc' }).message).toContain("'abc' is not a number");
    const long = convert({ revenue: '12345678901234.56' });
    expect(long.ok && JSON.stringify(long.body)).toBe('{"revenue":12345678901234.56}');
  });

  test('booleans: words, digits and the option labels', () => {
    for (const [text, value] of [
      ['TRUE', true],
      ['no', false],
      ['1', true],
      ['0', false],
      ['Do Not Allow', true],
      ['allow', false],
    ] as const) {
      expect(body({ donotemail: text })).toEqual({ donotemail: value });
    }
    expect(fault({ donotemail: 'maybe' }).message).toBe(
      "row 3, column 'donotemail': 'maybe' is not a yes/no value: use true/false, 1/0, yes/no or 'Do Not Allow'/'Allow'",
    );
  });

  test('dates: ISO 8601, date-only attributes, offsets, profile formats; wrong formats refused', () => {
    expect(body({ new_founded: '2024-02-29', lastcontactedon: '2024-03-01T10:15:00+02:00' })).toEqual({
      new_founded: '2024-02-29',
      lastcontactedon: '2024-03-01T08:15:00Z',
    });
    expect(body({ lastcontactedon: '2024-03-01' })).toEqual({ lastcontactedon: '2024-03-01T00:00:00Z' });
    expect(body({ lastcontactedon: '2024-03-01 10:00' }, { timeZone: '-05:00' })).toEqual({
      lastcontactedon: '2024-03-01T15:00:00Z',
    });
    expect(body({ new_founded: '31/01/2024' }, { dateFormat: 'DD/MM/YYYY' })).toEqual({ new_founded: '2024-01-31' });
    expect(fault({ new_founded: '31/01/2024' }).message).toBe(
      "row 3, column 'new_founded': '31/01/2024' is not a date: expected ISO 8601 (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ), or set dateFormat in the load profile",
    );
    expect(fault({ new_founded: '2023-02-29' }).message).toContain('is not a valid date');
    expect(fault({ new_founded: '1700-01-01' }).message).toContain('outside the range Dataverse stores');
  });

  test('choices by value or by label (case-insensitive); unknown ones listed', () => {
    // A create in a state other than the default one is created, then updated to it (issue 16, stateStatus.ts).
    const created = convert({ industrycode: 'agriculture', statecode: 'Inactive', statuscode: '2' });
    expect(created).toMatchObject({
      ok: true,
      body: { industrycode: 2 },
      stateUpdate: { statecode: 1, statuscode: 2 },
    });
    expect(
      body(
        { accountid: '3f2504e0-4f89-11d3-9a0c-0305e82c3301', statecode: 'Inactive', statuscode: '2' },
        { operation: 'update' },
      ),
    ).toEqual({ statecode: 1, statuscode: 2 });
    expect(fault({ industrycode: 'Banking' }).message).toBe(
      "row 3, column 'industrycode': 'Banking' is not a label of choice industrycode (allowed: 1 'Accounting', 2 'Agriculture', 3 'Broadcasting Printing and Publishing')",
    );
    expect(fault({ industrycode: '99' }).message).toContain('99 is not a value of choice industrycode');
  });

  test('lookups by id, by Web API reference, by table:id, and by alternate key with escaping', () => {
    const id = '3F2504E0-4F89-11D3-9A0C-0305E82C3301';
    expect(body({ primarycontactid: id })).toEqual({
      'primarycontactid@odata.bind': '/contacts(3f2504e0-4f89-11d3-9a0c-0305e82c3301)',
    });
    expect(body({ primarycontactid: `/contacts(${id})` })).toEqual({
      'primarycontactid@odata.bind': `/contacts(${id})`,
    });
    expect(body({ new_customerid: `contact:{${id}}` })).toEqual({
      'new_customerid_contact@odata.bind': '/contacts(3f2504e0-4f89-11d3-9a0c-0305e82c3301)',
    });
    expect(fault({ new_customerid: id }).message).toContain(
      "can refer to account or contact: write the value as '<table>:<id>'",
    );
    expect(
      body({ Parent: "O'Brien 1" }, { lookups: { Parent: { attribute: 'parentaccountid', by: 'accountnumber' } } }),
    ).toEqual({
      'parentaccountid@odata.bind': "/accounts(accountnumber='O''Brien 1')",
    });
    // A key value no bind URL can carry is kept for shared/loads to resolve to an id; key values are not trimmed.
    const keyed = convert(
      { name: 'x', Parent: ' A/1 ' },
      { lookups: { Parent: { attribute: 'parentaccountid', by: 'accountnumber' } } },
    ) as ConvertedRow;
    expect(keyed.body).toEqual({ name: 'x' });
    expect(keyed.keyedBinds).toHaveLength(1);
    expect(keyed.keyedBinds![0]).toMatchObject({
      property: 'parentaccountid@odata.bind',
      column: 'Parent',
      target: { table: 'account', entitySetName: 'accounts' },
      attribute: 'accountnumber',
      value: ' A/1 ',
    });
    expect(fault({ primarycontactid: 'bob' }).message).toContain("'bob' is not a GUID");
  });

  test('empty cells are skipped by default, cleared with emptyValues: null (update/upsert); JSON null clears', () => {
    expect(body({ accountnumber: 'A1', name: '', numberofemployees: '  ', primarycontactid: '' })).toEqual({});
    expect(
      body({ accountnumber: 'A1', name: '', numberofemployees: '', primarycontactid: '' }, { emptyValues: 'null' }),
    ).toEqual({
      name: null,
      numberofemployees: null,
      'primarycontactid@odata.bind': null,
    });
    expect(body({ accountnumber: 'A1', description: null })).toEqual({ description: null });
  });

  test('all faults of a row are reported, each naming row, column and value', () => {
    const result = convert({ name: 'ok', numberofemployees: 'many', revenue: '1,5' }) as FailedRow;
    expect(result.ok).toBe(false);
    expect(result.faults.map((f) => [f.rowNumber, f.column, f.value])).toEqual([
      [3, 'numberofemployees', 'many'],
      [3, 'revenue', '1,5'],
    ]);
  });

  test('JSON rows: typed values, extra keys resolved lazily, unknown keys fail the row', () => {
    const plan = planLoad(metadata, resolveLoadProfile({ folderProfile: { checkRequired: false } }), ['name']);
    const good = convertRow(
      plan,
      row({ name: 'A', numberofemployees: 12, donotemail: false, revenue: 10.25 }),
    ) as ConvertedRow;
    expect(good.body).toEqual({ name: 'A', numberofemployees: 12, donotemail: false, revenue: 10.25 });
    const bad = convertRow(plan, row({ name: 'A', nme: 'x', description: { nested: true } })) as FailedRow;
    expect(bad.faults.map((f) => f.message)).toEqual([
      "row 3, column 'nme': column 'nme' matches no attribute of table 'account' (did you mean 'name'?)",
      "row 3, column 'description': an object is not text",
    ]);
  });
});

describe('operations and keys', () => {
  test('create gets a deterministic primary id from the file key and row number', () => {
    const a = convert({ name: 'A' }, {}, 'incoming/account/a.csv@0x8DC') as ConvertedRow;
    const b = convert({ name: 'A' }, {}, 'incoming/account/a.csv@0x8DC') as ConvertedRow;
    expect(a.recordId).toBe(recordIdFor('incoming/account/a.csv@0x8DC', 3));
    expect(a.body.accountid).toBe(a.recordId);
    expect(b.recordId).toBe(a.recordId);
  });

  test('upsert by alternate key: key values out of the body, into the key', () => {
    const result = convert({ accountnumber: "A'1", name: 'Contoso' }) as ConvertedRow;
    expect(result).toMatchObject({
      operation: 'upsert',
      key: { accountnumber: "A'1" },
      body: { name: 'Contoso' },
    });
    expect(recordPath('accounts', { alternateKey: result.key as Record<string, string> })).toBe(
      "/accounts(accountnumber='A''1')",
    );
    expect(fault({ accountnumber: '', name: 'x' }).message).toBe(
      "row 3, column 'accountnumber': the key column is empty",
    );
    // Kept as written: shared/loads writes such a row by id (docs/design.md "Key literals").
    expect(convert({ accountnumber: 'A&B', name: 'x' })).toMatchObject({
      key: { accountnumber: 'A&B' },
    });
  });

  test('update and delete by primary id', () => {
    const id = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
    expect(convert({ accountid: id, name: 'x' }, { operation: 'update' })).toMatchObject({
      operation: 'update',
      key: id,
      body: { name: 'x' },
    });
    expect(convert({ accountid: id, name: 'x' }, { operation: 'delete' })).toMatchObject({
      operation: 'delete',
      key: id,
      body: {},
    });
    expect(fault({ accountid: 'nope', name: 'x' }, { operation: 'delete' }).message).toContain('is not a GUID');
  });
});

describe('record ids', () => {
  test('uuidV5 matches the RFC 9562 test vector (DNS namespace, www.example.com)', () => {
    const dns = Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex');
    expect(uuidV5('www.example.com', dns)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  test('deterministic, version 5, and distinct across files and rows', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        (fileA, fileB, rowA, rowB) => {
          const id = recordIdFor(fileA, rowA);
          expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
          expect(recordIdFor(fileA, rowA)).toBe(id);
          expect(uuidV5(`${fileA}\u0000${rowA}`)).toBe(id); // the per-file fast path equals the plain RFC computation
          if (fileA !== fileB || rowA !== rowB) expect(recordIdFor(fileB, rowB)).not.toBe(id);
        },
      ),
    );
    expect(() => recordIdFor('f', 0)).toThrow(RangeError);
  });
});

describe('plainShortDecimalPlaces (the decimal fast path) agrees with its regex definition', () => {
  const plainShortDecimal = /^-?(0|[1-9]\d*)(\.\d*[1-9])?$/;
  const byRegex = (text: string): number | undefined => {
    if (!plainShortDecimal.test(text) || text.replace(/^-?0*\.?0*/, '').replace('.', '').length > 15) return undefined;
    return text.includes('.') ? text.length - text.indexOf('.') - 1 : 0;
  };
  test('on strings of digits, signs, dots and spaces', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('0', '0', '1', '5', '9', '.', '-', '+', ' ', 'e'), maxLength: 22 }),
        (text) => {
          expect(plainShortDecimalPlaces(text)).toBe(byRegex(text));
        },
      ),
      { numRuns: 5000 },
    );
  });
  test('examples', () => {
    expect(
      [
        '357244.65',
        '0',
        '-0',
        '0.001',
        '-12.5',
        '123456789012345',
        '1234567890123456',
        '1.50',
        '01',
        '1.',
        '.5',
        '',
      ].map(plainShortDecimalPlaces),
    ).toEqual([2, 0, 0, 3, 1, 0, undefined, undefined, undefined, undefined, undefined, undefined]);
  });
});
