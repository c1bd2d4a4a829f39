/**
 * The column kinds as the load path applies them (columnKindPlan.ts, columnKindRow.ts, planLoad, convertRow): the
 * metadata they read, the plan per file, each row's body and extras, and the faults naming row, column and value.
 */
import fc from 'fast-check';
import { joinMultiSelect } from '../../../shared/ingestion/columnKinds/index';
import { planLoad } from '../../../shared/ingestion/loadPlan';
import { resolveLoadProfile, type LoadProfileInput } from '../../../shared/ingestion/loadProfile';
import type { CellValue } from '../../../shared/ingestion/readers/readerTypes';
import { convertRow, type ConvertedRow, type FailedRow } from '../../../shared/ingestion/rowConversion';
import { buildTableMetadata } from '../../../shared/ingestion/tableMetadata';

const attribute = (LogicalName: string, AttributeType: string, extra: Record<string, unknown> = {}) => ({
  LogicalName,
  AttributeType,
  AttributeTypeName: { Value: `${AttributeType}Type` },
  IsValidForCreate: true,
  IsValidForUpdate: true,
  ...extra,
});
const option = (Value: number, Label: string, extra: Record<string, unknown> = {}) => ({
  Value,
  Label: { UserLocalizedLabel: { Label, LanguageCode: 1033 }, LocalizedLabels: [{ Label, LanguageCode: 1033 }] },
  ...extra,
});
const tags = ['Red', 'Green; Blue', 'Yellow', 'Back\\slash'];

const metadata = buildTableMetadata({
  entityDefinition: {
    LogicalName: 'contact',
    EntitySetName: 'contacts',
    PrimaryIdAttribute: 'contactid',
    PrimaryNameAttribute: 'lastname',
    Attributes: [
      attribute('contactid', 'Uniqueidentifier', { IsPrimaryId: true, IsValidForUpdate: false }),
      attribute('lastname', 'String', { MaxLength: 50, IsPrimaryName: true }),
      attribute('parentcustomerid', 'Customer', { Targets: ['account', 'contact'] }),
      attribute('ownerid', 'Owner', { Targets: ['systemuser', 'team'] }),
      attribute('statecode', 'State'),
      attribute('statuscode', 'Status'),
      attribute('new_tags', 'Virtual', { AttributeTypeName: { Value: 'MultiSelectPicklistType' } }),
      attribute('new_file', 'Virtual', { AttributeTypeName: { Value: 'FileType' }, MaxSizeInKB: 1 }),
      attribute('new_photo', 'Virtual', { AttributeTypeName: { Value: 'ImageType' }, MaxSizeInKB: 1 }),
      attribute('overriddencreatedon', 'DateTime', { Format: 'DateOnly', IsValidForUpdate: false }),
      attribute('createdon', 'DateTime', { IsValidForCreate: false, IsValidForUpdate: false }),
    ],
    Keys: [],
  },
  stateAttributes: {
    value: [{ LogicalName: 'statecode', OptionSet: { Options: [option(0, 'Active'), option(1, 'Inactive')] } }],
  },
  statusAttributes: {
    value: [
      {
        LogicalName: 'statuscode',
        OptionSet: { Options: [option(1, 'Active', { State: 0 }), option(2, 'Inactive', { State: 1 })] },
      },
    ],
  },
  multiSelectAttributes: {
    value: [{ LogicalName: 'new_tags', OptionSet: { Options: tags.map((l, i) => option(100 + i, l)) } }],
  },
  manyToOneRelationships: {
    value: [
      {
        ReferencingAttribute: 'parentcustomerid',
        ReferencingEntityNavigationPropertyName: 'parentcustomerid_account',
        ReferencedEntity: 'account',
      },
      {
        ReferencingAttribute: 'parentcustomerid',
        ReferencingEntityNavigationPropertyName: 'parentcustomerid_contact',
        ReferencedEntity: 'contact',
      },
      {
        ReferencingAttribute: 'ownerid',
        ReferencingEntityNavigationPropertyName: 'ownerid',
        ReferencedEntity: 'systemuser',
      },
      { ReferencingAttribute: 'ownerid', ReferencingEntityNavigationPropertyName: 'ownerid', ReferencedEntity: 'team' },
    ],
  },
  manyToManyRelationships: {
    value: [
      {
        SchemaName: 'contactleads_association',
        Entity1LogicalName: 'contact',
        Entity2LogicalName: 'lead',
        Entity1NavigationPropertyName: 'contactleads_association',
        Entity2NavigationPropertyName: 'contactleads_association',
      },
      {
        SchemaName: 'new_unknown_sides',
        Entity1LogicalName: 'contact',
        Entity2LogicalName: 'new_gone',
        Entity1NavigationPropertyName: 'a',
        Entity2NavigationPropertyName: 'b',
      },
    ],
  },
  relatedEntitySets: {
    account: 'accounts',
    contact: 'contacts',
    systemuser: 'systemusers',
    team: 'teams',
    lead: 'leads',
  },
  relatedPrimaryIds: { account: 'accountid', contact: 'contactid', lead: 'leadid' },
});

