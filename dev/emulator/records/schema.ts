/**
 * The table schema the emulator serves: a zod-validated JSON document, compiled into lookup-friendly
 * structures (attributes by name, navigation properties, key indexes) once at start-up.
 */
import { z } from 'zod';

export const attributeTypes = [
  'String',
  'Memo',
  'Integer',
  'BigInt',
  'Decimal',
  'Double',
  'Money',
  'Boolean',
  'DateTime',
  'Picklist',
  'State',
  'Status',
  'Lookup',
  'Customer',
  'Owner',
  'Uniqueidentifier',
] as const;
export type AttributeType = (typeof attributeTypes)[number];

const optionSchema = z.object({ value: z.number().int(), label: z.string(), state: z.number().int().optional() });

const lookupTargetSchema = z.object({
  table: z.string(),
  /** Single-valued navigation property on the referencing table, used in `<nav>@odata.bind`. */
  navigationProperty: z.string(),
  /** Collection-valued navigation property on the target table (the relationship schema name), e.g. Account_Tasks. */
  relationshipName: z.string().optional(),
});

const attributeSchema = z.object({
  logicalName: z.string().regex(/^[a-z_][a-z0-9_]*$/),
  type: z.enum(attributeTypes),
  maxLength: z.number().int().positive().optional(),
  minValue: z.number().optional(),
  maxValue: z.number().optional(),
  precision: z.number().int().min(0).optional(),
  format: z.string().optional(),
  requiredLevel: z.enum(['None', 'SystemRequired', 'ApplicationRequired', 'Recommended']).default('None'),
  isValidForCreate: z.boolean().default(true),
  isValidForUpdate: z.boolean().default(true),
  options: z.array(optionSchema).optional(),
  defaultValue: z.union([z.number(), z.boolean(), z.string()]).optional(),
  targets: z.array(lookupTargetSchema).optional(),
});

const tableSchema = z.object({
  logicalName: z.string().regex(/^[a-z_][a-z0-9_]*$/),
  entitySetName: z.string(),
  primaryIdAttribute: z.string(),
  primaryNameAttribute: z.string(),
  supportsBulkMessages: z.boolean().default(true),
  /** Elastic tables accept DeleteMultiple and carry a partitionid column. */
  isElastic: z.boolean().default(false),
  /** Merge (account, contact) needs masterid/merged columns. */
  supportsMerge: z.boolean().default(false),
  attributes: z.array(attributeSchema),
  keys: z.array(z.object({ logicalName: z.string(), attributes: z.array(z.string()).min(1) })).default([]),
});

export const tableSchemaJson = z.object({ tables: z.array(tableSchema).min(1) });
export type TableSchemaJson = z.input<typeof tableSchemaJson>;
export type AttributeDefinition = z.output<typeof attributeSchema>;
export type TableDefinitionJson = z.output<typeof tableSchema>;

export interface Attribute extends AttributeDefinition {
  metadataId: string;
  isPrimaryId: boolean;
  isPrimaryName: boolean;
  /** The JSON property name in records: `_x_value` for lookups, else the logical name. */
  propertyName: string;
}

export interface NavigationProperty {
  name: string;
  attribute: Attribute;
  target: string;
}

/** A one-to-many relationship seen from the referenced table (e.g. account → Account_Tasks). */
export interface CollectionNavigation {
  name: string;
  referencingTable: string;
  referencingAttribute: string;
}

export interface Table {
  logicalName: string;
  entitySetName: string;
  primaryIdAttribute: string;
  primaryNameAttribute: string;
  supportsBulkMessages: boolean;
  isElastic: boolean;
  supportsMerge: boolean;
  metadataId: string;
  attributes: Map<string, Attribute>;
  /** Attribute by JSON property name (`_x_value` or logical name). */
  properties: Map<string, Attribute>;
  navigation: Map<string, NavigationProperty>;
  collections: Map<string, CollectionNavigation>;
  keys: { logicalName: string; attributes: string[] }[];
}

export interface Schema {
  tables: Map<string, Table>;
  bySet: Map<string, Table>;
}

