import { z } from 'zod';
import { harness, webApi } from './harness';

/** An attribute expanded with its OptionSet (PicklistAttributeMetadata, StatusAttributeMetadata). */
const optionSetAttribute = z.object({ OptionSet: z.object({ Options: z.array(z.record(z.string(), z.unknown())) }) });

describe('EntityDefinitions', () => {
  it('answers the loader metadata call 1 (select + expand Attributes,Keys)', async () => {
    const { call } = harness();
    const res = await call(
      'GET',
      "EntityDefinitions(LogicalName='account')?$select=LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute&$expand=Attributes,Keys",
    );
    expect(res.status).toBe(200);
    const e = res.json;
    expect(e).toMatchObject({
      LogicalName: 'account',
      EntitySetName: 'accounts',
      PrimaryIdAttribute: 'accountid',
      PrimaryNameAttribute: 'name',
    });
    expect(e.MetadataId).toMatch(/^[0-9a-f-]{36}$/);
    expect(e.DisplayName).toBeUndefined(); // not selected
    expect(e['@odata.context']).toBe(
      `${webApi}$metadata#EntityDefinitions(LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute)/$entity`,
    );
    const name = e.Attributes.find((a) => a.LogicalName === 'name');
    expect(name).toMatchObject({
      '@odata.type': '#Microsoft.Dynamics.CRM.StringAttributeMetadata',
      AttributeType: 'String',
      AttributeTypeName: { Value: 'StringType' },
      MaxLength: 160,
      RequiredLevel: { Value: 'ApplicationRequired' },
      IsValidForCreate: true,
      IsValidForUpdate: true,
      IsPrimaryName: true,
      IsPrimaryId: false,
    });
    expect(e.Attributes.find((a) => a.LogicalName === 'accountid')).toMatchObject({
      AttributeType: 'Uniqueidentifier',
      IsPrimaryId: true,
    });
    expect(e.Attributes.find((a) => a.LogicalName === 'primarycontactid')).toMatchObject({
      AttributeType: 'Lookup',
      Targets: ['contact'],
    });
    expect(e.Attributes.find((a) => a.LogicalName === 'numberofemployees')).toMatchObject({
      AttributeType: 'Integer',
      MinValue: 0,
      MaxValue: 1000000000,
    });
    expect(e.Attributes.find((a) => a.LogicalName === 'createdon')).toMatchObject({
      IsValidForCreate: false,
      IsValidForUpdate: false,
    });
    expect(e.Keys).toEqual([
      expect.objectContaining({ LogicalName: 'accountnumber_key', KeyAttributes: ['accountnumber'] }),
    ]);
  });

  it('honours nested $select in $expand', async () => {
    const { call } = harness();
    const res = await call(
      'GET',
      "EntityDefinitions(LogicalName='contact')?$select=LogicalName&$expand=Attributes($select=LogicalName,AttributeType)",
    );
    const first = res.json.Attributes[0];
    expect(Object.keys(first ?? {}).sort()).toEqual(['@odata.type', 'AttributeType', 'LogicalName', 'MetadataId']);
    expect(res.json.Attributes.find((a) => a.LogicalName === 'parentcustomerid')?.AttributeType).toBe('Customer');
  });

  it('answers call 2: the PicklistAttributeMetadata cast with OptionSet', async () => {
    const { call } = harness();
    const res = await call(
      'GET',
      "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)",
    );
    expect(res.status).toBe(200);
    const category = optionSetAttribute.parse(res.json.value.find((a) => a.LogicalName === 'accountcategorycode'));
    expect(category.OptionSet.Options[0]).toMatchObject({
      Value: 1,
      Label: { UserLocalizedLabel: { Label: 'Preferred Customer', LanguageCode: 1033 } },
    });
    expect(res.json.value.every((a) => a.OptionSet)).toBe(true);
    expect(res.json.value.map((a) => a.LogicalName)).not.toContain('statecode');
    const status = await call(
      'GET',
      "EntityDefinitions(LogicalName='task')/Attributes/Microsoft.Dynamics.CRM.StatusAttributeMetadata?$expand=OptionSet",
    );
    expect(optionSetAttribute.parse(status.json.value[0]).OptionSet.Options).toContainEqual(
      expect.objectContaining({ Value: 5, State: 1 }),
    );
  });

  it('answers call 3: ManyToOneRelationships with navigation property names', async () => {
    const { call } = harness();
    const res = await call(
      'GET',
      "EntityDefinitions(LogicalName='task')/ManyToOneRelationships?$select=ReferencingAttribute,ReferencingEntityNavigationPropertyName,ReferencedEntity",
    );
    expect(res.json.value).toContainEqual(
      expect.objectContaining({
        ReferencingAttribute: 'regardingobjectid',
        ReferencingEntityNavigationPropertyName: 'regardingobjectid_account_task',
        ReferencedEntity: 'account',
      }),
    );
    expect(res.json.value).toContainEqual(
      expect.objectContaining({
        ReferencingAttribute: 'regardingobjectid',
        ReferencingEntityNavigationPropertyName: 'regardingobjectid_contact_task',
        ReferencedEntity: 'contact',
      }),
    );
    const one = await call('GET', "EntityDefinitions(LogicalName='account')/OneToManyRelationships");
    expect(one.json.value).toContainEqual(
      expect.objectContaining({ SchemaName: 'Account_Tasks', ReferencingEntity: 'task' }),
    );
  });

  it('filters the EntityDefinitions collection and finds one attribute by name', async () => {
    const { call } = harness();
    const res = await call(
      'GET',
      "EntityDefinitions?$select=LogicalName,EntitySetName&$filter=LogicalName eq 'contact' or EntitySetName eq 'tasks'",
    );
    expect(res.json.value.map((e) => [e.LogicalName, e.EntitySetName])).toEqual([
      ['contact', 'contacts'],
      ['task', 'tasks'],
    ]);
    const attr = await call('GET', "EntityDefinitions(LogicalName='task')/Attributes(LogicalName='subject')");
    expect(attr.json).toMatchObject({ LogicalName: 'subject', MaxLength: 200 });
    const byId = await call('GET', `EntityDefinitions(${String(res.json.value[0]?.MetadataId)})?$select=LogicalName`);
    expect(byId.json.LogicalName).toBe('contact');
  });

  it('answers 404 for an unknown table', async () => {
    const { call } = harness();
    const res = await call('GET', "EntityDefinitions(LogicalName='foo')");
    expect(res.status).toBe(404);
    expect(res.json.error).toEqual({ code: '0x80040217', message: "Could not find entity with name 'foo'" });
  });

  it('serves a custom schema, validated with zod', () => {
    expect(() =>
      harness({
        tables: [
          {
            logicalName: 'x',
            entitySetName: 'xs',
            primaryIdAttribute: 'xid',
            primaryNameAttribute: 'missing',
            attributes: [],
          },
        ],
      }),
    ).toThrow(/primary name/);
    expect(() => harness({ tables: [] })).toThrow();
  });

  it('uses a custom schema end to end', async () => {
    const { call } = harness({
      tables: [
        {
          logicalName: 'new_widget',
          entitySetName: 'new_widgets',
          primaryIdAttribute: 'new_widgetid',
          primaryNameAttribute: 'new_name',
          attributes: [{ logicalName: 'new_name', type: 'String', maxLength: 5 }],
        },
      ],
    });
    expect((await call('POST', 'new_widgets', { body: { new_name: 'abcdef' } })).json.error.code).toBe('0x80044331');
    expect((await call('POST', 'new_widgets', { body: { new_name: 'abc' } })).status).toBe(204);
    expect(
      (await call('GET', "EntityDefinitions(LogicalName='new_widget')?$select=EntitySetName")).json.EntitySetName,
    ).toBe('new_widgets');
  });
});
