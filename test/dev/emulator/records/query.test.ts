import { harness, webApi, type WebApiJson } from './harness';

async function seed() {
  const h = harness();
  const rows = [
    {
      name: 'Alpha',
      accountnumber: 'A1',
      numberofemployees: 10,
      revenue: 100,
      creditonhold: false,
      address1_city: 'Oslo',
    },
    {
      name: 'beta',
      accountnumber: 'A2',
      numberofemployees: 20,
      revenue: 200,
      creditonhold: true,
      address1_city: "O'Hare",
    },
    { name: 'Gamma', accountnumber: 'A3', numberofemployees: 30, revenue: null, creditonhold: false },
    {
      name: 'delta',
      accountnumber: 'A4',
      numberofemployees: null,
      revenue: 400,
      creditonhold: true,
      address1_city: 'Oslo',
    },
    {
      name: 'Epsilon',
      accountnumber: 'A5',
      numberofemployees: 50,
      revenue: 500,
      creditonhold: false,
      address1_city: 'Bergen',
    },
  ];
  for (const r of rows) expect((await h.call('POST', 'accounts', { body: r })).status).toBe(204);
  return h;
}
const names = (res: { json: WebApiJson }) => res.json.value.map((r) => r.name);

describe('collection queries', () => {
  it('filters with comparison, logical operators, parentheses, null and escaped strings', async () => {
    const { call } = await seed();
    expect(
      names(await call('GET', 'accounts?$select=name&$filter=numberofemployees gt 15 and numberofemployees le 30')),
    ).toEqual(['beta', 'Gamma']);
    expect(
      names(await call('GET', "accounts?$filter=(name eq 'alpha' or name eq 'DELTA') and creditonhold eq true")),
    ).toEqual(['delta']);
    expect(names(await call('GET', 'accounts?$filter=revenue eq null'))).toEqual(['Gamma']);
    expect(names(await call('GET', 'accounts?$filter=numberofemployees ne null and revenue ge 200'))).toEqual([
      'beta',
      'Epsilon',
    ]);
    expect(names(await call('GET', "accounts?$filter=address1_city eq 'O''Hare'"))).toEqual(['beta']);
    expect(names(await call('GET', "accounts?$filter=not (address1_city eq 'Oslo') and startswith(name,'e')"))).toEqual(
      ['Epsilon'],
    );
    expect(names(await call('GET', "accounts?$filter=contains(name,'LT')"))).toEqual(['delta']);
    expect(names(await call('GET', 'accounts?$filter=numberofemployees lt 20'))).toEqual(['Alpha']); // null is not < 20
  });

  it('filters on lookups by guid and on dates', async () => {
    const { call } = await seed();
    const alpha = (await call('GET', "accounts(accountnumber='A1')")).json.accountid as string;
    await call('POST', 'contacts', {
      body: { lastname: 'C1', 'parentcustomerid_account@odata.bind': `/accounts(${alpha})`, birthdate: '1990-05-01' },
    });
    await call('POST', 'contacts', { body: { lastname: 'C2', birthdate: '2001-01-01' } });
    const byParent = await call(
      'GET',
      `contacts?$select=lastname&$filter=_parentcustomerid_value eq ${alpha.toUpperCase()}`,
    );
    expect(byParent.json.value.map((r) => r.lastname)).toEqual(['C1']);
    const byDate = await call('GET', 'contacts?$select=lastname&$filter=birthdate lt 2000-01-01');
    expect(byDate.json.value.map((r) => r.lastname)).toEqual(['C1']);
    const recent = await call('GET', 'contacts?$filter=createdon ge 2020-01-01T00:00:00Z&$count=true');
    expect(recent.json['@odata.count']).toBe(2);
  });

  it('rejects unknown columns, type mismatches and syntax errors with 400', async () => {
    const { call } = await seed();
    const unknown = await call('GET', "accounts?$filter=nosuch eq 'x'");
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.message).toBe(
      "Could not find a property named 'nosuch' on type 'Microsoft.Dynamics.CRM.account'.",
    );
    const mismatch = await call('GET', "accounts?$filter=numberofemployees eq 'x'");
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.error.message).toContain('A binary operator with incompatible types was detected');
    expect((await call('GET', 'accounts?$filter=name eq')).status).toBe(400);
    expect((await call('GET', "accounts?$filter=name eq 'x' and")).status).toBe(400);
    expect((await call('GET', "accounts?$filter=(name eq 'x'")).status).toBe(400);
    expect((await call('GET', 'accounts?$skip=2')).status).toBe(400);
    expect((await call('GET', 'accounts?$orderby=nosuch')).status).toBe(400);
    expect((await call('GET', 'accounts?$top=-1')).status).toBe(400);
  });

  it('answers <set>/$count with the number of matching rows', async () => {
    const { call } = await seed();
    expect((await call('GET', 'accounts/$count')).json).toBe(5);
    expect((await call('GET', "accounts/$count?$filter=address1_city eq 'Oslo'")).json).toBe(2);
  });

  it('orders by several columns, asc and desc, nulls first; $top and $count', async () => {
    const { call } = await seed();
    expect(names(await call('GET', 'accounts?$orderby=name'))).toEqual(['Alpha', 'beta', 'delta', 'Epsilon', 'Gamma']);
    expect(names(await call('GET', 'accounts?$orderby=numberofemployees desc'))).toEqual([
      'Epsilon',
      'Gamma',
      'beta',
      'Alpha',
      'delta',
    ]);
    expect(names(await call('GET', 'accounts?$orderby=creditonhold desc,revenue asc'))).toEqual([
      'beta',
      'delta',
      'Gamma',
      'Alpha',
      'Epsilon',
    ]);
    const top = await call('GET', 'accounts?$select=name&$orderby=name&$top=2&$count=true');
    expect(names(top)).toEqual(['Alpha', 'beta']);
    expect(top.json['@odata.count']).toBe(5);
    expect(top.json['@odata.context']).toBe(`${webApi}$metadata#accounts(name)`);
    expect(Object.keys(top.json.value[0] ?? {}).sort()).toEqual(['@odata.etag', 'accountid', 'name']);
  });

  it('pages with odata.maxpagesize and an opaque $skiptoken until every row is read once', async () => {
    const { call } = harness();
    for (let i = 0; i < 23; i++) await call('POST', 'tasks', { body: { subject: `t${String(i).padStart(2, '0')}` } });
    const seen: string[] = [];
    let target: string | undefined = 'tasks?$select=subject&$orderby=subject&$count=true';
    let pages = 0;
    while (target) {
      const res = await call('GET', target, { headers: { Prefer: 'odata.maxpagesize=10' } });
      expect(res.status).toBe(200);
      expect(res.headers?.['Preference-Applied']).toBe('odata.maxpagesize=10');
      if (pages === 0) expect(res.json['@odata.count']).toBe(23);
      seen.push(...res.json.value.map((r) => r.subject as string));
      const next = res.json['@odata.nextLink'];
      if (next) {
        expect(next.startsWith(`${webApi}tasks?`)).toBe(true);
        expect(new URL(next).searchParams.get('$select')).toBe('subject');
      }
      target = next ? decodeURIComponent(next.slice(webApi.length)).replace(/\+/g, ' ') : undefined;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => `t${String(i).padStart(2, '0')}`));
    expect((await call('GET', 'tasks?$skiptoken=garbage')).status).toBe(400);
  });
});
