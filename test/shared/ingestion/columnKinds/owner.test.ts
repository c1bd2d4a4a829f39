import { bindOwner, ownerFilter, ownerQuery } from '../../../../shared/ingestion/columnKinds';

const query = (text: string, by?: Parameters<typeof ownerQuery>[3]) => {
  const r = ownerQuery(text, 1, 'ownerid', by);
  if (!r.ok) throw new Error(r.fault.message);
  return r.value;
};

test('reads the owner forms: e-mail or DOMAIN\\user, Entra object id, team name, prefixes', () => {
  expect(query('ada@contoso.com')).toMatchObject({
    entitySetName: 'systemusers',
    anyOf: [
      { attribute: 'domainname', value: 'ada@contoso.com' },
      { attribute: 'internalemailaddress', value: 'ada@contoso.com' },
    ],
  });
  expect(query('CONTOSO\\ada').table).toBe('systemuser');
  expect(query('{E39C5D16-675B-48D1-8E67-667427E9C084}').anyOf).toEqual([
    { attribute: 'azureactivedirectoryobjectid', value: 'e39c5d16-675b-48d1-8e67-667427e9c084' },
  ]);
  expect(query('Sales EMEA')).toMatchObject({
    entitySetName: 'teams',
    anyOf: [{ attribute: 'name', value: 'Sales EMEA' }],
  });
  expect(query('team:ops@contoso')).toMatchObject({
    table: 'team',
    anyOf: [{ attribute: 'name', value: 'ops@contoso' }],
  });
  expect(query('user:ada@contoso.com').table).toBe('systemuser');
  expect(query('Ada', 'domainname').anyOf).toEqual([{ attribute: 'domainname', value: 'Ada' }]);
});

test('one cache key per distinct owner, whatever its case or form', () => {
  expect(query('Ada@Contoso.com').cacheKey).toBe(query('user:ada@contoso.com').cacheKey);
  expect(query('team:Sales').cacheKey).toBe(query('sales').cacheKey);
  expect(query('Sales').cacheKey).not.toBe(query('user:sales@x').cacheKey);
});

test('the $filter doubles quotes and leaves GUIDs bare', () => {
  expect(ownerFilter(query("o'brien@contoso.com"))).toBe(
    "domainname eq 'o''brien@contoso.com' or internalemailaddress eq 'o''brien@contoso.com'",
  );
  expect(ownerFilter(query('e39c5d16-675b-48d1-8e67-667427e9c084'))).toBe(
    'azureactivedirectoryobjectid eq e39c5d16-675b-48d1-8e67-667427e9c084',
  );
});

test('binds one match; no match or two fail the row naming the value', () => {
  const q = query('ada@contoso.com');
  expect(bindOwner(q, ['AAAAAAAA-0000-0000-0000-000000000001'], 3, 'Owner', 'ada@contoso.com')).toEqual({
    ok: true,
    value: { property: 'ownerid@odata.bind', value: '/systemusers(aaaaaaaa-0000-0000-0000-000000000001)' },
  });
  expect(bindOwner(query('Sales'), ['b'], 1, 'o', 'Sales')).toMatchObject({ value: { value: '/teams(b)' } });
  const none = bindOwner(q, [], 3, 'Owner', 'ada@contoso.com');
  expect(!none.ok && none.fault).toEqual({
    rowNumber: 3,
    column: 'Owner',
    value: 'ada@contoso.com',
    message: "row 3, column 'Owner': 'ada@contoso.com' matches no user (domainname or internalemailaddress)",
  });
  const two = bindOwner(q, ['a', 'b', 'A'], 3, 'Owner', 'ada@contoso.com');
  expect(!two.ok && two.fault.message).toBe(
    "row 3, column 'Owner': 'ada@contoso.com' is ambiguous: it matches 2 users (a, b)",
  );
});

test('refuses an empty owner, an empty prefix, and a bad Entra object id', () => {
  for (const [text, by] of [[' '], ['team:'], ['user:ada'], ['not-a-guid', 'azureactivedirectoryobjectid']] as const) {
    const r = ownerQuery(text, 9, 'ownerid', by);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.fault.message.startsWith("row 9, column 'ownerid': ")).toBe(true);
  }
});