const accountUrl = 'https://acct.blob.core.windows.net';
const id = '3F2504E0-4F89-11D3-9A0C-0305E82C3301';
const lowerId = id.toLowerCase();

function convert(values: Record<string, CellValue>, profile: LoadProfileInput = {}): ConvertedRow | FailedRow {
  const plan = planLoad(metadata, resolveLoadProfile({ folderProfile: profile }), Object.keys(values));
  return convertRow(
    plan,
    { ok: true, rowNumber: 7, line: 8, byteStart: 0, byteEnd: 0, raw: '', values },
    { accountUrl },
  );
}
function ok(values: Record<string, CellValue>, profile?: LoadProfileInput): ConvertedRow {
  const row = convert(values, profile);
  if (!row.ok) throw new Error(row.faults.map((f) => f.message).join('; '));
  return row;
}
function faultOf(values: Record<string, CellValue>, profile?: LoadProfileInput) {
  const row = convert(values, profile);
  if (row.ok) throw new Error(`expected a fault, got ${JSON.stringify(row.body)}`);
  return row.faults[0]!;
}
const plan = (columns: string[], profile: LoadProfileInput = {}) =>
  planLoad(metadata, resolveLoadProfile({ folderProfile: profile }), columns);

describe('metadata for the column kinds', () => {
  test('Virtual attributes are typed by AttributeTypeName; status options keep their state; N:N sides resolved', () => {
    expect(metadata.attributes['new_tags']!.type).toBe('MultiSelectPicklist');
    expect(metadata.attributes['new_file']).toMatchObject({ type: 'File', maxSizeInKB: 1 });
    expect(metadata.attributes['new_photo']!.type).toBe('Image');
    expect(metadata.attributes['statuscode']!.options!.map((o) => o.state)).toEqual([0, 1]);
    // A relationship whose other table is unknown (no entity set / primary id) is left out.
    expect(metadata.manyToMany).toEqual([
      {
        schemaName: 'contactleads_association',
        entity1: {
          table: 'contact',
          entitySetName: 'contacts',
          primaryIdAttribute: 'contactid',
          navigationProperty: 'contactleads_association',
        },
        entity2: {
          table: 'lead',
          entitySetName: 'leads',
          primaryIdAttribute: 'leadid',
          navigationProperty: 'contactleads_association',
        },
      },
    ]);
  });
});

