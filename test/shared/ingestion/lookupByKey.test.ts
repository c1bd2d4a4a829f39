/**
 * A lookup bound by key without a profile (issue 15, lookupKeys.ts): which key the metadata names per column, the
 * body each value gets (GUIDs stay ids, other values bind by the key), the in-file second pass and the plan's
 * edges picking such a column up, and the messages of the values no single key can bind.
 */
import fc from 'fast-check';
import { inferLookupKey, oneColumnKey } from '../../../shared/ingestion/lookupKeys';
import { planLoad, type ColumnBinding, type LoadPlan } from '../../../shared/ingestion/loadPlan';
import { resolveLoadProfile, type LoadProfileInput } from '../../../shared/ingestion/loadProfile';
import type { CellValue } from '../../../shared/ingestion/readers/readerTypes';
import { convertRow } from '../../../shared/ingestion/rowConversion';
import {
  buildTableMetadata,
  usableKeys,
  type AlternateKey,
  type TableMetadata,
} from '../../../shared/ingestion/tableMetadata';
import { inFileLookups } from '../../../shared/loads/inFileBinds';
import { lookupEdges } from '../../../shared/plans/planTables';

const attribute = (LogicalName: string, AttributeType: string, extra: Record<string, unknown> = {}) => ({
  LogicalName,
  AttributeType,
  IsValidForCreate: true,
  IsValidForUpdate: true,
  ...extra,
});
const key = (name: string, ...attributes: string[]): AlternateKey => ({ logicalName: name, attributes });
const entitySets = { account: 'accounts', contact: 'contacts', lead: 'leads', systemuser: 'systemusers' };
const emulatorKeys = {
  account: [key('accountnumber_key', 'accountnumber')],
  contact: [key('emailaddress1_key', 'emailaddress1')],
};

/** The emulator's default schema, as far as these lookups go; `relatedKeys` as tableMetadataSource reads them. */
function tables(relatedKeys: Record<string, AlternateKey[]> = emulatorKeys): Map<string, TableMetadata> {
  const nav = (ReferencingAttribute: string, ReferencedEntity: string, name = ReferencingAttribute) => ({
    ReferencingAttribute,
    ReferencingEntityNavigationPropertyName: name,
    ReferencedEntity,
  });
  const account = buildTableMetadata({
    entityDefinition: {
      LogicalName: 'account',
      EntitySetName: 'accounts',
      PrimaryIdAttribute: 'accountid',
      Attributes: [
        attribute('accountid', 'Uniqueidentifier', { IsPrimaryId: true }),
        attribute('name', 'String'),
        attribute('accountnumber', 'String'),
        attribute('parentaccountid', 'Lookup', { Targets: ['account'] }),
        attribute('primarycontactid', 'Lookup', { Targets: ['contact'] }),
        attribute('ownerid', 'Owner', { Targets: ['systemuser'] }),
      ],
      Keys: [{ LogicalName: 'accountnumber_key', KeyAttributes: ['accountnumber'] }],
    },
    manyToOneRelationships: {
      value: [nav('parentaccountid', 'account'), nav('primarycontactid', 'contact'), nav('ownerid', 'systemuser')],
    },
    relatedEntitySets: entitySets,
    relatedPrimaryIds: { account: 'accountid', contact: 'contactid', lead: 'leadid', systemuser: 'systemuserid' },
    relatedKeys,
  });
  const contact = buildTableMetadata({
    entityDefinition: {
      LogicalName: 'contact',
      EntitySetName: 'contacts',
      PrimaryIdAttribute: 'contactid',
      Attributes: [
        attribute('contactid', 'Uniqueidentifier', { IsPrimaryId: true }),
        attribute('lastname', 'String'),
        attribute('emailaddress1', 'String'),
        attribute('parentcustomerid', 'Customer', { Targets: ['account', 'contact'] }),
      ],
      Keys: [{ LogicalName: 'emailaddress1_key', KeyAttributes: ['emailaddress1'] }],
    },
    manyToOneRelationships: {
      value: [
        nav('parentcustomerid', 'account', 'parentcustomerid_account'),
        nav('parentcustomerid', 'contact', 'parentcustomerid_contact'),
      ],
    },
    relatedEntitySets: entitySets,
    relatedKeys,
  });
  const task = buildTableMetadata({
    entityDefinition: {
      LogicalName: 'task',
      EntitySetName: 'tasks',
      PrimaryIdAttribute: 'activityid',
      Attributes: [
        attribute('activityid', 'Uniqueidentifier', { IsPrimaryId: true }),
        attribute('subject', 'String'),
        attribute('regardingobjectid', 'Lookup', { Targets: ['account', 'contact', 'lead'] }),
      ],
    },
    manyToOneRelationships: {
      value: [
        nav('regardingobjectid', 'account', 'regardingobjectid_account_task'),
        nav('regardingobjectid', 'contact', 'regardingobjectid_contact_task'),
        nav('regardingobjectid', 'lead', 'regardingobjectid_lead_task'),
      ],
    },
    relatedEntitySets: entitySets,
    relatedKeys,
  });
  return new Map([
    ['account', account],
    ['contact', contact],
    ['task', task],
  ]);
}

