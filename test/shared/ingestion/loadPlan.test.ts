import { planLoad } from '../../../shared/ingestion/loadPlan';
import { resolveLoadProfile, type LoadProfileInput } from '../../../shared/ingestion/loadProfile';
import { buildTableMetadata } from '../../../shared/ingestion/tableMetadata';
import { accountEntityDefinition, accountMetadata } from './accountMetadataFixture';

const metadata = accountMetadata();
const plan = (columns: string[], profile: LoadProfileInput = {}) =>
  planLoad(metadata, resolveLoadProfile({ folderProfile: profile }), columns);

describe('table metadata', () => {
  test('is built from the EntityDefinitions responses', () => {
    expect(metadata.entitySetName).toBe('accounts');
    expect(metadata.keys).toEqual([{ logicalName: 'account_accountnumber', attributes: ['accountnumber'] }]);
    expect(metadata.attributes.new_customerid!.lookupTargets).toEqual([
      {
        table: 'account',
        entitySetName: 'accounts',
        navigationProperty: 'new_customerid_account',
        // the table's own keys: a lookup to its own table knows them without another metadata call
        keys: [{ logicalName: 'account_accountnumber', attributes: ['accountnumber'] }],
        primaryIdAttribute: 'accountid',
      },
      { table: 'contact', entitySetName: 'contacts', navigationProperty: 'new_customerid_contact' },
    ]);
    expect(metadata.attributes.industrycode!.options![0]).toEqual({
      value: 1,
      labels: [{ label: 'Accounting', languageCode: 1033 }],
    });
    expect(metadata.attributes.donotemail!.trueOption!.labels[0]!.label).toBe('Do Not Allow');
  });

  test('a response of the wrong shape is rejected by zod naming the field', () => {
    expect(() => buildTableMetadata({ entityDefinition: { ...accountEntityDefinition, EntitySetName: 7 } })).toThrow(
      /EntitySetName/,
    );
  });
});

describe('planLoad', () => {
  test('default: CSV headers are attribute logical names (any case); create when no key is covered', () => {
    const p = plan(['name', 'Description', 'revenue']);
    expect(p.operation).toBe('create');
    expect(p.key).toBeUndefined();
    expect(p.bindings.map((b) => [b.column, b.kind])).toEqual([
      ['name', 'attribute'],
      ['Description', 'attribute'],
      ['revenue', 'attribute'],
    ]);
  });

  test('default: upsert when the columns cover an alternate key', () => {
    const p = plan(['accountnumber', 'name']);
    expect(p.operation).toBe('upsert');
    expect(p.key).toEqual({
      kind: 'alternateKey',
      name: 'account_accountnumber',
      attributes: ['accountnumber'],
      columns: ['accountnumber'],
    });
  });

  test('unknown columns fail the load, named, with close names', () => {
    expect(() => plan(['name', 'acountnumber', 'Revenu', 'zzz'])).toThrow(
      "the file can't be loaded into table 'account': column 'acountnumber' matches no attribute of table 'account' (did you mean 'accountnumber'?); column 'Revenu' matches no attribute of table 'account' (did you mean 'revenue'?); column 'zzz' matches no attribute of table 'account'",
    );
  });

  test('a create missing a required attribute fails; checkRequired: false allows it', () => {
    expect(() => plan(['description'])).toThrow("required attribute(s) missing for create: 'name'");
    expect(plan(['description'], { checkRequired: false }).operation).toBe('create');
  });

  test('update / upsert / delete need key columns', () => {
    expect(() => plan(['name'], { operation: 'update' })).toThrow(
      "operation update needs the columns of a key of table 'account' ('accountnumber', 'accountid'), and the file has none",
    );
    expect(plan(['accountid', 'name'], { operation: 'update' }).key).toEqual({
      kind: 'primaryId',
      attribute: 'accountid',
      column: 'accountid',
    });
    expect(() => plan(['name'], { operation: 'upsert', alternateKey: 'account_accountnumber' })).toThrow(
      "the key 'account_accountnumber' needs column(s) 'accountnumber'",
    );
    expect(() => plan(['name'], { operation: 'upsert', alternateKey: 'nokey' })).toThrow(
      "alternateKey 'nokey' is not a key of table 'account'",
    );
    const del = plan(['accountnumber', 'name'], { operation: 'delete' });
    expect(del.bindings.find((b) => b.column === 'name')).toMatchObject({ kind: 'ignored' });
  });

  test('columns that cannot be written are refused with the reason', () => {
    expect(() => plan(['name', 'createdon'])).toThrow("column 'createdon': attribute 'createdon' is read-only");
    expect(() => plan(['name', 'primarycontactidname'])).toThrow(
      "'primarycontactidname' is a read-only part of 'primarycontactid'",
    );
    expect(() => plan(['name', 'new_tags'])).toThrow("is of type Virtual, which can't be loaded");
    expect(() => plan(['name', 'Name2'], { columns: { Name2: 'name' } })).toThrow(
      "columns 'name' and 'Name2' both set attribute 'name'",
    );
    expect(() => plan(['name'], { columns: { Missing: 'name' } })).toThrow(
      "the profile maps column 'Missing', which the file doesn't have",
    );
  });

  test('profile mapping, ignored columns, lookups and the failed-rows _error column', () => {
    const p = plan(['Account Name', 'Junk', 'Parent', 'primarycontactid', '_error'], {
      columns: { 'Account Name': 'name', Junk: null },
      lookups: { Parent: { attribute: 'parentaccountid', by: 'accountnumber' } },
    });
    expect(p.bindings.map((b) => [b.column, b.kind])).toEqual([
      ['Account Name', 'attribute'],
      ['Junk', 'ignored'],
      ['Parent', 'lookup'],
      ['primarycontactid', 'lookup'],
      ['_error', 'ignored'],
    ]);
    expect(p.bindings[2]).toMatchObject({
      by: 'accountnumber',
      targets: [{ table: 'account', entitySetName: 'accounts', navigationProperty: 'parentaccountid' }],
    });
  });

  test('a lookup whose entity set or navigation property is unknown says which profile setting fixes it', () => {
    const bare = buildTableMetadata({ entityDefinition: accountEntityDefinition });
    expect(() => planLoad(bare, resolveLoadProfile({}), ['name', 'primarycontactid'])).toThrow(
      "the entity set of table 'contact' is unknown; set lookups.primarycontactid.entitySet",
    );
    const p = planLoad(
      bare,
      resolveLoadProfile({
        folderProfile: {
          lookups: { primarycontactid: { entitySet: 'contacts', navigationProperty: 'primarycontactid' } },
        },
      }),
      ['name', 'primarycontactid'],
    );
    expect(p.bindings[1]).toMatchObject({
      kind: 'lookup',
      targets: [{ entitySetName: 'contacts', navigationProperty: 'primarycontactid' }],
    });
  });
});