describe('plan', () => {
  test('a file of plain columns gets no kind plan (its rows do no extra work)', () => {
    fc.assert(
      fc.property(
        fc.subarray(['lastname', 'contactid', 'overriddencreatedon', 'parentcustomerid'], { minLength: 1 }),
        (columns) => {
          expect(plan(columns).columnKinds).toBeUndefined();
        },
      ),
    );
  });

  test('convention headers that cannot work fail the file, naming the column and the allowed targets', () => {
    expect(() => plan(['lastname', 'parentcustomerid@lead'])).toThrow(
      "column 'parentcustomerid@lead': lead is not a target of parentcustomerid (allowed: account, contact)",
    );
    expect(() => plan(['lastname', 'lastname.type'])).toThrow("'lastname' is not a lookup column of contact");
    expect(() =>
      plan(['lastname', 'parentcustomerid@account'], {
        lookups: { parentcustomerid: { keys: { lead: 'leadnumber' } } },
      }),
    ).toThrow(
      "the profile's lookups.parentcustomerid names 'lead', which is not a target of parentcustomerid (allowed: account, contact)",
    );
  });

  test('createdon loads into overriddencreatedon', () => {
    expect(ok({ lastname: 'A', createdon: '2019-03-04' }).body).toMatchObject({ overriddencreatedon: '2019-03-04' });
  });

  test('an N:N relationship that does not exist fails the load, naming it and the known ones', () => {
    expect(() => plan(['contact', 'lead'], { relationship: 'contactleads' })).toThrow(
      "the N:N relationship 'contactleads' does not exist (known: contactleads_association)",
    );
  });
});

