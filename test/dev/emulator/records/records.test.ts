import { routeRequest } from '../testRoute';
import { harness, idFromEntityId, webApi } from './harness';

const guid = (n: number) => `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`;

describe('create', () => {
  it('answers 204 with OData-EntityId and stamps system columns', async () => {
    const { call } = harness();
    const res = await call('POST', 'accounts', {
      body: {
        name: 'Sample Account',
        creditonhold: false,
        address1_latitude: 47.639583,
        description: 'd',
        revenue: 5000000,
        accountcategorycode: 1,
      },
    });
    expect(res.status).toBe(204);
    const id = idFromEntityId(res);
    expect(res.headers!['OData-EntityId']).toBe(`${webApi}accounts(${id})`);
    const got = await call('GET', `accounts(${id})`);
    expect(got.status).toBe(200);
    expect(got.json['@odata.context']).toBe(`${webApi}$metadata#accounts/$entity`);
    expect(got.json).toMatchObject({
      accountid: id,
      name: 'Sample Account',
      revenue: 5000000,
      statecode: 0,
      statuscode: 1,
      accountcategorycode: 1,
    });
    expect(got.json['@odata.etag']).toMatch(/^W\/"\d+"$/);
    expect(got.json.createdon).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(got.json._ownerid_value).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('returns 201 with the selected columns under Prefer: return=representation', async () => {
    const { call } = harness();
    const res = await call('POST', 'accounts?$select=name,accountnumber', {
      body: { name: 'A', accountnumber: 'N1' },
      headers: { Prefer: 'return=representation' },
    });
    expect(res.status).toBe(201);
    expect(res.headers!['Preference-Applied']).toBe('return=representation');
    expect(res.headers!['OData-EntityId']).toBeUndefined();
    expect(Object.keys(res.json).sort()).toEqual(
      ['@odata.context', '@odata.etag', 'accountid', 'accountnumber', 'name'].sort(),
    );
    expect(res.json['@odata.context']).toBe(`${webApi}$metadata#accounts(name,accountnumber)/$entity`);
    expect(res.headers!.ETag).toBe(res.json['@odata.etag']);
  });

  it('honours a client-supplied id and refuses a duplicate primary key with 412 0x80040237', async () => {
    const { call } = harness();
    const id = 'aaaaaaaa-0000-0000-0000-000000000001';
    expect(
      (await call('POST', 'contacts', { body: { contactid: id.toUpperCase(), lastname: 'X' } })).headers![
        'OData-EntityId'
      ],
    ).toBe(`${webApi}contacts(${id})`);
    const dup = await call('POST', 'contacts', { body: { contactid: id, lastname: 'Y' } });
    expect(dup.status).toBe(412);
    expect(dup.json).toEqual({
      error: { code: '0x80040237', message: 'A record with matching key values already exists.' },
    });
  });

  it('refuses a duplicate alternate key (case-insensitive) with 412', async () => {
    const { call } = harness();
    expect((await call('POST', 'accounts', { body: { name: 'A', accountnumber: 'abc' } })).status).toBe(204);
    const dup = await call('POST', 'accounts', { body: { name: 'B', accountnumber: 'ABC' } });
    expect(dup.status).toBe(412);
    expect(dup.json.error.code).toBe('0x80040237');
    // Null key values are not indexed: many rows may lack an account number.
    expect((await call('POST', 'accounts', { body: { name: 'C' } })).status).toBe(204);
    expect((await call('POST', 'accounts', { body: { name: 'D' } })).status).toBe(204);
  });

  it('validates max length with the two-space message', async () => {
    const { call } = harness();
    const res = await call('POST', 'tasks', { body: { subject: 'x'.repeat(201) } });
    expect(res.status).toBe(400);
    expect(res.json.error).toEqual({
      code: '0x80044331',
      message:
        "A validation error occurred.  The length of the 'subject' attribute of the 'task' entity exceeded the maximum allowed length of '200'.",
    });
    expect((await call('POST', 'tasks', { body: { subject: 'x'.repeat(200) } })).status).toBe(204);
  });

  it('rejects unknown properties, wrong JSON types, bad choices, out-of-range numbers and missing SystemRequired columns', async () => {
    const { call } = harness();
    const unknown = await call('POST', 'contacts', { body: { lastname: 'L', nosuch: 1 } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.code).toBe('0x80048d19');
    expect(unknown.json.error.message).toContain(
      "Invalid property 'nosuch' was found in entity 'Microsoft.Dynamics.CRM.contact'.",
    );
    const lookupValue = await call('POST', 'contacts', { body: { _parentcustomerid_value: guid(1) } });
    expect(lookupValue.json.error.message).toContain("Invalid property '_parentcustomerid_value'");
    const wrongType = await call('POST', 'accounts', { body: { name: 5 } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json.error.message).toContain("Cannot convert the literal '5' to the expected type 'Edm.String'.");
    expect(
      (await call('POST', 'accounts', { body: { name: 'a', numberofemployees: 1.5 } })).json.error.message,
    ).toContain("'Edm.Int32'");
    expect((await call('POST', 'accounts', { body: { name: 'a', creditonhold: 'yes' } })).json.error.message).toContain(
      "'Edm.Boolean'",
    );
    expect((await call('POST', 'contacts', { body: { birthdate: 'tomorrow' } })).json.error.message).toContain(
      "'Edm.Date'",
    );
    const choice = await call('POST', 'accounts', { body: { name: 'a', accountcategorycode: 7 } });
    expect(choice.status).toBe(400);
    expect(choice.json.error).toEqual({
      code: '0x8004431A',
      message:
        "A validation error occurred. The value 7 of 'accountcategorycode' on record of type 'account' is outside the valid range.",
    });
    const range = await call('POST', 'accounts', { body: { name: 'a', address1_latitude: 91 } });
    expect(range.status).toBe(400);
    expect(range.json.error.code).toBe('0x80044330');
    const required = await call('POST', 'new_projects', { body: { new_name: 'p' } });
    expect(required.status).toBe(400);
    expect(required.json.error).toEqual({ code: '0x80040200', message: "Attribute 'new_code' cannot be NULL" });
    const badJson = await call('POST', 'accounts', { body: '{"name":' });
    expect(badJson.status).toBe(400);
    expect(badJson.json.error.message).toContain('Invalid JSON');
    expect(await call('GET', 'accounts')).toMatchObject({ json: { value: [] } }); // nothing was written
  });

  it('ignores read-only columns and computes fullname', async () => {
    const { call } = harness();
    const id = idFromEntityId(
      await call('POST', 'contacts', {
        body: {
          firstname: 'Ada',
          lastname: 'Lovelace',
          fullname: 'ignored',
          versionnumber: 1,
          createdon: '2000-01-01T00:00:00Z',
        },
      }),
    );
    const got = await call('GET', `contacts(${id})?$select=fullname,createdon`);
    expect(got.json.fullname).toBe('Ada Lovelace');
    expect(got.json.createdon).not.toBe('2000-01-01T00:00:00Z');
  });

  it('records impersonation: createdby is the impersonated user, createdonbehalfby the caller', async () => {
    const { call } = harness();
    const res = await call('POST', 'accounts', {
      body: { name: 'Imp' },
      headers: { CallerObjectId: 'e39c5d16-675b-48d1-8e67-667427e9c084' },
    });
    expect(res.status).toBe(204);
    const row = (await call('GET', `accounts(${idFromEntityId(res)})`)).json;
    const who = (await call('GET', 'WhoAmI')).json;
    const impersonated = (
      await call('GET', 'WhoAmI()', { headers: { CallerObjectId: 'e39c5d16-675b-48d1-8e67-667427e9c084' } })
    ).json;
    expect(row._createdonbehalfby_value).toBe(who.UserId);
    expect(row._createdby_value).toBe(impersonated.UserId);
    expect(row._createdby_value).not.toBe(who.UserId);
  });
});

describe('lookups with @odata.bind', () => {
  it('binds by id, by alternate key and by absolute URL, and reads back _x_value', async () => {
    const { call } = harness();
    const accountId = idFromEntityId(
      await call('POST', 'accounts', { body: { name: 'Parent', accountnumber: 'P-1' } }),
    );
    const contactId = idFromEntityId(
      await call('POST', 'contacts', {
        body: {
          lastname: 'C',
          emailaddress1: "o'neil@example.com",
          'parentcustomerid_account@odata.bind': `/accounts(accountnumber='P-1')`,
        },
      }),
    );
    await call('PATCH', `accounts(${accountId})`, {
      body: { 'primarycontactid@odata.bind': `/contacts(emailaddress1='o''neil@example.com')` },
    });
    const taskRes = await call('POST', 'tasks', {
      body: { subject: 'T', 'regardingobjectid_account_task@odata.bind': `${webApi}accounts(${accountId})` },
    });
    expect(taskRes.status).toBe(204);
    expect(
      (await call('GET', `contacts(${contactId})?$select=_parentcustomerid_value`)).json._parentcustomerid_value,
    ).toBe(accountId);
    expect(
      (await call('GET', `accounts(${accountId})?$select=_primarycontactid_value`)).json._primarycontactid_value,
    ).toBe(contactId);
    const annotated = await call('GET', `contacts(${contactId})?$select=_parentcustomerid_value`, {
      headers: { Prefer: 'odata.include-annotations="*"' },
    });
    expect(annotated.json['_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname']).toBe('account');
    expect(annotated.json['_parentcustomerid_value@OData.Community.Display.V1.FormattedValue']).toBe('Parent');
    expect(annotated.json['_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty']).toBe(
      'parentcustomerid_account',
    );
    // One-to-many navigation, as in the batch fixtures.
    const tasks = await call('GET', `accounts(${accountId})/Account_Tasks?$select=subject`);
    expect(tasks.json['@odata.context']).toBe(`${webApi}$metadata#tasks(subject)`);
    expect(tasks.json.value).toEqual([expect.objectContaining({ subject: 'T' })]);
  });

  it('fails on unknown targets and undeclared navigation properties', async () => {
    const { call } = harness();
    const missing = await call('POST', 'contacts', {
      body: { 'parentcustomerid_account@odata.bind': `/accounts(${guid(9)})` },
    });
    expect(missing.status).toBe(404);
    expect(missing.json.error).toEqual({ code: '0x80040217', message: `account With Id = ${guid(9)} Does Not Exist` });
    const missingKey = await call('POST', 'contacts', {
      body: { 'parentcustomerid_account@odata.bind': `/accounts(accountnumber='none')` },
    });
    expect(missingKey.status).toBe(404);
    expect(missingKey.json.error.message).toBe(
      'A record with the specified key values does not exist in account entity',
    );
    const undeclared = await call('POST', 'contacts', {
      body: { 'parentcustomerid@odata.bind': `/accounts(${guid(9)})` },
    });
    expect(undeclared.status).toBe(400);
    expect(undeclared.json.error.message).toContain(
      "An undeclared property 'parentcustomerid' which only has property annotations",
    );
    const unknownSet = await call('POST', 'contacts', {
      body: { 'parentcustomerid_account@odata.bind': `/foos(${guid(9)})` },
    });
    expect(unknownSet.json.error).toEqual({
      code: '0x80060888',
      message: "Resource not found for the segment 'foos'.",
    });
    const wrongSet = await call('POST', 'contacts', {
      body: { 'parentcustomerid_account@odata.bind': `/contacts(${guid(9)})` },
    });
    expect(wrongSet.status).toBe(400);
    const badKey = await call('POST', 'contacts', {
      body: { 'parentcustomerid_account@odata.bind': `/accounts(name='x')` },
    });
    expect(badKey.status).toBe(400);
    expect(badKey.json.error.message).toContain(
      "The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.account'",
    );
  });

  it('sets and clears a lookup through $ref and a column through PUT', async () => {
    const { call } = harness();
    const a = idFromEntityId(await call('POST', 'accounts', { body: { name: 'A' } }));
    const c = idFromEntityId(await call('POST', 'contacts', { body: { lastname: 'C' } }));
    expect(
      (await call('PUT', `accounts(${a})/primarycontactid/$ref`, { body: { '@odata.id': `${webApi}contacts(${c})` } }))
        .status,
    ).toBe(204);
    expect((await call('GET', `accounts(${a})`)).json._primarycontactid_value).toBe(c);
    expect((await call('DELETE', `accounts(${a})/primarycontactid/$ref`)).status).toBe(204);
    expect((await call('GET', `accounts(${a})`)).json._primarycontactid_value).toBeNull();
    expect((await call('PUT', `contacts(${c})/lastname`, { body: { value: 'Changed' } })).status).toBe(204);
    expect((await call('GET', `contacts(${c})/lastname`)).json.value).toBe('Changed');
  });
});

describe('retrieve', () => {
  it('finds rows by alternate keys: quoted with escaping, numeric multi-part, and by primary key name', async () => {
    const { call } = harness();
    const id = idFromEntityId(await call('POST', 'accounts', { body: { name: 'Q', accountnumber: "O'Brien (1)" } }));
    expect((await call('GET', `accounts(accountnumber='O''Brien (1)')?$select=name`)).json).toMatchObject({
      name: 'Q',
      accountid: id,
    });
    expect((await call('GET', `accounts(accountid=${id})`)).json.accountid).toBe(id);
    const ex = idFromEntityId(
      await call('POST', 'example_records', { body: { example_name: 'e', example_key1: 2, example_key2: 3 } }),
    );
    expect((await call('GET', 'example_records(example_key2=3,example_key1=2)')).json.example_recordid).toBe(ex);
    expect((await call('GET', 'example_records(example_key1=2,example_key2=4)')).status).toBe(404);
    expect((await call('GET', `accounts(${'b'.repeat(8)}-0000-0000-0000-000000000000)`)).json.error.message).toBe(
      `account With Id = bbbbbbbb-0000-0000-0000-000000000000 Does Not Exist`,
    );
  });

  it('rejects unknown columns in $select, lookups selected without _x_value, and unknown entity sets', async () => {
    const { call, service } = harness();
    const id = idFromEntityId(await call('POST', 'contacts', { body: { lastname: 'L' } }));
    const bad = await call('GET', `contacts(${id})?$select=nosuch`);
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toBe(
      "Could not find a property named 'nosuch' on type 'Microsoft.Dynamics.CRM.contact'.",
    );
    expect((await call('GET', `contacts(${id})?$select=parentcustomerid`)).status).toBe(400);
    expect(await service.route(routeRequest('GET', 'foos', { callerId: 'x' }))).toBeUndefined();
  });

  it('answers 304 to If-None-Match with the current ETag', async () => {
    const { call } = harness();
    const id = idFromEntityId(await call('POST', 'contacts', { body: { lastname: 'L' } }));
    const etag = (await call('GET', `contacts(${id})`)).json['@odata.etag'];
    expect((await call('GET', `contacts(${id})`, { headers: { 'If-None-Match': etag } })).status).toBe(304);
    await call('PATCH', `contacts(${id})`, { body: { lastname: 'M' } });
    expect((await call('GET', `contacts(${id})`, { headers: { 'If-None-Match': etag } })).status).toBe(200);
  });
});

describe('update, upsert, delete', () => {
  it('upserts by alternate key as the fixtures show: 204 both ways, 201 then 200 with representation', async () => {
    const { call } = harness();
    const created = await call('PATCH', 'example_records(example_key1=2,example_key2=2)', {
      body: { example_name: '2:2' },
      headers: { 'If-None-Match': 'null' },
    });
    expect(created.status).toBe(204);
    expect(created.headers!['OData-EntityId']).toBe(`${webApi}example_records(example_key1=2,example_key2=2)`);
    const row = (await call('GET', 'example_records(example_key1=2,example_key2=2)')).json;
    expect(row).toMatchObject({ example_name: '2:2', example_key1: 2, example_key2: 2 }); // key values copied from the URL
    const updated = await call('PATCH', 'example_records(example_key1=2,example_key2=2)', {
      body: { example_name: '2:2 Updated', example_key1: 99 },
    });
    expect(updated.status).toBe(204);
    expect((await call('GET', `example_records(${String(row.example_recordid)})`)).json).toMatchObject({
      example_name: '2:2 Updated',
      example_key1: 2,
    }); // key removed on update

    const reprCreate = await call('PATCH', 'example_records(example_key1=3,example_key2=3)?$select=example_recordid', {
      body: { example_name: '3:3' },
      headers: { Prefer: 'return=representation' },
    });
    expect(reprCreate.status).toBe(201);
    expect(reprCreate.headers).toMatchObject({
      'Preference-Applied': 'return=representation',
      ETag: reprCreate.json['@odata.etag'],
    });
    expect(Object.keys(reprCreate.json)).toEqual(['@odata.context', '@odata.etag', 'example_recordid']);
    expect(reprCreate.json['@odata.context']).toBe(`${webApi}$metadata#example_records(example_recordid)/$entity`);
    const reprUpdate = await call('PATCH', 'example_records(example_key1=3,example_key2=3)?$select=example_recordid', {
      body: { example_name: '3:3 Updated' },
      headers: { Prefer: 'return=representation' },
    });
    expect(reprUpdate.status).toBe(200);
    expect(reprUpdate.headers!['Preference-Applied']).toBeUndefined();
    expect(reprUpdate.json.example_recordid).toBe(reprCreate.json.example_recordid);
    expect(Number(/\d+/.exec(reprUpdate.json['@odata.etag'])![0])).toBeGreaterThan(
      Number(/\d+/.exec(reprCreate.json['@odata.etag'])![0]),
    );
  });

  it('upserts by id: creates with the URL id when missing', async () => {
    const { call } = harness();
    const res = await call('PATCH', `accounts(${guid(42)})`, { body: { name: 'by id' } });
    expect(res.status).toBe(204);
    expect((await call('GET', `accounts(${guid(42)})`)).json.name).toBe('by id');
  });

  it('keeps If-Match / If-None-Match semantics', async () => {
    const { call } = harness();
    const missing = await call('PATCH', `accounts(${guid(7)})`, { body: { name: 'x' }, headers: { 'If-Match': '*' } });
    expect(missing.status).toBe(404);
    expect(missing.json.error).toEqual({ code: '0x80040217', message: `account With Id = ${guid(7)} Does Not Exist` });
    expect((await call('GET', 'accounts')).json.value).toHaveLength(0);
    await call('POST', 'accounts', { body: { accountid: guid(7), name: 'x' } });
    const exists = await call('PATCH', `accounts(${guid(7)})`, {
      body: { name: 'y' },
      headers: { 'If-None-Match': '*' },
    });
    expect(exists.status).toBe(412);
    expect(exists.json.error.message).toBe('A record with matching key values already exists.');
    const etag = (await call('GET', `accounts(${guid(7)})`)).json['@odata.etag'];
    const stale = await call('PATCH', `accounts(${guid(7)})`, {
      body: { name: 'z' },
      headers: { 'If-Match': 'W/"1"' },
    });
    expect(stale.status).toBe(412);
    expect(stale.json.error.message).toBe(
      "The version of the existing record doesn't match the RowVersion property provided.",
    );
    expect(
      (await call('PATCH', `accounts(${guid(7)})`, { body: { name: 'z' }, headers: { 'If-Match': etag } })).status,
    ).toBe(204);
    expect(
      (await call('PATCH', `accounts(${guid(7)})`, { body: { name: 'w' }, headers: { 'If-Match': '*' } })).status,
    ).toBe(204);
    expect((await call('GET', `accounts(${guid(7)})`)).json.name).toBe('w');
  });

  it('moves statuscode with statecode and refuses an update that breaks an alternate key', async () => {
    const { call } = harness();
    const t = idFromEntityId(await call('POST', 'tasks', { body: { subject: 's' } }));
    expect((await call('GET', `tasks(${t})`)).json).toMatchObject({ statecode: 0, statuscode: 2, prioritycode: 1 });
    await call('PATCH', `tasks(${t})`, { body: { statecode: 1 } });
    expect((await call('GET', `tasks(${t})`)).json).toMatchObject({ statecode: 1, statuscode: 5 });
    await call('POST', 'accounts', { body: { name: 'a', accountnumber: 'K1' } });
    const b = idFromEntityId(await call('POST', 'accounts', { body: { name: 'b', accountnumber: 'K2' } }));
    expect((await call('PATCH', `accounts(${b})`, { body: { accountnumber: 'k1' } })).status).toBe(412);
    expect((await call('PATCH', `accounts(${b})`, { body: { accountnumber: 'K3' } })).status).toBe(204);
    expect((await call('GET', `accounts(accountnumber='K3')`)).json.accountid).toBe(b);
    expect((await call('GET', `accounts(accountnumber='K2')`)).status).toBe(404);
  });

  it('deletes, then answers 404', async () => {
    const { call } = harness();
    const id = idFromEntityId(await call('POST', 'accounts', { body: { name: 'gone', accountnumber: 'G' } }));
    expect((await call('DELETE', `accounts(${id})`)).status).toBe(204);
    expect((await call('DELETE', `accounts(${id})`)).status).toBe(404);
    expect((await call('GET', `accounts(${id})`)).status).toBe(404);
    expect((await call('POST', 'accounts', { body: { name: 'again', accountnumber: 'G' } })).status).toBe(204); // key freed
    const other = idFromEntityId(await call('POST', 'accounts', { body: { name: 'versioned' } }));
    expect((await call('DELETE', `accounts(${other})`, { headers: { 'If-Match': 'W/"1"' } })).status).toBe(412);
    expect((await call('GET', `accounts(${other})`)).status).toBe(200);
  });
});
