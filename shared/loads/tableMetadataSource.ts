/**
 * Reads a table's metadata in the shape load planning uses (shared/ingestion `TableMetadata`), with the
 * metadata calls of docs/design.md §"Metadata calls", cached per table for a few minutes (every chunk of a load
 * plans with it). An unknown table is a `TableNotFound` error with a message a user understands.
 */
import type { DataverseClient, WebApiRequest } from '../dataverse/index';
import { DataverseError } from '../dataverse/index';
import { z } from 'zod';
import {
  buildTableMetadata,
  entityKeySchema,
  usableKeys,
  type AlternateKey,
  type TableMetadata,
} from '../ingestion/tableMetadata';
import { NotFoundError } from '../errors';

export class TableNotFoundError extends NotFoundError {
  override readonly name = 'TableNotFoundError';
  /** Dataverse's request id of the metadata call that answered 404, when there was one. */
  readonly requestId: string | undefined;
  constructor(message: string, options: { requestId?: string } = {}) {
    super('TableNotFound', message);
    this.requestId = options.requestId;
  }
}

export interface TableMetadataSource {
  get(table: string): Promise<TableMetadata>;
}

const quote = (name: string) => `'${name.replace(/'/g, "''")}'`;

/** What a related table's definition tells: its entity set, primary id and alternate keys (all optional). */
const relatedTableSchema = z
  .object({
    EntitySetName: z.string().nullish(),
    PrimaryIdAttribute: z.string().nullish(),
    Keys: z.array(entityKeySchema).nullish(),
  })
  .passthrough();

export function createTableMetadataSource(
  client: Pick<DataverseClient, 'send'>,
  options: { ttlMs?: number; now?: () => number } = {},
): TableMetadataSource {
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { at: number; value: Promise<TableMetadata> }>();

  const get = async (path: string) => (await client.send({ method: 'GET', path } satisfies WebApiRequest)).body;
  const optional = async (path: string) => {
    try {
      return await get(path);
    } catch (error) {
      if (error instanceof DataverseError && error.status !== undefined && error.status < 500 && error.status !== 429)
        return undefined;
      throw error;
    }
  };

  async function read(table: string): Promise<TableMetadata> {
    if (!/^[a-z_][a-z0-9_]*$/i.test(table))
      throw new TableNotFoundError(`'${table}' is not a table logical name (letters, digits and underscores)`);
    const base = `EntityDefinitions(LogicalName=${quote(table.toLowerCase())})`;
    let entityDefinition: unknown;
    try {
      entityDefinition = await get(
        `${base}?$select=LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute&$expand=Attributes,Keys`,
      );
    } catch (error) {
      if (error instanceof DataverseError && error.status === 404) {
        throw new TableNotFoundError(
          `table '${table}' does not exist in this Dataverse environment (the folder name under the container must be a table's logical name, e.g. 'account')`,
          error.requestId ? { requestId: error.requestId } : {},
        );
      }
      throw error;
    }
    const cast = (type: string) =>
      `${base}/Attributes/Microsoft.Dynamics.CRM.${type}?$select=LogicalName&$expand=OptionSet($select=Options)`;
    const [
      picklistAttributes,
      stateAttributes,
      statusAttributes,
      multiSelectAttributes,
      manyToOneRelationships,
      manyToManyRelationships,
    ] = await Promise.all([
      optional(cast('PicklistAttributeMetadata')),
      optional(cast('StateAttributeMetadata')),
      optional(cast('StatusAttributeMetadata')),
      optional(cast('MultiSelectPicklistAttributeMetadata')),
      optional(
        `${base}/ManyToOneRelationships?$select=ReferencingAttribute,ReferencingEntityNavigationPropertyName,ReferencedEntity`,
      ),
      // N:N pair files (issue 16) name a relationship of the folder's table.
      optional(
        `${base}/ManyToManyRelationships?$select=SchemaName,Entity1LogicalName,Entity2LogicalName,Entity1NavigationPropertyName,Entity2NavigationPropertyName`,
      ),
    ]);
    const related = new Set<string>();
    const targets = (entityDefinition as { Attributes?: { Targets?: string[] | null }[] }).Attributes ?? [];
    for (const attribute of targets) for (const t of attribute.Targets ?? []) related.add(t);
    for (const r of (manyToOneRelationships as { value?: { ReferencedEntity?: string }[] } | undefined)?.value ?? [])
      if (r.ReferencedEntity) related.add(r.ReferencedEntity);
    type NN = { value?: { Entity1LogicalName?: string; Entity2LogicalName?: string }[] } | undefined;
    for (const r of (manyToManyRelationships as NN)?.value ?? [])
      for (const name of [r.Entity1LogicalName, r.Entity2LogicalName]) if (name) related.add(name);
    const relatedEntitySets: Record<string, string> = {};
    const relatedPrimaryIds: Record<string, string> = {};
    const relatedKeys: Record<string, AlternateKey[]> = {};
    await Promise.all(
      [...related].map(async (name) => {
        // Keys: a lookup column holding values of the target's alternate key binds by it without a profile.
        const answer = await optional(
          `EntityDefinitions(LogicalName=${quote(name)})?$select=EntitySetName,PrimaryIdAttribute&$expand=Keys($select=LogicalName,KeyAttributes,EntityKeyIndexStatus)`,
        );
        const body = answer === undefined ? undefined : relatedTableSchema.parse(answer);
        if (body?.EntitySetName) relatedEntitySets[name] = body.EntitySetName;
        if (body?.PrimaryIdAttribute) relatedPrimaryIds[name] = body.PrimaryIdAttribute;
        if (body?.Keys) relatedKeys[name] = usableKeys(body.Keys);
      }),
    );
    return buildTableMetadata({
      entityDefinition,
      picklistAttributes,
      stateAttributes,
      statusAttributes,
      manyToOneRelationships,
      relatedEntitySets,
      multiSelectAttributes,
      manyToManyRelationships,
      relatedPrimaryIds,
      relatedKeys,
    });
  }

  return {
    get(table) {
      const key = table.toLowerCase();
      const hit = cache.get(key);
      if (hit && now() - hit.at < ttlMs) return hit.value;
      const value = read(table);
      cache.set(key, { at: now(), value });
      value.catch(() => cache.delete(key));
      return value;
    },
  };
}