describe('rows', () => {
  test('polymorphic lookups: per-target columns, a .type column, the profile default table, alternate keys', () => {
    expect(ok({ lastname: 'A', 'parentcustomerid@account': id, 'parentcustomerid@contact': '' }).body).toEqual({
      lastname: 'A',
      'parentcustomerid_account@odata.bind': `/accounts(${lowerId})`,
    });
    expect(ok({ lastname: 'A', parentcustomerid: id, 'parentcustomerid.type': 'contacts' }).body).toMatchObject({
      'parentcustomerid_contact@odata.bind': `/contacts(${lowerId})`,
    });
    expect(
      ok(
        { lastname: 'A', 'parentcustomerid@account': "O'Brien" },
        { lookups: { parentcustomerid: { keys: { account: 'accountnumber' } } } },
      ).body,
    ).toMatchObject({ 'parentcustomerid_account@odata.bind': "/accounts(accountnumber='O''Brien')" });
    // A key value no URL can carry is resolved by a $filter query before the row is sent.
    expect(
      ok(
        { lastname: 'A', 'parentcustomerid@account': 'A/1' },
        { lookups: { parentcustomerid: { keys: { account: 'accountnumber' } } } },
      ).keyedBinds,
    ).toEqual([
      {
        property: 'parentcustomerid_account@odata.bind',
        column: 'parentcustomerid@account',
        target: { table: 'account', entitySetName: 'accounts', navigationProperty: 'parentcustomerid_account' },
        attribute: 'accountnumber',
        value: 'A/1',
      },
    ]);
    expect(faultOf({ lastname: 'A', parentcustomerid: id, 'parentcustomerid.type': 'lead' })).toEqual({
      rowNumber: 7,
      column: 'parentcustomerid.type',
      value: 'lead',
      message:
        "row 7, column 'parentcustomerid.type': 'lead' is not a target of parentcustomerid (allowed: account, contact)",
    });
  });

  test('fast-check: exactly one filled per-target column binds that target; two filled fail on the second', () => {
    const targets = [
      { table: 'account', set: 'accounts' },
      { table: 'contact', set: 'contacts' },
    ];
    fc.assert(
      fc.property(fc.uuid(), fc.constantFrom(0, 1), fc.boolean(), (uuid, which, both) => {
        const values: Record<string, CellValue> = { lastname: 'A' };
        targets.forEach(
          (t, i) => (values[`parentcustomerid@${t.table}`] = i === which || both ? uuid.toUpperCase() : ''),
        );
        const row = convert(values);
        if (both) {
          expect(row.ok).toBe(false);
          expect((row as FailedRow).faults[0]!.column).toBe('parentcustomerid@contact');
        } else {
          const t = targets[which]!;
          expect((row as ConvertedRow).body[`parentcustomerid_${t.table}@odata.bind`]).toBe(
            `/${t.set}(${uuid.toLowerCase()})`,
          );
        }
      }),
    );
  });

  test('owner: the look-up to make is carried with the row; an empty owner is left out', () => {
    expect(ok({ lastname: 'A', ownerid: 'team:Sales' }).ownerBind).toMatchObject({
      column: 'ownerid',
      text: 'team:Sales',
      query: { entitySetName: 'teams', anyOf: [{ attribute: 'name', value: 'Sales' }] },
    });
    expect(
      ok({ lastname: 'A', ownerid: 'x@contoso.com' }, { ownerBy: 'internalemailaddress' }).ownerBind!.query.anyOf,
    ).toEqual([{ attribute: 'internalemailaddress', value: 'x@contoso.com' }]);
    expect(ok({ lastname: 'A', ownerid: '' }).ownerBind).toBeUndefined();
    // A profile lookup on ownerid keeps binding by id.
    expect(ok({ lastname: 'A', ownerid: `systemuser:${id}` }, { lookups: { ownerid: {} } }).body).toMatchObject({
      'ownerid@odata.bind': `/systemusers(${lowerId})`,
    });
  });

  test('state and status: created in the default state then updated; a status of another state fails', () => {
    const created = ok({ lastname: 'A', statecode: 'inactive', statuscode: 'Inactive' });
    expect(created.body).not.toHaveProperty('statecode');
    expect(created.stateUpdate).toEqual({ statecode: 1, statuscode: 2 });
    expect(ok({ lastname: 'A', statuscode: '1' }).body).toMatchObject({ statecode: 0, statuscode: 1 });
    expect(faultOf({ lastname: 'A', statecode: 'Active', statuscode: '2' })).toMatchObject({
      column: 'statuscode',
      value: '2',
      message: "row 7, column 'statuscode': status Inactive (2) belongs to state Inactive (1), not to Active (0)",
    });
  });

  test('fast-check: any labels written with joinMultiSelect load as their values, in order, once each', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...tags.keys()), { minLength: 1, maxLength: 8 }),
        fc.constantFrom(';', ',', '|'),
        (picked, separator) => {
          const cell = joinMultiSelect(
            picked.map((i) => tags[i]!),
            separator,
          );
          const row = ok({ lastname: 'A', new_tags: cell }, { multiSelectSeparator: separator });
          expect(row.body['new_tags']).toBe([...new Set(picked)].map((i) => 100 + i).join(','));
        },
      ),
    );
    expect(faultOf({ lastname: 'A', new_tags: 'Red;Purple' }).message).toMatch(
      /^row 7, column 'new_tags': 'Purple' is not an option of new_tags/,
    );
  });

  test('files are uploaded after the write; images as base64 in the body; bad cells name row, column and value', () => {
    const png = Buffer.from('png bytes').toString('base64');
    const row = ok({
      lastname: 'A',
      new_file: `${accountUrl}/docs/a%20b.pdf`,
      new_photo: `data:image/png;base64,${png}`,
    });
    expect(row.body['new_photo']).toBe(png);
    expect(row.uploads).toEqual([
      {
        column: 'new_file',
        text: `${accountUrl}/docs/a%20b.pdf`,
        attribute: 'new_file',
        maxSizeInKB: 1,
        blob: { container: 'docs', blobName: 'a b.pdf' },
      },
    ]);
    expect(faultOf({ lastname: 'A', new_file: 'https://other.blob.core.windows.net/docs/a.pdf' }).message).toBe(
      `row 7, column 'new_file': 'https://other.blob.core.windows.net/docs/a.pdf' is outside the load's storage account (${accountUrl})`,
    );
    expect(
      faultOf({ lastname: 'A', new_photo: `data:image/png;base64,${Buffer.alloc(2048).toString('base64')}` }).message,
    ).toMatch(/^row 7, column 'new_photo': .* is over the .* new_photo takes \(MaxSizeInKB 1\)$/);
  });

  test('N:N pair rows carry the two references; a bad id fails its row', () => {
    const pairs = { relationship: 'contactleads_association' };
    expect(ok({ contactid: id, 'lead.new_code': 'L-1' }, pairs).association).toEqual({
      entity1: { kind: 'id', id: lowerId },
      entity2: { kind: 'key', attribute: 'new_code', value: 'L-1' },
    });
    expect(faultOf({ contact: 'nope', lead: id }, pairs)).toMatchObject({
      column: 'contact',
      message: "row 7, column 'contact': 'nope' is not a GUID (the id of the contact record)",
    });
  });
});