const schema = tables();
const plan = (table: string, columns: string[], profile: LoadProfileInput = {}, metadata = schema) =>
  planLoad(metadata.get(table)!, resolveLoadProfile({ folderProfile: { checkRequired: false, ...profile } }), columns);
const lookupOf = (p: LoadPlan, column: string) =>
  p.bindings.find((b): b is Extract<ColumnBinding, { kind: 'lookup' }> => b.column === column && b.kind === 'lookup')!;
const convert = (p: LoadPlan, values: Record<string, CellValue>, rowNumber = 2) =>
  convertRow(p, { ok: true, rowNumber, line: rowNumber + 1, byteStart: 0, byteEnd: 0, raw: '', values });
const bodyOf = (p: LoadPlan, values: Record<string, CellValue>) => {
  const r = convert(p, values);
  if (!r.ok) throw new Error(r.faults.map((f) => f.message).join('; '));
  return r.body;
};
const faultOf = (p: LoadPlan, values: Record<string, CellValue>, rowNumber = 2) => {
  const r = convert(p, values, rowNumber);
  if (r.ok) throw new Error(`expected a fault, got ${JSON.stringify(r.body)}`);
  return r.faults[0]!;
};
const guid = '5e0c5f51-1111-4000-8000-00000000000a';

describe('the key a lookup column binds by, from the metadata', () => {
  test('the target table’s one alternate key of one attribute', () => {
    expect(oneColumnKey({ keys: [key('k', 'accountnumber')] })).toEqual(key('k', 'accountnumber'));
    expect(oneColumnKey({ keys: [key('k', 'a', 'b')] })).toBeUndefined();
    expect(oneColumnKey({})).toBeUndefined();
    expect(oneColumnKey({ keys: [key('k1', 'a'), key('k2', 'b')] })).toEqual({
      several: [key('k1', 'a'), key('k2', 'b')],
    });
  });

  test('keys whose index is not built yet are not used (EntityKeyIndexStatus)', () => {
    expect(
      usableKeys([
        { LogicalName: 'a_key', KeyAttributes: ['a'], EntityKeyIndexStatus: 'Active' },
        { LogicalName: 'b_key', KeyAttributes: ['b'], EntityKeyIndexStatus: 'Pending' },
        { LogicalName: 'c_key', KeyAttributes: ['c'], EntityKeyIndexStatus: 'Failed' },
        { LogicalName: 'd_key', KeyAttributes: ['d'] },
      ]),
    ).toEqual([key('a_key', 'a'), key('d_key', 'd')]);
  });

  test('defined exactly when one target has exactly one key of one attribute and no other target has any', () => {
    const keys = fc.array(
      fc.record({
        logicalName: fc.constantFrom('k1', 'k2'),
        attributes: fc.subarray(['a', 'b', 'c'], { minLength: 1 }),
      }),
      { maxLength: 3 },
    );
    const targets = fc.uniqueArray(fc.record({ table: fc.constantFrom('account', 'contact', 'lead'), keys }), {
      minLength: 1,
      maxLength: 3,
      selector: (t) => t.table,
    });
    fc.assert(
      fc.property(targets, (ts) => {
        const singles = ts.map((t) => t.keys.filter((k) => k.attributes.length === 1));
        const withAny = singles.filter((s) => s.length > 0);
        const inferred = inferLookupKey(ts);
        if (withAny.length === 1 && withAny[0]!.length === 1) {
          const i = singles.findIndex((s) => s.length > 0);
          expect(inferred).toEqual({
            table: ts[i]!.table,
            attribute: singles[i]![0]!.attributes[0],
            keyName: singles[i]![0]!.logicalName,
          });
        } else expect(inferred).toBeUndefined();
      }),
    );
  });

  test('single-target lookups (parentaccountid, primarycontactid) bind by the target’s key; owners stay by id', () => {
    const p = plan('account', ['name', 'accountnumber', 'parentaccountid', 'primarycontactid', 'ownerid']);
    expect(lookupOf(p, 'parentaccountid')).toMatchObject({
      by: 'accountnumber',
      inferredKey: { table: 'account', attribute: 'accountnumber', keyName: 'accountnumber_key' },
    });
    expect(lookupOf(p, 'primarycontactid')).toMatchObject({ by: 'emailaddress1', inferredKey: { table: 'contact' } });
    // The target's primary id (a key value no URL can carry is resolved to it by a $filter query).
    expect(lookupOf(p, 'primarycontactid').targets).toMatchObject([
      { table: 'contact', primaryIdAttribute: 'contactid' },
    ]);
    expect(p.bindings.find((b) => b.column === 'ownerid')).toMatchObject({ kind: 'ignored' }); // the owner kind
  });

  test('a profile decides alone: lookups.<col>.by "id" or a key attribute; a table without by infers its key', () => {
    const byId = lookupOf(
      plan('account', ['parentaccountid'], { lookups: { parentaccountid: { by: 'id' } } }),
      'parentaccountid',
    );
    expect(byId.by).toBe('id');
    expect(byId.inferredKey).toBeUndefined();
    const byName = lookupOf(
      plan('account', ['parentaccountid'], { lookups: { parentaccountid: { by: 'name' } } }),
      'parentaccountid',
    );
    expect(byName).toMatchObject({ by: 'name' });
    expect(byName.inferredKey).toBeUndefined();
    const chosen = plan('contact', ['parentcustomerid'], { lookups: { parentcustomerid: { table: 'account' } } });
    expect(lookupOf(chosen, 'parentcustomerid')).toMatchObject({
      by: 'accountnumber',
      inferredKey: { table: 'account' },
    });
  });

  test('a polymorphic lookup: the one target with a key of one attribute, else none', () => {
    expect(lookupOf(plan('contact', ['parentcustomerid']), 'parentcustomerid')).toMatchObject({ by: 'id' });
    const onlyAccount = tables({ account: emulatorKeys.account, contact: [], lead: [] });
    expect(lookupOf(plan('contact', ['parentcustomerid'], {}, onlyAccount), 'parentcustomerid')).toMatchObject({
      by: 'accountnumber',
      inferredKey: { table: 'account' },
    });
    expect(lookupOf(plan('task', ['regardingobjectid'], {}, onlyAccount), 'regardingobjectid')).toMatchObject({
      by: 'accountnumber',
      inferredKey: { table: 'account' },
    });
  });
});

