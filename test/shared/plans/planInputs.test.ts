import { zipSync, strToU8 } from 'fflate';
import type { TableMetadata, AttributeMetadata } from '../../../shared/ingestion/tableMetadata';
import { readPlanArchive } from '../../../shared/plans/planArchive';
import { parsePlanFile } from '../../../shared/plans/planDocument';
import { lookupEdges, planTables } from '../../../shared/plans/planTables';
import { findTable, resolveTable, stemOf, type TableCatalogEntry } from '../../../shared/plans/tableResolution';
import { bindRequest, deferredBindKeys, splitBody } from '../../../shared/plans/secondPass';

const catalog: TableCatalogEntry[] = [
  { logicalName: 'account', entitySetName: 'accounts', displayName: 'Account', displayCollectionName: 'Accounts' },
  { logicalName: 'contact', entitySetName: 'contacts', displayName: 'Contact', displayCollectionName: 'Contacts' },
  { logicalName: 'task', entitySetName: 'tasks', displayName: 'Task', displayCollectionName: 'Tasks' },
  {
    logicalName: 'cr1_order',
    entitySetName: 'cr1_orders',
    displayName: 'Sales Order',
    displayCollectionName: 'Orders',
  },
  {
    logicalName: 'cr2_order',
    entitySetName: 'cr2_orders',
    displayName: 'Order',
    displayCollectionName: 'Purchase Orders',
  },
];

describe('table resolution', () => {
  test.each([
    ['account', 'account', 'logical name'],
    ['Contacts', 'contact', 'entity set name'],
    ['Sales Order', 'cr1_order', 'display name'],
    ['Orders', 'cr1_order', 'display collection name'],
    ['TASKS', 'task', 'entity set name'],
  ])('%s → %s by %s', (name, table, by) => {
    expect(findTable(name, catalog)).toEqual({ table, resolvedBy: by });
  });

  test.each([
    ['account.csv', 'account'],
    ['Contacts.JSON', 'Contacts'],
    ['tasks.ndjson.gz', 'tasks'],
    ['book.xlsx', 'book'],
    ['a.b', 'a.b'],
  ])('stemOf(%s) = %s', (file, stem) => expect(stemOf(file)).toBe(stem));

  test('a name that matches nothing fails naming it and close tables', () => {
    expect(() => resolveTable('acount', catalog, "file 'acount.csv' matches no table")).toThrow(
      "file 'acount.csv' matches no table: 'acount' is not a table (did you mean 'account'?)",
    );
  });

  test('an ambiguous display name fails listing the tables', () => {
    const twice = [...catalog, { logicalName: 'cr3_x', entitySetName: 'cr3_xs', displayName: 'Order' }];
    expect(() => findTable('order', twice)).toThrow("'order' is the display name of 2 tables (cr2_order, cr3_x)");
  });
});

describe('plan.json', () => {
  test('per-file table, profile, operation and key; the order', () => {
    const plan = parsePlanFile(
      JSON.stringify({
        files: [
          {
            file: 'people.csv',
            table: 'contact',
            operation: 'upsert',
            key: 'emailaddress1',
            profile: { batchSize: 100 },
          },
        ],
        order: ['account', 'contact'],
      }),
    );
    expect(plan).toEqual({
      files: [
        {
          file: 'people.csv',
          table: 'contact',
          operation: 'upsert',
          key: 'emailaddress1',
          profile: { batchSize: 100 },
        },
      ],
      order: ['account', 'contact'],
    });
  });

  test.each([
    ['{', /plan.json is not valid JSON/],
    [
      JSON.stringify({ files: [{ file: 'a.csv', tabel: 'x' }] }),
      /plan.json is not a valid plan: files.0: Unrecognized key: "tabel"/,
    ],
    [
      JSON.stringify({ files: [{ file: 'a.csv', profile: { batchsize: 5 } }] }),
      /plan.json files\[0\].profile.*batchsize.*batchSize/,
    ],
  ])('bad plan.json %s fails naming what is wrong', (text, message) => {
    expect(() => parsePlanFile(text)).toThrow(message);
  });
});

describe('plan zip', () => {
  test('data files and plan.json; folders, dot files and __MACOSX ignored', () => {
    const zip = zipSync({
      'export/account.csv': strToU8('name\nA\n'),
      'export/contacts.json': strToU8('[{"lastname":"S"}]'),
      'plan.json': strToU8('{"files":[]}'),
      '__MACOSX/export/._account.csv': strToU8('x'),
      'export/.DS_Store': strToU8('x'),
    });
    const archive = readPlanArchive(zip);
    expect(archive.entries.map((e) => e.name)).toEqual(['account.csv', 'contacts.json']);
    expect(archive.planFileText).toBe('{"files":[]}');
  });

  test('a zip bomb is refused before inflating, naming the entry', () => {
    const bomb = zipSync({ 'account.csv': new Uint8Array(50 * 1024 * 1024) }, { level: 9 });
    expect(bomb.length).toBeLessThan(200_000);
    expect(() => readPlanArchive(bomb)).toThrow(/'account.csv' in the plan zip inflates \d+× .* refused as a zip bomb/);
    expect(() =>
      readPlanArchive(zipSync({ 'a.csv': strToU8('x'.repeat(2000)) }), {
        maxZipBytes: 1e6,
        maxEntries: 10,
        maxUncompressedBytes: 1000,
        maxRatio: 1000,
      }),
    ).toThrow('the plan zip would inflate to more than 1000 bytes');
  });

  test.each([
    [Buffer.from('name\nA\n'), 'the plan is not a zip archive (nor an .xlsx workbook)'],
    [Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3]), /the plan zip cannot be read/],
    [zipSync({ 'plan.json': strToU8('{}') }), 'the plan zip holds no data files'],
    [
      zipSync({ 'a/account.csv': strToU8('x'), 'b/account.csv': strToU8('y') }),
      /holds 'a\/account.csv' and 'b\/account.csv'/,
    ],
  ])('bad zip %#', (zip, message) => {
    expect(() => readPlanArchive(zip)).toThrow(message);
  });
});