/** A stable GUID-shaped id from a name, so metadata ids don't change between runs. */
export function stableGuid(name: string): string {
  let h1 = 0x811c9dc5,
    h2 = 0x01000193,
    h3 = 0x9e3779b9,
    h4 = 0x85ebca6b;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h3 = Math.imul(h3 ^ c, 0x27d4eb2d);
    h4 = Math.imul(h4 ^ c, 0x165667b1);
  }
  const hex = [h1, h2, h3, h4].map((h) => (h >>> 0).toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const stateOptions = [
  { value: 0, label: 'Active' },
  { value: 1, label: 'Inactive' },
];
const statusOptions = [
  { value: 1, label: 'Active', state: 0 },
  { value: 2, label: 'Inactive', state: 1 },
];

/** Columns every Dataverse table has; a schema may override any of them (e.g. task's state options). */
function systemAttributes(t: TableDefinitionJson): z.input<typeof attributeSchema>[] {
  const readOnly = { isValidForCreate: false, isValidForUpdate: false };
  const user = (logicalName: string) => ({
    logicalName,
    type: 'Lookup' as const,
    ...readOnly,
    targets: [{ table: 'systemuser', navigationProperty: logicalName }],
  });
  const list: z.input<typeof attributeSchema>[] = [
    {
      logicalName: t.primaryIdAttribute,
      type: 'Uniqueidentifier',
      requiredLevel: 'SystemRequired',
      isValidForUpdate: false,
    },
    { logicalName: 'createdon', type: 'DateTime', format: 'DateAndTime', ...readOnly },
    { logicalName: 'modifiedon', type: 'DateTime', format: 'DateAndTime', ...readOnly },
    { logicalName: 'overriddencreatedon', type: 'DateTime', format: 'DateOnly', isValidForUpdate: false },
    { logicalName: 'versionnumber', type: 'BigInt', ...readOnly },
    { logicalName: 'statecode', type: 'State', options: stateOptions, defaultValue: 0 },
    { logicalName: 'statuscode', type: 'Status', options: statusOptions, defaultValue: 1 },
    {
      logicalName: 'ownerid',
      type: 'Owner',
      isValidForCreate: true,
      isValidForUpdate: true,
      targets: [{ table: 'systemuser', navigationProperty: 'ownerid' }],
    },
    user('createdby'),
    user('modifiedby'),
    user('createdonbehalfby'),
  ];
  if (t.isElastic) list.push({ logicalName: 'partitionid', type: 'String', maxLength: 100, isValidForUpdate: false });
  if (t.supportsMerge) {
    list.push({ logicalName: 'merged', type: 'Boolean', ...readOnly, defaultValue: false });
    list.push({
      logicalName: 'masterid',
      type: 'Lookup',
      ...readOnly,
      targets: [{ table: t.logicalName, navigationProperty: 'masterid' }],
    });
  }
  return list;
}

const isLookupType = (type: AttributeType) => type === 'Lookup' || type === 'Customer' || type === 'Owner';

/** Validates the JSON and builds the runtime schema; throws a readable error on an inconsistent schema. */
export function compileSchema(json: unknown): Schema {
  const parsed = tableSchemaJson.parse(json);
  const tables = new Map<string, Table>();
  const bySet = new Map<string, Table>();
  for (const t of parsed.tables) {
    const declared = new Map(t.attributes.map((a) => [a.logicalName, a]));
    const merged = [
      ...systemAttributes(t)
        .map((a) => attributeSchema.parse(a))
        .filter((a) => !declared.has(a.logicalName)),
      ...t.attributes,
    ];
    const table: Table = {
      logicalName: t.logicalName,
      entitySetName: t.entitySetName,
      primaryIdAttribute: t.primaryIdAttribute,
      primaryNameAttribute: t.primaryNameAttribute,
      supportsBulkMessages: t.supportsBulkMessages,
      isElastic: t.isElastic,
      supportsMerge: t.supportsMerge,
      metadataId: stableGuid(`entity:${t.logicalName}`),
      attributes: new Map(),
      properties: new Map(),
      navigation: new Map(),
      collections: new Map(),
      keys: t.keys,
    };
    for (const a of merged) {
      const lookup = isLookupType(a.type);
      if (lookup && !a.targets?.length)
        throw new Error(`schema: lookup ${t.logicalName}.${a.logicalName} has no targets`);
      const attribute: Attribute = {
        ...a,
        metadataId: stableGuid(`attribute:${t.logicalName}.${a.logicalName}`),
        isPrimaryId: a.logicalName === t.primaryIdAttribute,
        isPrimaryName: a.logicalName === t.primaryNameAttribute,
        propertyName: lookup ? `_${a.logicalName}_value` : a.logicalName,
      };
      table.attributes.set(a.logicalName, attribute);
      table.properties.set(attribute.propertyName, attribute);
      for (const target of a.targets ?? [])
        table.navigation.set(target.navigationProperty, {
          name: target.navigationProperty,
          attribute,
          target: target.table,
        });
    }
    if (!table.attributes.has(t.primaryNameAttribute))
      throw new Error(`schema: ${t.logicalName} lacks its primary name attribute ${t.primaryNameAttribute}`);
    for (const key of t.keys)
      for (const k of key.attributes) {
        if (!table.attributes.has(k))
          throw new Error(`schema: key ${key.logicalName} of ${t.logicalName} names unknown attribute ${k}`);
      }
    if (tables.has(t.logicalName) || bySet.has(t.entitySetName))
      throw new Error(`schema: table ${t.logicalName} declared twice`);
    tables.set(t.logicalName, table);
    bySet.set(t.entitySetName, table);
  }
  // Collection-valued navigation properties live on the referenced table.
  for (const table of tables.values()) {
    for (const a of table.attributes.values())
      for (const target of a.targets ?? []) {
        const referenced = tables.get(target.table);
        if (referenced && target.relationshipName) {
          referenced.collections.set(target.relationshipName, {
            name: target.relationshipName,
            referencingTable: table.logicalName,
            referencingAttribute: a.logicalName,
          });
        }
      }
  }
  return { tables, bySet };
}