describe('each value of such a column', () => {
  const accounts = plan('account', ['name', 'parentaccountid']);

  test('a key value binds by the key, exactly as written; an id form stays an id (mixed columns)', () => {
    expect(bodyOf(accounts, { name: 'A', parentaccountid: 'A-1' })).toEqual({
      name: 'A',
      'parentaccountid@odata.bind': "/accounts(accountnumber='A-1')",
    });
    expect(bodyOf(accounts, { name: 'A', parentaccountid: ` {${guid.toUpperCase()}} ` })).toEqual({
      name: 'A',
      'parentaccountid@odata.bind': `/accounts(${guid})`,
    });
    expect(bodyOf(accounts, { name: 'A', parentaccountid: `account:${guid}` })['parentaccountid@odata.bind']).toBe(
      `/accounts(${guid})`,
    );
    expect(bodyOf(accounts, { name: 'A', parentaccountid: 1042 })['parentaccountid@odata.bind']).toBe(
      "/accounts(accountnumber='1042')",
    );
    expect(bodyOf(accounts, { name: 'A', parentaccountid: null })['parentaccountid@odata.bind']).toBeNull();
  });

  test('any value: a GUID binds by id, anything else by the key with the value unchanged', () => {
    const keyish = fc
      .string({ minLength: 1, maxLength: 30 })
      .filter(
        (s) =>
          !/^\s*\{?[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}\}?\s*$/i.test(s) &&
          !/[/#<>*%&:\\?+]/.test(s) &&
          s.trim() !== '',
      );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uuid().map((id) => ({ id })),
          keyish.map((value) => ({ value })),
        ),
        (cell) => {
          const r = convert(accounts, { name: 'A', parentaccountid: 'id' in cell ? cell.id : cell.value });
          if (!r.ok) throw new Error(r.faults[0]!.message);
          const bind = r.body['parentaccountid@odata.bind'];
          if ('id' in cell) expect(bind).toBe(`/accounts(${cell.id.toLowerCase()})`);
          else expect(bind).toBe(`/accounts(accountnumber='${cell.value.replace(/'/g, "''")}')`);
          expect(r.keyedBinds).toBeUndefined();
        },
      ),
    );
  });

  test('a key value no URL can carry is resolved by a query, as with a profile', () => {
    const r = convert(accounts, { name: 'A', parentaccountid: 'A+1' });
    expect(r.ok && r.keyedBinds).toMatchObject([
      {
        property: 'parentaccountid@odata.bind',
        column: 'parentaccountid',
        target: { table: 'account', entitySetName: 'accounts' },
        attribute: 'accountnumber',
        value: 'A+1',
      },
    ]);
  });

  test('polymorphic, one keyed target: key values go to it, ids name their table', () => {
    const onlyAccount = tables({ account: emulatorKeys.account, contact: [] });
    const p = plan('contact', ['lastname', 'parentcustomerid'], {}, onlyAccount);
    expect(bodyOf(p, { lastname: 'L', parentcustomerid: 'A-1' })).toEqual({
      lastname: 'L',
      'parentcustomerid_account@odata.bind': "/accounts(accountnumber='A-1')",
    });
    expect(bodyOf(p, { lastname: 'L', parentcustomerid: `contact:${guid}` })).toEqual({
      lastname: 'L',
      'parentcustomerid_contact@odata.bind': `/contacts(${guid})`,
    });
    expect(faultOf(p, { lastname: 'L', parentcustomerid: guid }).message).toContain(
      "write the value as '<table>:<id>'",
    );
  });
});

