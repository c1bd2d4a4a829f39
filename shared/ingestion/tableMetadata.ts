import { z } from 'zod';
import type { KindRelationship } from './columnKinds/manyToMany';

/**
 * The table metadata value conversion and load planning work against, built from the EntityDefinitions
 * responses listed in docs/design.md §"Metadata calls". Parsed with zod here so this part does not depend on
 * the client's own metadata types; unknown fields in the responses are ignored.
 */

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
  // AttributeType 'Virtual' with AttributeTypeName MultiSelectPicklistType / FileType / ImageType (issue 16).
  'MultiSelectPicklist',
  'File',
  'Image',
] as const;
const virtualTypeNames: Record<string, LoadableAttributeType> = {
  MultiSelectPicklistType: 'MultiSelectPicklist',
  FileType: 'File',
  ImageType: 'Image',
};
export type LoadableAttributeType = (typeof attributeTypes)[number];

const label = z.object({ Label: z.string(), LanguageCode: z.number().optional() }).passthrough();
const labelSet = z
  .object({ UserLocalizedLabel: label.nullish(), LocalizedLabels: z.array(label).optional() })
  .passthrough()
  .nullish();
const optionSchema = z.object({ Value: z.number(), Label: labelSet, State: z.number().nullish() }).passthrough();

/**
 * EntityKeyMetadata (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/entitykeymetadata):
 * a key whose index is not built (EntityKeyIndexStatus Pending, InProgress, Failed) can't be used yet.
 */
export const entityKeySchema = z
  .object({ LogicalName: z.string(), KeyAttributes: z.array(z.string()), EntityKeyIndexStatus: z.string().nullish() })
  .passthrough();

export interface AlternateKey {
  logicalName: string;
  attributes: string[];
}

/** The usable keys of a `Keys` collection (status Active, or not reported). */
export function usableKeys(keys: readonly z.infer<typeof entityKeySchema>[] | null | undefined): AlternateKey[] {
  return (keys ?? [])
    .filter((k) => !k.EntityKeyIndexStatus || k.EntityKeyIndexStatus === 'Active')
    .map((k) => ({ logicalName: k.LogicalName, attributes: k.KeyAttributes }));
}

export const entityDefinitionSchema = z
  .object({
    LogicalName: z.string(),
    EntitySetName: z.string(),
    PrimaryIdAttribute: z.string(),
    PrimaryNameAttribute: z.string().nullish(),
    Attributes: z.array(
      z
        .object({
          LogicalName: z.string(),
          AttributeType: z.string(),
          AttributeTypeName: z.object({ Value: z.string() }).passthrough().nullish(),
          MaxSizeInKB: z.number().nullish(),
          MaxLength: z.number().nullish(),
          MinValue: z.number().nullish(),
          MaxValue: z.number().nullish(),
          Precision: z.number().nullish(),
          Format: z.string().nullish(),
          DateTimeBehavior: z.object({ Value: z.string() }).passthrough().nullish(),
          RequiredLevel: z.object({ Value: z.string() }).passthrough().nullish(),
          IsValidForCreate: z.boolean().nullish(),
          IsValidForUpdate: z.boolean().nullish(),
          IsPrimaryId: z.boolean().nullish(),
          IsPrimaryName: z.boolean().nullish(),
          Targets: z.array(z.string()).nullish(),
          AttributeOf: z.string().nullish(),
        })
        .passthrough(),
    ),
    Keys: z.array(entityKeySchema).nullish(),
  })
  .passthrough();

export const picklistAttributesSchema = z.object({
  value: z.array(
    z
      .object({
        LogicalName: z.string(),
        OptionSet: z
          .object({ Options: z.array(optionSchema) })
          .passthrough()
          .nullish(),
      })
      .passthrough(),
  ),
});

/** `.../Attributes/Microsoft.Dynamics.CRM.BooleanAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=TrueOption,FalseOption)` (optional). */
export const booleanAttributesSchema = z.object({
  value: z.array(
    z
      .object({
        LogicalName: z.string(),
        OptionSet: z
          .object({ TrueOption: optionSchema.nullish(), FalseOption: optionSchema.nullish() })
          .passthrough()
          .nullish(),
      })
      .passthrough(),
  ),
});

export const manyToOneRelationshipsSchema = z.object({
  value: z.array(
    z
      .object({
        ReferencingAttribute: z.string(),
        ReferencingEntityNavigationPropertyName: z.string(),
        ReferencedEntity: z.string(),
      })
      .passthrough(),
  ),
});

export interface ChoiceOption {
  value: number;
  /** Status options: the state they belong to (StatusOptionMetadata.State). */
  state?: number;
  /** Labels by language code; `labels[0]` is the user-localized one. */
  labels: { label: string; languageCode?: number }[];
}