describe('planTables', () => {
  test('file names and sheets to tables; plan.json table and profile win', () => {
    const plan = parsePlanFile(JSON.stringify({ files: [{ file: 'people.csv', table: 'contacts', key: 'a,b' }] }));
    expect(
      planTables(
        [
          { name: 'Accounts.csv', kind: 'file' },
          { name: 'people.csv', kind: 'file' },
        ],
        plan,
        catalog,
      ),
    ).toEqual([
      { source: { name: 'Accounts.csv', kind: 'file' }, table: 'account', resolvedBy: 'entity set name' },
      {
        source: { name: 'people.csv', kind: 'file' },
        table: 'contact',
        resolvedBy: 'plan.json',
        profile: { alternateKey: ['a', 'b'] },
      },
    ]);
  });

  test.each([
    [
      [{ name: 'people.csv', kind: 'file' as const }],
      undefined,
      "file 'people.csv' matches no table: 'people' is not a table",
    ],
    [
      [{ name: 'Acounts', kind: 'sheet' as const }],
      undefined,
      "sheet 'Acounts' matches no table: 'Acounts' is not a table (did you mean 'account'?)",
    ],
    [
      [{ name: 'account.csv', kind: 'file' as const }],
      { files: [{ file: 'contact.csv' }] },
      "plan.json names 'contact.csv', which is not in the plan (it holds 'account.csv')",
    ],
    [
      [
        { name: 'account.csv', kind: 'file' as const },
        { name: 'accounts.json', kind: 'file' as const },
      ],
      { files: [{ file: 'account.csv', operation: 'create' as const }] },
      "file 'account.csv' and file 'accounts.json' are both for table account with different profiles",
    ],
  ])('bad plan %#', (sources, plan, message) => {
    expect(() => planTables(sources, plan, catalog)).toThrow(message);
  });
});

function table(
  logicalName: string,
  entitySetName: string,
  lookups: Record<string, { targets: string[]; nav?: Record<string, string> }>,
): TableMetadata {
  const attributes: Record<string, AttributeMetadata> = {};
  for (const [name, l] of Object.entries(lookups))
    attributes[name] = {
      logicalName: name,
      type: l.targets.length > 1 ? 'Customer' : 'Lookup',
      requiredLevel: 'None',
      isValidForCreate: true,
      isValidForUpdate: true,
      isPrimaryId: false,
      isPrimaryName: false,
      lookupTargets: l.targets.map((t) => ({
        table: t,
        navigationProperty: l.nav?.[t] ?? name,
        entitySetName: `${t}s`,
      })),
    };
  return { logicalName, entitySetName, primaryIdAttribute: `${logicalName}id`, attributes, keys: [] };
}

const metadata = new Map<string, TableMetadata>([
  [
    'account',
    table('account', 'accounts', {
      parentaccountid: { targets: ['account'] },
      primarycontactid: { targets: ['contact'] },
    }),
  ],
  [
    'contact',
    table('contact', 'contacts', {
      parentcustomerid: {
        targets: ['account', 'contact'],
        nav: { account: 'parentcustomerid_account', contact: 'parentcustomerid_contact' },
      },
    }),
  ],
  ['task', table('task', 'tasks', { regardingobjectid: { targets: ['account', 'contact', 'lead'] } })],
]);

describe('lookupEdges', () => {
  test('the columns used, by header, convention header or profile; only targets in the plan', () => {
    const edges = lookupEdges(
      [
        { table: 'account', columns: ['name', 'ParentAccountId'] },
        { table: 'contact', columns: ['lastname', 'parentcustomerid@account'] },
        {
          table: 'task',
          columns: ['subject', 'About'],
          profile: { lookups: { About: { attribute: 'regardingobjectid' } } },
        },
      ],
      metadata,
    );
    expect(edges.map((e) => `${e.table}.${e.attribute}→${e.target}`)).toEqual([
      'account.parentaccountid→account',
      'contact.parentcustomerid→account',
      'task.regardingobjectid→account',
      'task.regardingobjectid→contact',
    ]);
  });
});

describe('second pass', () => {
  test('deferred binds leave the create body and come back as an update-only PATCH by id', () => {
    const keys = deferredBindKeys(metadata.get('contact')!, [
      { table: 'contact', attribute: 'parentcustomerid', target: 'contact', reason: 'self', why: '' },
    ]);
    expect([...keys]).toEqual(['parentcustomerid_contact@odata.bind']);
    const body = {
      lastname: 'Smith',
      'parentcustomerid_contact@odata.bind': "/contacts(emailaddress1='a@b.c')",
      'parentcustomerid_account@odata.bind': null,
    };
    const split = splitBody(body, keys);
    expect(split).toEqual({
      first: { lastname: 'Smith', 'parentcustomerid_account@odata.bind': null },
      binds: { 'parentcustomerid_contact@odata.bind': "/contacts(emailaddress1='a@b.c')" },
    });
    expect(splitBody({ lastname: 'x' }, keys)).toEqual({ first: { lastname: 'x' } });
    expect(bindRequest('contacts', '5e0c5f51-0000-0000-0000-000000000001', split.binds!)).toEqual({
      method: 'PATCH',
      url: 'contacts(5e0c5f51-0000-0000-0000-000000000001)',
      headers: { 'If-Match': '*', 'Content-Type': 'application/json' },
      body: split.binds,
    });
  });
});