describe('values no single key can bind fail their row, naming row, column, value and what to do', () => {
  test('a target without an alternate key of one attribute', () => {
    const keyless = tables({ account: [], contact: [key('k', 'lastname', 'emailaddress1')] });
    const p = plan('account', ['name', 'primarycontactid'], {}, keyless);
    expect(lookupOf(p, 'primarycontactid').by).toBe('id');
    expect(faultOf(p, { name: 'A', primarycontactid: 'ada@example.com' }, 7)).toEqual({
      rowNumber: 7,
      column: 'primarycontactid',
      value: 'ada@example.com',
      message:
        "row 7, column 'primarycontactid': 'ada@example.com' is not a GUID, and contact has no alternate key of one column to find it by: write the contact id, or set lookups.primarycontactid.by (the key attribute) in the load profile",
    });
  });

  test('a target with several', () => {
    const two = tables({ account: [key('k1', 'accountnumber'), key('k2', 'name')] });
    const p = plan('account', ['name', 'parentaccountid'], {}, two);
    expect(faultOf(p, { name: 'A', parentaccountid: 'A-1' }, 4).message).toBe(
      "row 4, column 'parentaccountid': 'A-1' is not a GUID, and account has several alternate keys of one column (accountnumber, name): set lookups.parentaccountid.by (the key attribute) in the load profile",
    );
  });

  test('a polymorphic lookup with several keyed targets names the candidates, their keys and the conventions', () => {
    const p = plan('contact', ['lastname', 'parentcustomerid']);
    expect(faultOf(p, { lastname: 'L', parentcustomerid: 'A-1' }, 3)).toEqual({
      rowNumber: 3,
      column: 'parentcustomerid',
      value: 'A-1',
      message:
        "row 3, column 'parentcustomerid': 'A-1' is not a GUID, and parentcustomerid can point at account (key accountnumber) or contact (key emailaddress1): name the table with 'parentcustomerid@<table>' columns, a 'parentcustomerid.type' column, or lookups.parentcustomerid.table and .by in the load profile",
    });
    const t = plan('task', ['subject', 'regardingobjectid']);
    expect(faultOf(t, { subject: 'S', regardingobjectid: 'X' }).message).toContain(
      'regardingobjectid can point at account (key accountnumber) or contact (key emailaddress1) or lead (no alternate key of one column)',
    );
    const none = tables({});
    expect(
      faultOf(plan('task', ['subject', 'regardingobjectid'], {}, none), { subject: 'S', regardingobjectid: 'X' })
        .message,
    ).toContain('no target of regardingobjectid has an alternate key of one column');
  });
});

