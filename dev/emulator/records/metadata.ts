/**
 * EntityDefinitions in Dataverse's shapes (docs/design.md "Metadata calls"): one table with `$select`
 * and `$expand=Attributes,Keys,ManyToOneRelationships,OneToManyRelationships,ManyToManyRelationships` (nested `$select`), its
 * Attributes / Keys / relationships collections, the attribute casts (Picklist, State, Status, MultiSelectPicklist, File, Image...) with
 * OptionSet, and `EntityDefinitions?$filter=LogicalName eq 'x'`.
 */
import type { EmulatorRequest, EmulatorResponse } from '../types';
import type { RecordContext } from './context';
import { parseKey, parseSegment } from './entityReference';
import { faults } from './faults';
import { parseFilter } from '../odata/filter';
import { matches, parseExpand, pick, selectList } from './metadataQuery';
import { manyToManyJson, relationships } from './metadataRelationships';
import { stableGuid, type Attribute, type Table } from './schema';

type Json = Record<string, unknown>;

const metadataType: Record<string, [string, string]> = {
  String: ['StringAttributeMetadata', 'StringType'],
  Memo: ['MemoAttributeMetadata', 'MemoType'],
  Integer: ['IntegerAttributeMetadata', 'IntegerType'],
  BigInt: ['BigIntAttributeMetadata', 'BigIntType'],
  Decimal: ['DecimalAttributeMetadata', 'DecimalType'],
  Double: ['DoubleAttributeMetadata', 'DoubleType'],
  Money: ['MoneyAttributeMetadata', 'MoneyType'],
  Boolean: ['BooleanAttributeMetadata', 'BooleanType'],
  DateTime: ['DateTimeAttributeMetadata', 'DateTimeType'],
  Picklist: ['PicklistAttributeMetadata', 'PicklistType'],
  State: ['StateAttributeMetadata', 'StateType'],
  Status: ['StatusAttributeMetadata', 'StatusType'],
  Lookup: ['LookupAttributeMetadata', 'LookupType'],
  Customer: ['LookupAttributeMetadata', 'CustomerType'],
  Owner: ['LookupAttributeMetadata', 'OwnerType'],
  Uniqueidentifier: ['UniqueIdentifierAttributeMetadata', 'UniqueidentifierType'],
  MultiSelectPicklist: ['MultiSelectPicklistAttributeMetadata', 'MultiSelectPicklistType'],
  Image: ['ImageAttributeMetadata', 'ImageType'],
  File: ['FileAttributeMetadata', 'FileType'],
};
/** Multi-select, image and file columns are `Virtual` in AttributeType; their AttributeTypeName says which. */
const virtualTypes = new Set(['MultiSelectPicklist', 'Image', 'File']);
const castTypes: Record<string, string[]> = {
  PicklistAttributeMetadata: ['Picklist'],
  StateAttributeMetadata: ['State'],
  StatusAttributeMetadata: ['Status'],
  StringAttributeMetadata: ['String'],
  MemoAttributeMetadata: ['Memo'],
  LookupAttributeMetadata: ['Lookup', 'Customer', 'Owner'],
  IntegerAttributeMetadata: ['Integer'],
  BigIntAttributeMetadata: ['BigInt'],
  DecimalAttributeMetadata: ['Decimal'],
  DoubleAttributeMetadata: ['Double'],
  MoneyAttributeMetadata: ['Money'],
  BooleanAttributeMetadata: ['Boolean'],
  DateTimeAttributeMetadata: ['DateTime'],
  UniqueIdentifierAttributeMetadata: ['Uniqueidentifier'],
  MultiSelectPicklistAttributeMetadata: ['MultiSelectPicklist'],
  ImageAttributeMetadata: ['Image'],
  FileAttributeMetadata: ['File'],
};

const label = (text: string) => ({
  LocalizedLabels: [{ Label: text, LanguageCode: 1033 }],
  UserLocalizedLabel: { Label: text, LanguageCode: 1033 },
});
const schemaName = (logicalName: string) => logicalName;

function optionSet(table: Table, a: Attribute): Json {
  return {
    MetadataId: stableGuid(`optionset:${table.logicalName}.${a.logicalName}`),
    Name: `${table.logicalName}_${a.logicalName}`,
    IsGlobal: false,
    OptionSetType: a.type === 'State' ? 'State' : a.type === 'Status' ? 'Status' : 'Picklist',
    Options: (a.options ?? []).map((o) => ({
      Value: o.value,
      Label: label(o.label),
      // StatusOptionMetadata.State; StateOptionMetadata.DefaultStatus / InvariantName ("Work with state and status").
      ...(a.type === 'Status' ? { State: o.state ?? 0 } : {}),
      ...(a.type === 'State'
        ? {
            DefaultStatus: table.attributes.get('statuscode')?.options?.find((s) => s.state === o.value)?.value ?? null,
            InvariantName: o.label.replace(/\s+/g, ''),
          }
        : {}),
    })),
  };
}

