/**
 * The tables the emulator serves by default: account, contact, task and lead as Dataverse ships them
 * (a useful subset of columns), the tables the reference fixtures use (sample_example, example_record,
 * new_altkeydemo, contoso_sensordata: fixtureTables.ts), two custom tables for loader tests: new_project (a
 * SystemRequired column and an alternate key) and new_legacyrecord (no bulk messages), and the tables and N:N
 * relationships of the column kinds (columnKindTables.ts: team, opportunity, annotation, file/image/multi-select
 * columns).
 */
import { columnKindTables, manyToManyRelationships } from './columnKindTables';
import { fixtureTables } from './fixtureTables';
import type { TableSchemaJson } from './schema';
import { lookup, memo, money, s } from './schemaBuilders';

export const defaultSchema: TableSchemaJson = {
  tables: [
    {
      logicalName: 'systemuser',
      entitySetName: 'systemusers',
      primaryIdAttribute: 'systemuserid',
      primaryNameAttribute: 'fullname',
      attributes: [
        s('fullname', 200),
        s('domainname', 1024),
        s('internalemailaddress', 100),
        { logicalName: 'azureactivedirectoryobjectid', type: 'Uniqueidentifier' },
      ],
    },
    {
      logicalName: 'account',
      entitySetName: 'accounts',
      primaryIdAttribute: 'accountid',
      primaryNameAttribute: 'name',
      supportsMerge: true,
      attributes: [
        s('name', 160, { requiredLevel: 'ApplicationRequired' }),
        s('accountnumber', 20),
        memo('description', 2000),
        s('telephone1', 50),
        s('emailaddress1', 100),
        s('address1_city', 80),
        s('address1_country', 80),
        s('websiteurl', 200),
        money('revenue'),
        { logicalName: 'creditonhold', type: 'Boolean', defaultValue: false },
        { logicalName: 'address1_latitude', type: 'Double', minValue: -90, maxValue: 90, precision: 5 },
        { logicalName: 'address1_longitude', type: 'Double', minValue: -180, maxValue: 180, precision: 5 },
        { logicalName: 'numberofemployees', type: 'Integer', minValue: 0, maxValue: 1000000000 },
        {
          logicalName: 'accountcategorycode',
          type: 'Picklist',
          options: [
            { value: 1, label: 'Preferred Customer' },
            { value: 2, label: 'Standard' },
          ],
        },
        {
          logicalName: 'industrycode',
          type: 'Picklist',
          options: [
            { value: 1, label: 'Accounting' },
            { value: 2, label: 'Agriculture and Non-petrol Natural Resource Extraction' },
            { value: 7, label: 'Consulting' },
            { value: 33, label: 'Wholesale' },
          ],
        },
        lookup('primarycontactid', 'contact', 'primarycontactid', 'account_primary_contact'),
        lookup('parentaccountid', 'account', 'parentaccountid', 'account_parent_account'),
        lookup('originatingleadid', 'lead', 'originatingleadid', 'account_originating_lead'),
        { logicalName: 'entityimage', type: 'Image', maxSizeInKB: 10240 },
        { logicalName: 'sample_filecolumn', type: 'File', maxSizeInKB: 102400 },
      ],
      keys: [{ logicalName: 'accountnumber_key', attributes: ['accountnumber'] }],
    },
    {
      logicalName: 'contact',
      entitySetName: 'contacts',
      primaryIdAttribute: 'contactid',
      primaryNameAttribute: 'fullname',
      supportsMerge: true,
      attributes: [
        s('firstname', 50),
        s('lastname', 50, { requiredLevel: 'ApplicationRequired' }),
        s('fullname', 160, { isValidForCreate: false, isValidForUpdate: false }),
        s('emailaddress1', 100),
        s('telephone1', 50),
        s('jobtitle', 100),
        s('address1_city', 80),
        memo('description', 2000),
        { logicalName: 'birthdate', type: 'DateTime', format: 'DateOnly' },
        money('creditlimit'),
        {
          logicalName: 'gendercode',
          type: 'Picklist',
          options: [
            { value: 1, label: 'Male' },
            { value: 2, label: 'Female' },
          ],
        },
        {
          logicalName: 'sample_outdooractivities',
          type: 'MultiSelectPicklist',
          options: [
            'Swimming',
            'Hiking',
            'Mountain Climbing',
            'Fishing',
            'Hunting',
            'Running',
            'Boating',
            'Skiing',
            'Camping',
          ].map((label, i) => ({ value: i + 1, label })),
        },
        {
          logicalName: 'parentcustomerid',
          type: 'Customer',
          targets: [
            {
              table: 'account',
              navigationProperty: 'parentcustomerid_account',
              relationshipName: 'contact_customer_accounts',
            },
            {
              table: 'contact',
              navigationProperty: 'parentcustomerid_contact',
              relationshipName: 'contact_customer_contacts',
            },
          ],
        },
      ],
      keys: [{ logicalName: 'emailaddress1_key', attributes: ['emailaddress1'] }],
    },
    {
      logicalName: 'task',
      entitySetName: 'tasks',
      primaryIdAttribute: 'activityid',
      primaryNameAttribute: 'subject',
      statesValidOnCreate: [0],
      attributes: [
        s('subject', 200),
        memo('description', 2000),
        { logicalName: 'scheduledend', type: 'DateTime', format: 'DateAndTime' },
        { logicalName: 'actualdurationminutes', type: 'Integer', minValue: 0, maxValue: 2147483647 },
        {
          logicalName: 'prioritycode',
          type: 'Picklist',
          defaultValue: 1,
          options: [
            { value: 0, label: 'Low' },
            { value: 1, label: 'Normal' },
            { value: 2, label: 'High' },
          ],
        },
        {
          logicalName: 'statecode',
          type: 'State',
          defaultValue: 0,
          options: [
            { value: 0, label: 'Open' },
            { value: 1, label: 'Completed' },
            { value: 2, label: 'Canceled' },
          ],
        },
        {
          logicalName: 'statuscode',
          type: 'Status',
          defaultValue: 2,
          options: [
            { value: 2, label: 'Not Started', state: 0 },
            { value: 3, label: 'In Progress', state: 0 },
            { value: 4, label: 'Waiting on someone else', state: 0 },
            { value: 7, label: 'Deferred', state: 0 },
            { value: 5, label: 'Completed', state: 1 },
            { value: 6, label: 'Canceled', state: 2 },
          ],
        },
        {
          logicalName: 'regardingobjectid',
          type: 'Lookup',
          targets: [
            {
              table: 'account',
              navigationProperty: 'regardingobjectid_account_task',
              relationshipName: 'Account_Tasks',
            },
            {
              table: 'contact',
              navigationProperty: 'regardingobjectid_contact_task',
              relationshipName: 'Contact_Tasks',
            },
          ],
        },
      ],
    },
    {
      logicalName: 'lead',
      entitySetName: 'leads',
      primaryIdAttribute: 'leadid',
      primaryNameAttribute: 'fullname',
      attributes: [
        s('firstname', 50),
        s('lastname', 50),
        s('fullname', 160, { isValidForCreate: false, isValidForUpdate: false }),
        s('subject', 300),
        s('companyname', 100),
        s('emailaddress1', 100),
      ],
    },
    {
      logicalName: 'new_project',
      entitySetName: 'new_projects',
      primaryIdAttribute: 'new_projectid',
      primaryNameAttribute: 'new_name',
      attributes: [
        s('new_name', 100),
        s('new_code', 20, { requiredLevel: 'SystemRequired' }),
        { logicalName: 'new_budget', type: 'Decimal', minValue: 0, maxValue: 100000000000, precision: 2 },
        { logicalName: 'new_hours', type: 'BigInt' },
        { logicalName: 'new_start', type: 'DateTime', format: 'DateOnly' },
        {
          logicalName: 'new_stage',
          type: 'Picklist',
          options: [
            { value: 100000000, label: 'Planned' },
            { value: 100000001, label: 'Running' },
            { value: 100000002, label: 'Done' },
          ],
        },
        { logicalName: 'new_active', type: 'Boolean', defaultValue: true },
        lookup('new_accountid', 'account', 'new_accountid', 'new_account_new_project'),
      ],
      keys: [{ logicalName: 'new_code_key', attributes: ['new_code'] }],
    },
    {
      logicalName: 'new_legacyrecord',
      entitySetName: 'new_legacyrecords',
      primaryIdAttribute: 'new_legacyrecordid',
      primaryNameAttribute: 'new_name',
      supportsBulkMessages: false,
      attributes: [s('new_name', 100), s('new_externalid', 50)],
      keys: [{ logicalName: 'new_externalid_key', attributes: ['new_externalid'] }],
    },
    ...fixtureTables,
    ...columnKindTables,
  ],
  manyToManyRelationships,
};