describe('naming the table by header, without a profile', () => {
  test('parentcustomerid@account binds by account’s key; ids stay ids', () => {
    const p = plan('contact', ['lastname', 'parentcustomerid@account', 'parentcustomerid@contact']);
    expect(bodyOf(p, { lastname: 'L', 'parentcustomerid@account': 'A-1', 'parentcustomerid@contact': '' })).toEqual({
      lastname: 'L',
      'parentcustomerid_account@odata.bind': "/accounts(accountnumber='A-1')",
    });
    expect(bodyOf(p, { lastname: 'L', 'parentcustomerid@contact': 'ada@example.com' })).toEqual({
      lastname: 'L',
      'parentcustomerid_contact@odata.bind': "/contacts(emailaddress1='ada@example.com')",
    });
    expect(bodyOf(p, { lastname: 'L', 'parentcustomerid@account': guid })).toEqual({
      lastname: 'L',
      'parentcustomerid_account@odata.bind': `/accounts(${guid})`,
    });
  });

  test('any value of a per-table column: a GUID binds by id, anything else by that table’s key', () => {
    const p = plan('contact', ['lastname', 'parentcustomerid@account']);
    const keyish = fc
      .string({ minLength: 1, maxLength: 30 })
      .map((v) => v.trim())
      .filter(
        (v) => v !== '' && !/^\{?[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}\}?$/i.test(v) && !/[/#<>*%&:\\?+]/.test(v),
      );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uuid().map((id) => ({ id })),
          keyish.map((value) => ({ value })),
        ),
        (cell) => {
          const bind = bodyOf(p, { lastname: 'L', 'parentcustomerid@account': 'id' in cell ? cell.id : cell.value })[
            'parentcustomerid_account@odata.bind'
          ];
          if ('id' in cell) expect(bind).toBe(`/accounts(${cell.id.toLowerCase()})`);
          else expect(bind).toBe(`/accounts(accountnumber='${cell.value.replace(/'/g, "''")}')`);
        },
      ),
    );
  });

  test('a parentcustomerid.type column names each row’s table', () => {
    const p = plan('contact', ['lastname', 'parentcustomerid', 'parentcustomerid.type']);
    expect(bodyOf(p, { lastname: 'L', parentcustomerid: 'A-1', 'parentcustomerid.type': 'account' })).toEqual({
      lastname: 'L',
      'parentcustomerid_account@odata.bind': "/accounts(accountnumber='A-1')",
    });
  });

  test('the profile’s keys still win over the metadata’s', () => {
    const p = plan('contact', ['lastname', 'parentcustomerid@account'], {
      lookups: { parentcustomerid: { keys: { account: 'name' } } },
    });
    expect(bodyOf(p, { lastname: 'L', 'parentcustomerid@account': 'Contoso' })).toEqual({
      lastname: 'L',
      'parentcustomerid_account@odata.bind': "/accounts(name='Contoso')",
    });
  });
});

describe('the plan sees such a column as it sees a profile’s', () => {
  test('the in-file second pass picks up parentaccountid by accountnumber with no profile, as with lookups.by', () => {
    const inferred = plan('account', ['name', 'accountnumber', 'parentaccountid']);
    const profiled = plan('account', ['name', 'accountnumber', 'parentaccountid'], {
      lookups: { parentaccountid: { by: 'accountnumber' } },
    });
    const expected = [
      { column: 'parentaccountid', property: 'parentaccountid@odata.bind', keyColumn: 'accountnumber' },
    ];
    expect(inFileLookups(inferred)).toEqual(expected);
    expect(inFileLookups(profiled)).toEqual(expected);
    expect(inferred.key).toEqual(profiled.key);
    const row = { name: 'A', accountnumber: 'A-2', parentaccountid: 'A-1' };
    expect(bodyOf(inferred, row)).toEqual(bodyOf(profiled, row));
    // Without the key column in the file there is nothing in the file to wait for.
    expect(inFileLookups(plan('account', ['name', 'parentaccountid']))).toEqual([]);
  });

  test('the plan’s edges count header-named lookup columns (the cycle account ↔ contact too)', () => {
    const edges = lookupEdges(
      [
        { table: 'account', columns: ['name', 'accountnumber', 'parentaccountid', 'primarycontactid'] },
        { table: 'contact', columns: ['lastname', 'parentcustomerid'] },
        { table: 'task', columns: ['subject', 'regardingobjectid'] },
      ],
      schema,
    );
    expect(edges.map((e) => `${e.table}.${e.attribute}→${e.target}`)).toEqual([
      'account.parentaccountid→account',
      'account.primarycontactid→contact',
      'contact.parentcustomerid→account',
      'contact.parentcustomerid→contact',
      'task.regardingobjectid→account',
      'task.regardingobjectid→contact',
    ]);
  });
});