function attributeJson(table: Table, a: Attribute): Json {
  const [odataType, typeName] = metadataType[a.type]!;
  const out: Json = {
    '@odata.type': `#Microsoft.Dynamics.CRM.${odataType}`,
    MetadataId: a.metadataId,
    LogicalName: a.logicalName,
    SchemaName: schemaName(a.logicalName),
    EntityLogicalName: table.logicalName,
    AttributeType: virtualTypes.has(a.type) ? 'Virtual' : a.type,
    AttributeTypeName: { Value: typeName },
    RequiredLevel: {
      Value: a.requiredLevel,
      CanBeChanged: true,
      ManagedPropertyLogicalName: 'canmodifyrequirementlevelsettings',
    },
    IsValidForCreate: a.isValidForCreate,
    IsValidForUpdate: a.isValidForUpdate,
    IsValidForRead: true,
    IsPrimaryId: a.isPrimaryId,
    IsPrimaryName: a.isPrimaryName,
    IsCustomAttribute: a.logicalName.includes('_') && !a.logicalName.startsWith('address'),
    DisplayName: label(a.logicalName),
  };
  if (a.maxLength !== undefined) out.MaxLength = a.maxLength;
  if (a.type === 'String') {
    out.Format = a.format ?? 'Text';
    out.FormatName = { Value: a.format ?? 'Text' };
  }
  if (a.type === 'Memo') out.Format = a.format ?? 'TextArea';
  if (a.minValue !== undefined) out.MinValue = a.minValue;
  if (a.maxValue !== undefined) out.MaxValue = a.maxValue;
  if (a.precision !== undefined) out.Precision = a.precision;
  if (a.type === 'Integer') out.Format = a.format ?? 'None';
  if (a.type === 'DateTime') {
    out.Format = a.format ?? 'DateAndTime';
    out.DateTimeBehavior = { Value: a.format === 'DateOnly' ? 'DateOnly' : 'UserLocal' };
  }
  if (a.targets) out.Targets = a.targets.map((t) => t.table);
  if (a.maxSizeInKB !== undefined) out.MaxSizeInKB = a.maxSizeInKB;
  if (a.type === 'Image') out.CanStoreFullImage = true;
  if (a.defaultValue !== undefined && (a.type === 'Picklist' || a.type === 'Boolean'))
    out.DefaultFormValue = a.defaultValue;
  return out;
}

function keyJson(table: Table, key: Table['keys'][number]): Json {
  return {
    MetadataId: stableGuid(`key:${table.logicalName}.${key.logicalName}`),
    LogicalName: key.logicalName,
    SchemaName: key.logicalName,
    EntityLogicalName: table.logicalName,
    KeyAttributes: key.attributes,
    EntityKeyIndexStatus: 'Active',
    DisplayName: label(key.logicalName),
  };
}

function entityJson(table: Table): Json {
  return {
    MetadataId: table.metadataId,
    LogicalName: table.logicalName,
    SchemaName: schemaName(table.logicalName),
    EntitySetName: table.entitySetName,
    LogicalCollectionName: table.entitySetName,
    CollectionSchemaName: table.entitySetName,
    PrimaryIdAttribute: table.primaryIdAttribute,
    PrimaryNameAttribute: table.primaryNameAttribute,
    TableType: table.isElastic ? 'Elastic' : 'Standard',
    IsCustomEntity: table.logicalName.includes('_'),
    IsActivity: table.primaryIdAttribute === 'activityid',
    IsIntersect: table.isIntersect,
    DisplayName: label(table.logicalName),
    DisplayCollectionName: label(table.entitySetName),
  };
}

function findTable(ctx: RecordContext, keyText: string): Table {
  const spec = parseKey(keyText);
  const name = spec.kind === 'id' ? undefined : spec.values.get('LogicalName');
  const table =
    spec.kind === 'id'
      ? [...ctx.schema.tables.values()].find((t) => t.metadataId === spec.id)
      : typeof name === 'string'
        ? ctx.schema.tables.get(name.toLowerCase())
        : undefined;
  if (!table) throw faults.entityNotFound(spec.kind === 'id' ? spec.id : String(name));
  return table;
}

