import { buildTableMetadata, type TableMetadata } from '../../../shared/ingestion/tableMetadata';

/** EntityDefinitions-shaped responses (docs/design.md §"Metadata calls") for an account table. */
const attribute = (LogicalName: string, AttributeType: string, extra: Record<string, unknown> = {}) => ({
  '@odata.type': `#Microsoft.Dynamics.CRM.${AttributeType}AttributeMetadata`,
  LogicalName,
  AttributeType,
  AttributeTypeName: { Value: `${AttributeType}Type` },
  RequiredLevel: { Value: 'None' },
  IsValidForCreate: true,
  IsValidForUpdate: true,
  IsPrimaryId: false,
  IsPrimaryName: false,
  ...extra,
});

export const accountEntityDefinition = {
  '@odata.context':
    'https://contoso.crm.dynamics.com/api/data/v9.2/$metadata#EntityDefinitions(LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,Attributes(),Keys())/$entity',
  LogicalName: 'account',
  EntitySetName: 'accounts',
  PrimaryIdAttribute: 'accountid',
  PrimaryNameAttribute: 'name',
  MetadataId: '70816501-edb9-4740-a16c-6a5efbc05d84',
  Attributes: [
    attribute('accountid', 'Uniqueidentifier', {
      IsPrimaryId: true,
      RequiredLevel: { Value: 'SystemRequired' },
      IsValidForUpdate: false,
    }),
    attribute('name', 'String', {
      MaxLength: 160,
      IsPrimaryName: true,
      RequiredLevel: { Value: 'ApplicationRequired' },
    }),
    attribute('accountnumber', 'String', { MaxLength: 20 }),
    attribute('description', 'Memo', { MaxLength: 2000 }),
    attribute('numberofemployees', 'Integer', { MinValue: 0, MaxValue: 1000000000 }),
    attribute('sharesoutstanding', 'Integer'),
    attribute('new_bignumber', 'BigInt'),
    attribute('revenue', 'Money', { Precision: 2, MinValue: 0, MaxValue: 100000000000000 }),
    attribute('new_rate', 'Decimal', { Precision: 4 }),
    attribute('address1_latitude', 'Double', { MinValue: -90, MaxValue: 90, Precision: 5 }),
    attribute('donotemail', 'Boolean'),
    attribute('new_founded', 'DateTime', { Format: 'DateOnly' }),
    attribute('lastcontactedon', 'DateTime', { Format: 'DateAndTime' }),
    attribute('industrycode', 'Picklist'),
    attribute('statecode', 'State', { RequiredLevel: { Value: 'SystemRequired' } }),
    attribute('statuscode', 'Status'),
    attribute('primarycontactid', 'Lookup', { Targets: ['contact'] }),
    attribute('primarycontactidname', 'String', {
      AttributeOf: 'primarycontactid',
      IsValidForCreate: false,
      IsValidForUpdate: false,
    }),
    attribute('parentaccountid', 'Lookup', { Targets: ['account'] }),
    attribute('new_customerid', 'Customer', { Targets: ['account', 'contact'] }),
    attribute('ownerid', 'Owner', { Targets: ['systemuser', 'team'], RequiredLevel: { Value: 'SystemRequired' } }),
    attribute('createdon', 'DateTime', { IsValidForCreate: false, IsValidForUpdate: false }),
    attribute('new_tags', 'Virtual'),
  ],
  Keys: [{ LogicalName: 'account_accountnumber', KeyAttributes: ['accountnumber'] }],
};

const option = (Value: number, Label: string) => ({
  Value,
  Label: { UserLocalizedLabel: { Label, LanguageCode: 1033 }, LocalizedLabels: [{ Label, LanguageCode: 1033 }] },
});

export const accountPicklists = {
  value: [
    {
      LogicalName: 'industrycode',
      OptionSet: {
        Options: [option(1, 'Accounting'), option(2, 'Agriculture'), option(3, 'Broadcasting Printing and Publishing')],
      },
    },
  ],
};
export const accountStates = {
  value: [{ LogicalName: 'statecode', OptionSet: { Options: [option(0, 'Active'), option(1, 'Inactive')] } }],
};
export const accountStatuses = {
  value: [{ LogicalName: 'statuscode', OptionSet: { Options: [option(1, 'Active'), option(2, 'Inactive')] } }],
};
export const accountBooleans = {
  value: [
    {
      LogicalName: 'donotemail',
      OptionSet: { TrueOption: option(1, 'Do Not Allow'), FalseOption: option(0, 'Allow') },
    },
  ],
};
export const accountRelationships = {
  value: [
    {
      ReferencingAttribute: 'primarycontactid',
      ReferencingEntityNavigationPropertyName: 'primarycontactid',
      ReferencedEntity: 'contact',
    },
    {
      ReferencingAttribute: 'parentaccountid',
      ReferencingEntityNavigationPropertyName: 'parentaccountid',
      ReferencedEntity: 'account',
    },
    {
      ReferencingAttribute: 'new_customerid',
      ReferencingEntityNavigationPropertyName: 'new_customerid_account',
      ReferencedEntity: 'account',
    },
    {
      ReferencingAttribute: 'new_customerid',
      ReferencingEntityNavigationPropertyName: 'new_customerid_contact',
      ReferencedEntity: 'contact',
    },
    {
      ReferencingAttribute: 'ownerid',
      ReferencingEntityNavigationPropertyName: 'ownerid',
      ReferencedEntity: 'systemuser',
    },
  ],
};

export function accountMetadata(): TableMetadata {
  return buildTableMetadata({
    entityDefinition: accountEntityDefinition,
    picklistAttributes: accountPicklists,
    stateAttributes: accountStates,
    statusAttributes: accountStatuses,
    booleanAttributes: accountBooleans,
    manyToOneRelationships: accountRelationships,
    relatedEntitySets: { account: 'accounts', contact: 'contacts', systemuser: 'systemusers', team: 'teams' },
  });
}
