/**
 * The table schema the emulator serves: a zod-validated JSON document, compiled into lookup-friendly
 * structures (attributes by name, navigation properties, key indexes) once at start-up.
 */
import { z } from 'zod';
import { intersectAttributes, intersectTable, systemAttributes } from './systemColumns';

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
  'MultiSelectPicklist',
  'Image',
  'File',
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
  /** File and image columns: MaxSizeInKB (Dataverse's default is 32768 for files, 10240 for images). */
  maxSizeInKB: z.number().int().positive().optional(),
});

/** An N:N relationship; its intersect table is served read-only (IsIntersect) and holds one row per association. */
const manyToManySchema = z.object({
  schemaName: z.string(),
  entity1: z.string(),
  entity2: z.string(),
  intersectEntityName: z.string().regex(/^[a-z_][a-z0-9_]*$/),
  /** Collection-valued navigation properties: on entity1 (to entity2 rows) and on entity2 (to entity1 rows). */
  entity1NavigationPropertyName: z.string(),
  entity2NavigationPropertyName: z.string(),
});
export type ManyToManyDefinition = z.output<typeof manyToManySchema>;

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
  /**
   * The states a create may set (activities: only Open). A create asking for another state is made in the default
   * state and its statuscode checked against that state, as Dataverse does. Default: every state.
   */
  statesValidOnCreate: z.array(z.number().int()).optional(),
});

export const tableSchemaJson = z.object({
  tables: z.array(tableSchema).min(1),
  manyToManyRelationships: z.array(manyToManySchema).default([]),
});
export type TableSchemaJson = z.input<typeof tableSchemaJson>;
export type AttributeDefinition = z.output<typeof attributeSchema>;
export type AttributeInput = z.input<typeof attributeSchema>;
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
  /** The tables a bind may name (several for `ownerid`, which binds `/systemusers(..)` or `/teams(..)`). */
  targets: string[];
}

/** An N:N relationship compiled: the intersect columns holding each side's id. */
export interface ManyToManyRelationship extends ManyToManyDefinition {
  entity1IntersectAttribute: string;
  entity2IntersectAttribute: string;
}

/** A collection-valued navigation property of an N:N relationship, seen from one side. */
export interface ManyToManyNavigation {
  relationship: ManyToManyRelationship;
  /** The table on the other side and the intersect columns holding this side's and the other side's ids. */
  otherTable: string;
  thisAttribute: string;
  otherAttribute: string;
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
  manyToMany: Map<string, ManyToManyNavigation>;
  keys: { logicalName: string; attributes: string[] }[];
  statesValidOnCreate: number[] | undefined;
  /** The intersect table of an N:N relationship: no entity set of its own to write to. */
  isIntersect: boolean;
}

export interface Schema {
  tables: Map<string, Table>;
  bySet: Map<string, Table>;
  manyToMany: Map<string, ManyToManyRelationship>;
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

const isLookupType = (type: AttributeType) => type === 'Lookup' || type === 'Customer' || type === 'Owner';

/** Validates the JSON and builds the runtime schema; throws a readable error on an inconsistent schema. */
export function compileSchema(json: unknown): Schema {
  const parsed = tableSchemaJson.parse(json);
  const tables = new Map<string, Table>();
  const bySet = new Map<string, Table>();
  const primaryIdOf = (name: string) => {
    const t = parsed.tables.find((x) => x.logicalName === name);
    if (!t) throw new Error(`schema: an N:N relationship names unknown table ${name}`);
    return t.primaryIdAttribute;
  };
  const relationships = parsed.manyToManyRelationships.map((r) => {
    const [a, b] = intersectAttributes(r, primaryIdOf);
    return { ...r, entity1IntersectAttribute: a, entity2IntersectAttribute: b };
  });
  const intersects = relationships.map((r) =>
    intersectTable(r, [r.entity1IntersectAttribute, r.entity2IntersectAttribute]),
  );
  for (const t of [...parsed.tables, ...intersects]) {
    const table = compileTable(t, intersects.includes(t));
    if (tables.has(t.logicalName) || bySet.has(t.entitySetName))
      throw new Error(`schema: table ${t.logicalName} declared twice`);
    tables.set(t.logicalName, table);
    if (!table.isIntersect) bySet.set(t.entitySetName, table);
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
  const manyToMany = new Map<string, ManyToManyRelationship>();
  for (const r of relationships) {
    if (manyToMany.has(r.schemaName)) throw new Error(`schema: relationship ${r.schemaName} declared twice`);
    manyToMany.set(r.schemaName, r);
    const one = tables.get(r.entity1)!,
      two = tables.get(r.entity2)!;
    one.manyToMany.set(r.entity1NavigationPropertyName, {
      relationship: r,
      otherTable: r.entity2,
      thisAttribute: r.entity1IntersectAttribute,
      otherAttribute: r.entity2IntersectAttribute,
    });
    two.manyToMany.set(r.entity2NavigationPropertyName, {
      relationship: r,
      otherTable: r.entity1,
      thisAttribute: r.entity2IntersectAttribute,
      otherAttribute: r.entity1IntersectAttribute,
    });
  }
  return { tables, bySet, manyToMany };
}

function compileTable(t: TableDefinitionJson, isIntersect: boolean): Table {
  const declared = new Map(t.attributes.map((a) => [a.logicalName, a]));
  const merged = [
    ...(isIntersect ? [] : systemAttributes(t))
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
    manyToMany: new Map(),
    keys: t.keys,
    statesValidOnCreate: t.statesValidOnCreate,
    isIntersect,
  };
  if (isIntersect)
    table.attributes.set(t.primaryIdAttribute, {
      ...attributeSchema.parse({ logicalName: t.primaryIdAttribute, type: 'Uniqueidentifier' }),
      metadataId: stableGuid(`attribute:${t.logicalName}.${t.primaryIdAttribute}`),
      isPrimaryId: true,
      isPrimaryName: false,
      propertyName: t.primaryIdAttribute,
    });
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
    for (const target of a.targets ?? []) {
      const nav = table.navigation.get(target.navigationProperty);
      if (nav) nav.targets.push(target.table);
      else
        table.navigation.set(target.navigationProperty, {
          name: target.navigationProperty,
          attribute,
          targets: [target.table],
        });
    }
  }
  if (!table.attributes.has(t.primaryNameAttribute))
    throw new Error(`schema: ${t.logicalName} lacks its primary name attribute ${t.primaryNameAttribute}`);
  for (const key of t.keys)
    for (const k of key.attributes) {
      if (!table.attributes.has(k))
        throw new Error(`schema: key ${key.logicalName} of ${t.logicalName} names unknown attribute ${k}`);
    }
  return table;
}