export function metadataRequest(ctx: RecordContext, segments: string[], req: EmulatorRequest): EmulatorResponse {
  if (req.method !== 'GET') throw faults.methodNotAllowed(req.method);
  const base = `${ctx.webApiBase}$metadata#EntityDefinitions`;
  const select = selectList(req.query.get('$select'));
  const { key } = parseSegment(segments[0]!);
  if (key === undefined) {
    if (segments.length > 1) throw faults.resourceNotFound(segments[1]!);
    const filterText = req.query.get('$filter');
    const filter = filterText ? parseFilter(filterText) : undefined;
    const value = [...ctx.schema.tables.values()]
      .map(entityJson)
      .filter((e) => !filter || matches(filter, e))
      .map((e) => pick(e, select));
    return { status: 200, body: { '@odata.context': `${base}${select ? `(${select.join(',')})` : ''}`, value } };
  }
  const table = findTable(ctx, key);
  const [sub, cast, ...extra] = segments.slice(1);
  if (sub === undefined) {
    const out: Json = {
      '@odata.context': `${base}${select ? `(${select.join(',')})` : ''}/$entity`,
      ...pick(entityJson(table), select),
    };
    for (const x of parseExpand(req.query.get('$expand'))) {
      out[x.name] = collection(ctx, table, x.name).map((item) => pick(item, x.select));
    }
    return { status: 200, body: out };
  }
  if (extra.length) throw faults.resourceNotFound(extra[0]!);
  const items = collection(ctx, table, parseSegment(sub).name);
  const itemKey = parseSegment(sub).key;
  let list = items;
  let castName: string | undefined;
  if (cast !== undefined) {
    castName = cast.replace(/^Microsoft\.Dynamics\.CRM\./, '');
    const types = castTypes[castName];
    if (parseSegment(sub).name !== 'Attributes' || !types) throw faults.resourceNotFound(cast);
    list = list.filter((a) => types.includes(table.attributes.get(a.LogicalName as string)!.type));
  }
  const expand = parseExpand(req.query.get('$expand'));
  const shaped = list.map((item) => {
    const out = pick(item, select);
    if (castName) delete out['@odata.type']; // the cast in the URL already says the type (file-maxsize fixture)
    for (const x of expand) {
      if (x.name !== 'OptionSet' && x.name !== 'GlobalOptionSet')
        throw faults.badQuery(
          `Could not find a property named '${x.name}' on type 'Microsoft.Dynamics.CRM.AttributeMetadata'.`,
        );
      const a = table.attributes.get(item.LogicalName as string)!;
      out[x.name] = a.options ? pick(optionSet(table, a), x.select) : null;
    }
    return out;
  });
  // The context names the table as the request did: `EntityDefinitions('account')` for a LogicalName key (file-maxsize fixture).
  const named = parseKey(key).kind === 'key' ? table.logicalName : table.metadataId;
  const context = `${ctx.webApiBase}$metadata#EntityDefinitions('${named}')/${parseSegment(sub).name}${castName ? `/Microsoft.Dynamics.CRM.${castName}` : ''}${select ? `(${select.join(',')})` : ''}`;
  if (itemKey !== undefined) {
    const spec = parseKey(itemKey);
    const wanted = spec.kind === 'id' ? spec.id : spec.values.get('LogicalName');
    // Matched on the full item: a $select may leave LogicalName out of the answer.
    const one = shaped[list.findIndex((i) => i.MetadataId === wanted || i.LogicalName === wanted)];
    if (!one) throw faults.resourceNotFound(sub);
    // One metadata item is not streamed (file-maxsize fixture: `application/json; odata.metadata=minimal`).
    return {
      status: 200,
      headers: { 'Content-Type': 'application/json; odata.metadata=minimal' },
      body: { '@odata.context': `${context}/$entity`, ...one },
    };
  }
  return { status: 200, body: { '@odata.context': context, value: shaped } };
}

function collection(ctx: RecordContext, table: Table, name: string): Json[] {
  switch (name) {
    case 'Attributes':
      return [...table.attributes.values()].map((a) => attributeJson(table, a));
    case 'Keys':
      return table.keys.map((k) => keyJson(table, k));
    case 'ManyToOneRelationships':
      return relationships(ctx, table, 'ManyToOne');
    case 'OneToManyRelationships':
      return relationships(ctx, table, 'OneToMany');
    case 'ManyToManyRelationships':
      return [...ctx.schema.manyToMany.values()]
        .filter((r) => r.entity1 === table.logicalName || r.entity2 === table.logicalName)
        .map(manyToManyJson);
    default:
      throw faults.badQuery(
        `Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.EntityMetadata'.`,
      );
  }
}