export interface LookupTarget {
  table: string;
  navigationProperty?: string;
  entitySetName?: string;
  /** The target table's alternate keys, when they were read (a lookup by key without a profile, issue 15). */
  keys?: AlternateKey[];
  /** The target table's primary id attribute, when it was read (a key value resolved to an id by `$filter`). */
  primaryIdAttribute?: string;
}

/** An AttributeType this loader does not convert (e.g. 'Virtual', 'EntityName'): kept so errors can name it. */
export type UnloadableAttributeType = string & { readonly unloadable?: never };

export interface AttributeMetadata {
  logicalName: string;
  /** One of the loadable types, or the raw AttributeType (e.g. 'Virtual') for attributes that can't be loaded. */
  type: LoadableAttributeType | UnloadableAttributeType;
  maxLength?: number;
  minValue?: number;
  maxValue?: number;
  precision?: number;
  /** DateTime: 'DateOnly' | 'DateAndTime'. */
  format?: string;
  /** 'None' | 'SystemRequired' | 'ApplicationRequired' | 'Recommended' (Dataverse may add levels). */
  requiredLevel: string;
  isValidForCreate: boolean;
  isValidForUpdate: boolean;
  isPrimaryId: boolean;
  isPrimaryName: boolean;
  /** Set for attributes that are part of another (e.g. `..name` of a lookup): never loaded directly. */
  attributeOf?: string;
  lookupTargets?: LookupTarget[];
  options?: ChoiceOption[];
  trueOption?: ChoiceOption;
  falseOption?: ChoiceOption;
  /** File and image columns. */
  maxSizeInKB?: number;
}

export interface TableMetadata {
  logicalName: string;
  entitySetName: string;
  primaryIdAttribute: string;
  primaryNameAttribute?: string;
  /** By logical name. */
  attributes: Record<string, AttributeMetadata>;
  keys: AlternateKey[];
  /** The table's N:N relationships, when they were read (pair files, issue 16). */
  manyToMany?: KindRelationship[];
}

export interface TableMetadataResponses {
  entityDefinition: unknown;
  picklistAttributes?: unknown;
  /** State and Status options come the same way (StateAttributeMetadata / StatusAttributeMetadata casts). */
  stateAttributes?: unknown;
  statusAttributes?: unknown;
  booleanAttributes?: unknown;
  manyToOneRelationships?: unknown;
  /** EntitySetName of related tables (logical name → entity set), for `@odata.bind` of lookups. */
  relatedEntitySets?: Record<string, string>;
  multiSelectAttributes?: unknown;
  /** `EntityDefinitions(...)/ManyToManyRelationships` (ManyToManyRelationshipMetadata). */
  manyToManyRelationships?: unknown;
  /** PrimaryIdAttribute of related tables (logical name → attribute), for N:N pair files. */
  relatedPrimaryIds?: Record<string, string>;
  /** Usable alternate keys of related tables (logical name → keys), for lookups bound by key without a profile. */
  relatedKeys?: Record<string, AlternateKey[]>;
}

export const manyToManyRelationshipsSchema = z.object({
  value: z.array(
    z
      .object({
        SchemaName: z.string(),
        Entity1LogicalName: z.string(),
        Entity2LogicalName: z.string(),
        Entity1NavigationPropertyName: z.string(),
        Entity2NavigationPropertyName: z.string(),
      })
      .passthrough(),
  ),
});

function manyToManyOf(responses: TableMetadataResponses): KindRelationship[] | undefined {
  if (responses.manyToManyRelationships === undefined) return undefined;
  const out: KindRelationship[] = [];
  for (const r of manyToManyRelationshipsSchema.parse(responses.manyToManyRelationships).value) {
    const side = (table: string, navigationProperty: string) => {
      const entitySetName = responses.relatedEntitySets?.[table];
      const primaryIdAttribute = responses.relatedPrimaryIds?.[table];
      return entitySetName && primaryIdAttribute
        ? { table, entitySetName, primaryIdAttribute, navigationProperty }
        : undefined;
    };
    const entity1 = side(r.Entity1LogicalName, r.Entity1NavigationPropertyName);
    const entity2 = side(r.Entity2LogicalName, r.Entity2NavigationPropertyName);
    if (entity1 && entity2) out.push({ schemaName: r.SchemaName, entity1, entity2 });
  }
  return out;
}

function toOption(option: z.infer<typeof optionSchema>): ChoiceOption {
  const labels: ChoiceOption['labels'] = [];
  const user = option.Label?.UserLocalizedLabel;
  if (user) labels.push({ label: user.Label, languageCode: user.LanguageCode });
  for (const localized of option.Label?.LocalizedLabels ?? []) {
    if (!labels.some((l) => l.label === localized.Label && l.languageCode === localized.LanguageCode)) {
      labels.push({ label: localized.Label, languageCode: localized.LanguageCode });
    }
  }
  return { value: option.Value, labels, ...(typeof option.State === 'number' ? { state: option.State } : {}) };
}

