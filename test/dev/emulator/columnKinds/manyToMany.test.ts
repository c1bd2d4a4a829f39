/** N:N relationships: metadata, $ref associate/disassociate (alone and in $batch), duplicates, cascade on delete. */
import { startEmulator, type EmulatorHandle } from '../../../../dev/emulator/index';
import { harness, idFromEntityId, webApi } from '../records/harness';
import { auth, batchBody } from '../testRoute';

describe('metadata', () => {
  it('lists ManyToManyRelationships on EntityDefinitions', async () => {
    const { call } = harness();
    const res = await call('GET', "EntityDefinitions(LogicalName='account')?$expand=ManyToManyRelationships");
    expect(res.json.ManyToManyRelationships).toEqual([
      expect.objectContaining({
        SchemaName: 'accountleads_association',
        RelationshipType: 'ManyToManyRelationship',
        Entity1LogicalName: 'account',
        Entity2LogicalName: 'lead',
        IntersectEntityName: 'accountleads',
        Entity1IntersectAttribute: 'accountid',
        Entity2IntersectAttribute: 'leadid',
        Entity1NavigationPropertyName: 'accountleads_association',
        Entity2NavigationPropertyName: 'accountleads_association',
      }),
    ]);
  });

  it('finds a relationship by schema name, and answers 404 for an unknown one', async () => {
    const { call } = harness();
    const res = await call(
      'GET',
      "RelationshipDefinitions(SchemaName='new_project_contact')/Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata",
    );
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      '@odata.type': '#Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata',
      Entity1LogicalName: 'new_project',
      Entity2LogicalName: 'contact',
      Entity1NavigationPropertyName: 'new_project_contacts',
      Entity2NavigationPropertyName: 'new_contact_projects',
    });
    const missing = await call('GET', "RelationshipDefinitions(SchemaName='new_nothing')");
    expect(missing.status).toBe(404);
    expect(missing.json.error).toEqual({
      code: '0x80040217',
      message: "Could not find a relationship with SchemaName 'new_nothing'.",
    });
  });

  it('marks the intersect table IsIntersect and gives it no writable entity set', async () => {
    const { call } = harness();
    expect(
      (await call('GET', "EntityDefinitions(LogicalName='accountleads')?$select=IsIntersect")).json.IsIntersect,
    ).toBe(true);
    // Not a records path: the server answers its 404 for an unknown segment.
    await expect(call('POST', 'accountleadsset', { body: {} })).rejects.toThrow('route did not answer');
  });
});

