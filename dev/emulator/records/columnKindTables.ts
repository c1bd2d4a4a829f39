/**
 * Tables and relationships for the column kinds a migration loads (issue 16): teams (owner by team name), the
 * opportunity with its Customer lookup (Microsoft's associate examples use `opportunity_customer_accounts`), a
 * custom table with small file and image columns (max-size refusals), notes (annotation: `objectid` a multi-table
 * lookup, the attachment base64 in `documentbody`, as "Annotation table" describes it), and N:N relationships as Dataverse ships them
 * (`accountleads_association`, `contactleads_association`) plus a custom one.
 */
import type { TableSchemaJson } from './schema';
import { memo, s } from './schemaBuilders';

export const columnKindTables: TableSchemaJson['tables'] = [
  {
    logicalName: 'team',
    entitySetName: 'teams',
    primaryIdAttribute: 'teamid',
    primaryNameAttribute: 'name',
    attributes: [
      s('name', 160, { requiredLevel: 'SystemRequired' }),
      {
        logicalName: 'teamtype',
        type: 'Picklist',
        defaultValue: 0,
        options: [
          { value: 0, label: 'Owner' },
          { value: 1, label: 'Access' },
          { value: 2, label: 'Security Group' },
          { value: 3, label: 'Office Group' },
        ],
      },
    ],
  },
  {
    logicalName: 'opportunity',
    entitySetName: 'opportunities',
    primaryIdAttribute: 'opportunityid',
    primaryNameAttribute: 'name',
    attributes: [
      s('name', 300),
      {
        logicalName: 'customerid',
        type: 'Customer',
        targets: [
          {
            table: 'account',
            navigationProperty: 'customerid_account',
            relationshipName: 'opportunity_customer_accounts',
          },
          {
            table: 'contact',
            navigationProperty: 'customerid_contact',
            relationshipName: 'opportunity_customer_contacts',
          },
        ],
      },
    ],
  },
  {
    logicalName: 'annotation',
    entitySetName: 'annotations',
    primaryIdAttribute: 'annotationid',
    primaryNameAttribute: 'subject',
    attributes: [
      s('subject', 500),
      memo('notetext', 100000),
      s('filename', 255),
      s('mimetype', 256),
      memo('documentbody', 1073741823),
      { logicalName: 'isdocument', type: 'Boolean', defaultValue: false },
      {
        logicalName: 'objectid',
        type: 'Lookup',
        targets: [
          { table: 'account', navigationProperty: 'objectid_account', relationshipName: 'Account_Annotation' },
          { table: 'contact', navigationProperty: 'objectid_contact', relationshipName: 'Contact_Annotation' },
        ],
      },
    ],
  },
  {
    logicalName: 'new_document',
    entitySetName: 'new_documents',
    primaryIdAttribute: 'new_documentid',
    primaryNameAttribute: 'new_name',
    attributes: [
      s('new_name', 100),
      { logicalName: 'new_file', type: 'File', maxSizeInKB: 1 },
      { logicalName: 'new_thumbnail', type: 'Image', maxSizeInKB: 1 },
      {
        logicalName: 'new_tags',
        type: 'MultiSelectPicklist',
        options: [
          { value: 100000000, label: 'Red' },
          { value: 100000001, label: 'Green; Blue' },
          { value: 100000002, label: 'Yellow' },
        ],
      },
    ],
  },
];

export const manyToManyRelationships: NonNullable<TableSchemaJson['manyToManyRelationships']> = [
  {
    schemaName: 'accountleads_association',
    entity1: 'account',
    entity2: 'lead',
    intersectEntityName: 'accountleads',
    entity1NavigationPropertyName: 'accountleads_association',
    entity2NavigationPropertyName: 'accountleads_association',
  },
  {
    schemaName: 'contactleads_association',
    entity1: 'contact',
    entity2: 'lead',
    intersectEntityName: 'contactleads',
    entity1NavigationPropertyName: 'contactleads_association',
    entity2NavigationPropertyName: 'contactleads_association',
  },
  {
    schemaName: 'new_project_contact',
    entity1: 'new_project',
    entity2: 'contact',
    intersectEntityName: 'new_project_contact',
    entity1NavigationPropertyName: 'new_project_contacts',
    entity2NavigationPropertyName: 'new_contact_projects',
  },
];