/** Builds TableMetadata from the raw responses; throws a ZodError naming the field when a response isn't the expected shape. */
export function buildTableMetadata(responses: TableMetadataResponses): TableMetadata {
  const entity = entityDefinitionSchema.parse(responses.entityDefinition);
  const ownKeys = usableKeys(entity.Keys);
  // A self-referencing lookup (parentaccountid) knows its target's keys from the table's own definition.
  const keysOf = (table: string): Pick<LookupTarget, 'keys' | 'primaryIdAttribute'> => {
    const keys = responses.relatedKeys?.[table] ?? (table === entity.LogicalName ? ownKeys : undefined);
    const primaryIdAttribute =
      responses.relatedPrimaryIds?.[table] ?? (table === entity.LogicalName ? entity.PrimaryIdAttribute : undefined);
    return { ...(keys ? { keys } : {}), ...(primaryIdAttribute ? { primaryIdAttribute } : {}) };
  };
  const attributes: Record<string, AttributeMetadata> = {};
  for (const a of entity.Attributes) {
    attributes[a.LogicalName] = {
      logicalName: a.LogicalName,
      type: (a.AttributeType === 'Virtual' && virtualTypeNames[a.AttributeTypeName?.Value ?? '']) || a.AttributeType,
      maxSizeInKB: a.MaxSizeInKB ?? undefined,
      maxLength: a.MaxLength ?? undefined,
      minValue: a.MinValue ?? undefined,
      maxValue: a.MaxValue ?? undefined,
      precision: a.Precision ?? undefined,
      format: a.Format ?? a.DateTimeBehavior?.Value ?? undefined,
      requiredLevel: a.RequiredLevel?.Value ?? 'None',
      isValidForCreate: a.IsValidForCreate ?? true,
      isValidForUpdate: a.IsValidForUpdate ?? true,
      isPrimaryId: a.IsPrimaryId ?? a.LogicalName === entity.PrimaryIdAttribute,
      isPrimaryName: a.IsPrimaryName ?? a.LogicalName === entity.PrimaryNameAttribute,
      attributeOf: a.AttributeOf ?? undefined,
      lookupTargets: a.Targets
        ? a.Targets.map((table) => ({ table, entitySetName: responses.relatedEntitySets?.[table], ...keysOf(table) }))
        : undefined,
    };
  }
  for (const response of [
    responses.picklistAttributes,
    responses.stateAttributes,
    responses.statusAttributes,
    responses.multiSelectAttributes,
  ]) {
    if (response === undefined) continue;
    for (const p of picklistAttributesSchema.parse(response).value) {
      const attribute = attributes[p.LogicalName];
      if (attribute && p.OptionSet) attribute.options = p.OptionSet.Options.map(toOption);
    }
  }
  if (responses.booleanAttributes !== undefined) {
    for (const b of booleanAttributesSchema.parse(responses.booleanAttributes).value) {
      const attribute = attributes[b.LogicalName];
      if (!attribute || !b.OptionSet) continue;
      if (b.OptionSet.TrueOption) attribute.trueOption = toOption(b.OptionSet.TrueOption);
      if (b.OptionSet.FalseOption) attribute.falseOption = toOption(b.OptionSet.FalseOption);
    }
  }
  if (responses.manyToOneRelationships !== undefined) {
    for (const r of manyToOneRelationshipsSchema.parse(responses.manyToOneRelationships).value) {
      const attribute = attributes[r.ReferencingAttribute];
      if (!attribute) continue;
      attribute.lookupTargets ??= [];
      const target = attribute.lookupTargets.find((t) => t.table === r.ReferencedEntity);
      if (target) target.navigationProperty = r.ReferencingEntityNavigationPropertyName;
      else
        attribute.lookupTargets.push({
          table: r.ReferencedEntity,
          navigationProperty: r.ReferencingEntityNavigationPropertyName,
          entitySetName: responses.relatedEntitySets?.[r.ReferencedEntity],
          ...keysOf(r.ReferencedEntity),
        });
    }
  }
  return {
    logicalName: entity.LogicalName,
    entitySetName: entity.EntitySetName,
    primaryIdAttribute: entity.PrimaryIdAttribute,
    primaryNameAttribute: entity.PrimaryNameAttribute ?? undefined,
    attributes,
    // Every key, built or not: a file covering a key still being built must not turn from an upsert into creates.
    keys: (entity.Keys ?? []).map((k) => ({ logicalName: k.LogicalName, attributes: k.KeyAttributes })),
    ...(responses.manyToManyRelationships !== undefined ? { manyToMany: manyToManyOf(responses) } : {}),
  };
}

export function isLookupType(type: string): boolean {
  return type === 'Lookup' || type === 'Customer' || type === 'Owner';
}

export function isLoadableType(type: string): type is LoadableAttributeType {
  return (attributeTypes as readonly string[]).includes(type);
}
