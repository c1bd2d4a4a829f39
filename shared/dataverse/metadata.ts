/**
 * The table metadata the loader relies on (docs/design.md §"Metadata calls"), validated with zod:
 * columns and keys, picklist options, and lookup navigation properties.
 */
import { z } from 'zod';
import { DataverseError } from './dataverseError';
import type { WebApiRequest } from './organizationRequest';
import type { WebApiResponse } from './webApi';

const requiredLevel = z.looseObject({ Value: z.string() });

export const attributeMetadataSchema = z.looseObject({
  '@odata.type': z.string().optional(),
  LogicalName: z.string(),
  AttributeType: z.string(),
  AttributeTypeName: z.looseObject({ Value: z.string() }).nullish(),
  MaxLength: z.number().nullish(),
  MinValue: z.number().nullish(),
  MaxValue: z.number().nullish(),
  Precision: z.number().nullish(),
  Format: z.string().nullish(),
  RequiredLevel: requiredLevel.nullish(),
  IsValidForCreate: z.boolean().nullish(),
  IsValidForUpdate: z.boolean().nullish(),
  IsPrimaryId: z.boolean().nullish(),
  IsPrimaryName: z.boolean().nullish(),
  Targets: z.array(z.string()).nullish(),
});

export const entityMetadataSchema = z.looseObject({
  LogicalName: z.string(),
  EntitySetName: z.string(),
  PrimaryIdAttribute: z.string(),
  PrimaryNameAttribute: z.string().nullish(),
  MetadataId: z.string().optional(),
  Attributes: z.array(attributeMetadataSchema),
  Keys: z.array(z.looseObject({ LogicalName: z.string(), KeyAttributes: z.array(z.string()) })),
});

export const picklistMetadataSchema = z.looseObject({
  value: z.array(
    z.looseObject({
      LogicalName: z.string(),
      OptionSet: z
        .looseObject({
          Options: z.array(
            z.looseObject({
              Value: z.number(),
              Label: z
                .looseObject({
                  UserLocalizedLabel: z
                    .looseObject({ Label: z.string(), LanguageCode: z.number().optional() })
                    .nullish(),
                })
                .nullish(),
            }),
          ),
        })
        .nullish(),
    }),
  ),
});

export const manyToOneSchema = z.looseObject({
  value: z.array(
    z.looseObject({
      ReferencingAttribute: z.string(),
      ReferencingEntityNavigationPropertyName: z.string(),
      ReferencedEntity: z.string(),
    }),
  ),
});

export type AttributeMetadata = z.infer<typeof attributeMetadataSchema>;
export type EntityMetadata = z.infer<typeof entityMetadataSchema>;

export interface TableMetadata {
  logicalName: string;
  entitySetName: string;
  primaryIdAttribute: string;
  primaryNameAttribute: string | undefined;
  attributes: AttributeMetadata[];
  /** Alternate keys: name → key columns. */
  keys: { logicalName: string; keyAttributes: string[] }[];
  /** Picklist column → (label → value), labels as the user's localized label. */
  optionSets: Record<string, { value: number; label: string | undefined }[]>;
  /** Lookup column → navigation property and target table, for `<nav>@odata.bind`. */
  lookups: Record<string, { navigationProperty: string; referencedEntity: string }[]>;
}

/** What the reader needs from the client: `send`. */
export interface MetadataSender {
  send(request: WebApiRequest, options?: { abortSignal?: AbortSignal }): Promise<WebApiResponse>;
}

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new DataverseError({
      code: 'UnexpectedMetadata',
      message: `Unexpected ${what} metadata: ${z.prettifyError(result.error)}`,
    });
  }
  return result.data;
}

export async function retrieveTableMetadata(
  client: MetadataSender,
  logicalName: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<TableMetadata> {
  const table = `EntityDefinitions(LogicalName='${logicalName.replace(/'/g, "''")}')`;
  const [entity, picklists, relationships] = await Promise.all([
    client.send(
      {
        method: 'GET',
        path: `${table}?$select=LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute&$expand=Attributes,Keys`,
      },
      options,
    ),
    client.send(
      {
        method: 'GET',
        path: `${table}/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)`,
      },
      options,
    ),
    client.send(
      {
        method: 'GET',
        path: `${table}/ManyToOneRelationships?$select=ReferencingAttribute,ReferencingEntityNavigationPropertyName,ReferencedEntity`,
      },
      options,
    ),
  ]);
  const definition = parse(entityMetadataSchema, entity.body, `${logicalName} table`);
  const options_ = parse(picklistMetadataSchema, picklists.body, `${logicalName} picklist`);
  const lookups = parse(manyToOneSchema, relationships.body, `${logicalName} relationship`);
  const optionSets: TableMetadata['optionSets'] = {};
  for (const picklist of options_.value) {
    optionSets[picklist.LogicalName] = (picklist.OptionSet?.Options ?? []).map((option) => ({
      value: option.Value,
      label: option.Label?.UserLocalizedLabel?.Label,
    }));
  }
  const lookupMap: TableMetadata['lookups'] = {};
  for (const relationship of lookups.value) {
    (lookupMap[relationship.ReferencingAttribute] ??= []).push({
      navigationProperty: relationship.ReferencingEntityNavigationPropertyName,
      referencedEntity: relationship.ReferencedEntity,
    });
  }
  return {
    logicalName: definition.LogicalName,
    entitySetName: definition.EntitySetName,
    primaryIdAttribute: definition.PrimaryIdAttribute,
    primaryNameAttribute: definition.PrimaryNameAttribute ?? undefined,
    attributes: definition.Attributes,
    keys: definition.Keys.map((key) => ({ logicalName: key.LogicalName, keyAttributes: key.KeyAttributes })),
    optionSets,
    lookups: lookupMap,
  };
}