describe('associate and disassociate', () => {
  async function pair() {
    const h = harness();
    const account = idFromEntityId(await h.call('POST', 'accounts', { body: { name: 'A' } }));
    const lead = idFromEntityId(await h.call('POST', 'leads', { body: { lastname: 'L' } }));
    return { ...h, account, lead };
  }

  it('associates from either side; the pair is listed from both; a second association is a duplicate', async () => {
    const { call, account, lead } = await pair();
    const res = await call('POST', `accounts(${account})/accountleads_association/$ref`, {
      body: { '@odata.id': `${webApi}leads(${lead})` },
    });
    expect(res.status).toBe(204);
    const leads = await call('GET', `accounts(${account})/accountleads_association?$select=lastname`);
    expect(leads.json.value.map((r) => r.leadid)).toEqual([lead]);
    const accounts = await call('GET', `leads(${lead})/accountleads_association?$select=name`);
    expect(accounts.json.value.map((r) => r.accountid)).toEqual([account]);
    const again = await call('POST', `leads(${lead})/accountleads_association/$ref`, {
      body: { '@odata.id': `accounts(${account})` },
    });
    expect(again.status).toBe(412);
    expect(again.json.error).toEqual({ code: '0x80040237', message: 'Cannot insert duplicate key.' });
  });

  it('refuses a reference to a record of the wrong table or a missing record', async () => {
    const { call, account } = await pair();
    const wrong = await call('POST', `accounts(${account})/accountleads_association/$ref`, {
      body: { '@odata.id': `accounts(${account})` },
    });
    expect(wrong.status).toBe(400);
    const missing = await call('POST', `accounts(${account})/accountleads_association/$ref`, {
      body: { '@odata.id': 'leads(00000000-0000-0000-0000-00000000dead)' },
    });
    expect(missing.status).toBe(404);
    const noRef = await call('POST', `accounts(${account})/accountleads_association/$ref`, { body: {} });
    expect(noRef.status).toBe(400);
  });

  it('disassociates by key or by $id; disassociating an absent pair succeeds', async () => {
    const { call, account, lead } = await pair();
    await call('POST', `accounts(${account})/accountleads_association/$ref`, {
      body: { '@odata.id': `leads(${lead})` },
    });
    expect((await call('DELETE', `accounts(${account})/accountleads_association(${lead})/$ref`)).status).toBe(204);
    expect((await call('GET', `accounts(${account})/accountleads_association`)).json.value).toEqual([]);
    await call('POST', `accounts(${account})/accountleads_association/$ref`, {
      body: { '@odata.id': `leads(${lead})` },
    });
    const byId = await call(
      'DELETE',
      `leads(${lead})/accountleads_association/$ref?$id=${encodeURIComponent(`${webApi}accounts(${account})`)}`,
    );
    expect(byId.status).toBe(204);
    expect((await call('GET', `leads(${lead})/accountleads_association`)).json.value).toEqual([]);
    expect((await call('DELETE', `accounts(${account})/accountleads_association(${lead})/$ref`)).status).toBe(204);
  });

  it('drops the associations of a deleted record', async () => {
    const { call, account, lead } = await pair();
    await call('POST', `accounts(${account})/accountleads_association/$ref`, {
      body: { '@odata.id': `leads(${lead})` },
    });
    expect((await call('DELETE', `leads(${lead})`)).status).toBe(204);
    expect((await call('GET', `accounts(${account})/accountleads_association`)).json.value).toEqual([]);
  });

  it('associates through a one-to-many collection ($ref sets the related lookup)', async () => {
    const { call, account } = await pair();
    const opportunity = idFromEntityId(await call('POST', 'opportunities', { body: { name: 'O' } }));
    await call('POST', `accounts(${account})/opportunity_customer_accounts/$ref`, {
      body: { '@odata.id': `opportunities(${opportunity})` },
    });
    expect((await call('GET', `opportunities(${opportunity})`)).json._customerid_value).toBe(account);
    await call('DELETE', `accounts(${account})/opportunity_customer_accounts(${opportunity})/$ref`);
    expect((await call('GET', `opportunities(${opportunity})`)).json._customerid_value).toBeNull();
  });
});

describe('in $batch', () => {
  let emulator: EmulatorHandle;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.close());

  const post = async (path: string, body: object) => {
    const res = await fetch(`${emulator.webApiUrl}${path}`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return /\(([0-9a-f-]{36})\)$/.exec(res.headers.get('odata-entityid') ?? '')![1]!;
  };

  it('associates, refuses the duplicate with its code, and disassociates, part by part', async () => {
    const account = await post('accounts', { name: 'A' });
    const lead = await post('leads', { lastname: 'L' });
    const associate = [
      `POST /api/data/v9.2/accounts(${account})/accountleads_association/$ref HTTP/1.1`,
      'Content-Type: application/json',
      '',
      JSON.stringify({ '@odata.id': `leads(${lead})` }),
    ].join('\r\n');
    const disassociate = `DELETE /api/data/v9.2/accounts(${account})/accountleads_association(${lead})/$ref HTTP/1.1\r\n`;
    const res = await fetch(`${emulator.webApiUrl}$batch`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'multipart/mixed; boundary="batch_nn"', Prefer: 'odata.continue-on-error' },
      body: batchBody('batch_nn', [associate, associate, disassociate]),
    });
    const text = await res.text();
    expect([...text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]))).toEqual([204, 412, 204]);
    expect(text).toContain('{"error":{"code":"0x80040237","message":"Cannot insert duplicate key."}}');
  });
});
