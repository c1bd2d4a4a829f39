/** Polymorphic lookups (Customer, Regarding, Owner), systemuser and team tables, and their metadata. */
import { harness, idFromEntityId } from '../records/harness';

const targetsOf = async (call: ReturnType<typeof harness>['call'], table: string, column: string) =>
  (await call('GET', `EntityDefinitions(LogicalName='${table}')/Attributes(LogicalName='${column}')`)).json;

describe('metadata', () => {
  it('lists every target of Customer, Regarding and Owner lookups', async () => {
    const { call } = harness();
    expect(await targetsOf(call, 'contact', 'parentcustomerid')).toMatchObject({
      AttributeType: 'Customer',
      Targets: ['account', 'contact'],
    });
    expect(await targetsOf(call, 'task', 'regardingobjectid')).toMatchObject({ Targets: ['account', 'contact'] });
    expect(await targetsOf(call, 'account', 'ownerid')).toMatchObject({
      AttributeType: 'Owner',
      Targets: ['systemuser', 'team'],
    });
  });

  it('names the per-target navigation properties in ManyToOneRelationships', async () => {
    const { call } = harness();
    const res = await call(
      'GET',
      "EntityDefinitions(LogicalName='contact')/ManyToOneRelationships?$select=ReferencingAttribute,ReferencingEntityNavigationPropertyName,ReferencedEntity",
    );
    const parent = res.json.value.filter((r) => r.ReferencingAttribute === 'parentcustomerid');
    expect(parent.map((r) => [r.ReferencedEntity, r.ReferencingEntityNavigationPropertyName])).toEqual([
      ['account', 'parentcustomerid_account'],
      ['contact', 'parentcustomerid_contact'],
    ]);
  });

  it('serves systemuser (domainname, internalemailaddress, Entra object id) and team (name)', async () => {
    const { call } = harness();
    const user = await call('POST', 'systemusers', {
      body: {
        fullname: 'Ada',
        domainname: 'ada@contoso.com',
        internalemailaddress: 'ada@contoso.com',
        azureactivedirectoryobjectid: 'E39C5D16-675B-48D1-8E67-667427E9C084',
      },
    });
    expect(user.status).toBe(204);
    const found = await call(
      'GET',
      "systemusers?$select=domainname,azureactivedirectoryobjectid&$filter=internalemailaddress eq 'ada@contoso.com'",
    );
    expect(found.json.value).toEqual([
      expect.objectContaining({
        domainname: 'ada@contoso.com',
        azureactivedirectoryobjectid: 'e39c5d16-675b-48d1-8e67-667427e9c084',
      }),
    ]);
    expect((await call('POST', 'teams', { body: { name: 'Sales' } })).status).toBe(204);
    expect((await call('GET', "teams?$select=name&$filter=name eq 'Sales'")).json.value).toHaveLength(1);
  });
});

describe('binding', () => {
  it('binds a Customer lookup to an account or a contact through its per-target navigation property', async () => {
    const { call } = harness();
    const account = idFromEntityId(await call('POST', 'accounts', { body: { name: 'A' } }));
    const parent = idFromEntityId(await call('POST', 'contacts', { body: { lastname: 'P' } }));
    const viaAccount = idFromEntityId(
      await call('POST', 'contacts', {
        body: { lastname: 'C1', 'parentcustomerid_account@odata.bind': `/accounts(${account})` },
      }),
    );
    const viaContact = idFromEntityId(
      await call('POST', 'contacts', {
        body: { lastname: 'C2', 'parentcustomerid_contact@odata.bind': `/contacts(${parent})` },
      }),
    );
    const prefer = { Prefer: 'odata.include-annotations="*"' };
    const one = await call('GET', `contacts(${viaAccount})?$select=_parentcustomerid_value`, { headers: prefer });
    expect(one.json).toMatchObject({
      _parentcustomerid_value: account,
      '_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'account',
      '_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty': 'parentcustomerid_account',
    });
    const two = await call('GET', `contacts(${viaContact})?$select=_parentcustomerid_value`, { headers: prefer });
    expect(two.json['_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname']).toBe('contact');
  });

  it('binds Regarding through regardingobjectid_account_task', async () => {
    const { call } = harness();
    const account = idFromEntityId(await call('POST', 'accounts', { body: { name: 'A' } }));
    const task = idFromEntityId(
      await call('POST', 'tasks', {
        body: { subject: 'T', 'regardingobjectid_account_task@odata.bind': `/accounts(${account})` },
      }),
    );
    expect((await call('GET', `tasks(${task})?$select=_regardingobjectid_value`)).json._regardingobjectid_value).toBe(
      account,
    );
  });

  it('refuses a record of another table through a per-target navigation property', async () => {
    const { call } = harness();
    const contact = idFromEntityId(await call('POST', 'contacts', { body: { lastname: 'P' } }));
    const res = await call('POST', 'contacts', {
      body: { lastname: 'C', 'parentcustomerid_account@odata.bind': `/contacts(${contact})` },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toBe("The entity set 'contacts' does not hold records of type 'account'.");
  });

  it('refuses a navigation property for a table that is not a target', async () => {
    const { call } = harness();
    const res = await call('POST', 'tasks', {
      body: { subject: 'T', 'regardingobjectid_lead_task@odata.bind': '/leads(00000000-0000-0000-0000-000000000001)' },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toContain("undeclared property 'regardingobjectid_lead_task'");
  });

  it('binds ownerid to a systemuser or a team, and refuses another table', async () => {
    const { call } = harness();
    const user = idFromEntityId(await call('POST', 'systemusers', { body: { fullname: 'U' } }));
    const team = idFromEntityId(await call('POST', 'teams', { body: { name: 'Sales' } }));
    const byUser = idFromEntityId(
      await call('POST', 'accounts', { body: { name: 'A', 'ownerid@odata.bind': `/systemusers(${user})` } }),
    );
    const byTeam = idFromEntityId(
      await call('POST', 'accounts', { body: { name: 'B', 'ownerid@odata.bind': `teams(${team})` } }),
    );
    const prefer = { Prefer: 'odata.include-annotations="*"' };
    expect((await call('GET', `accounts(${byUser})?$select=_ownerid_value`, { headers: prefer })).json).toMatchObject({
      _ownerid_value: user,
      '_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'systemuser',
    });
    expect((await call('GET', `accounts(${byTeam})?$select=_ownerid_value`, { headers: prefer })).json).toMatchObject({
      _ownerid_value: team,
      '_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'team',
    });
    const account = byUser;
    const wrong = await call('PATCH', `accounts(${byTeam})`, {
      body: { 'ownerid@odata.bind': `/accounts(${account})` },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.message).toBe(
      "The entity set 'accounts' does not hold records of type 'systemuser' or 'team'.",
    );
    const missing = await call('PATCH', `accounts(${byTeam})`, {
      body: { 'ownerid@odata.bind': '/teams(00000000-0000-0000-0000-00000000dead)' },
    });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('0x80040217');
  });
});
