/**
 * Relationship metadata: the one-to-many relationships derived from lookups (ManyToOne / OneToMany collections of
 * EntityDefinitions), the N:N relationships (ManyToManyRelationshipMetadata: SchemaName, Entity1/2 logical names,
 * intersect entity and attributes, Entity1/2NavigationPropertyName), and `RelationshipDefinitions(SchemaName='x')`.
 */
import type { EmulatorRequest, EmulatorResponse } from '../types';
import type { RecordContext } from './context';
import { parseKey, parseSegment } from './entityReference';
import { faults } from './faults';
import { stableGuid, type ManyToManyRelationship, type Table } from './schema';

type Json = Record<string, unknown>;

export function manyToManyJson(r: ManyToManyRelationship): Json {
  return {
    MetadataId: stableGuid(`relationship:${r.schemaName}`),
    SchemaName: r.schemaName,
    RelationshipType: 'ManyToManyRelationship',
    IsCustomRelationship: r.schemaName.startsWith('new_'),
    Entity1LogicalName: r.entity1,
    Entity2LogicalName: r.entity2,
    IntersectEntityName: r.intersectEntityName,
    Entity1IntersectAttribute: r.entity1IntersectAttribute,
    Entity2IntersectAttribute: r.entity2IntersectAttribute,
    Entity1NavigationPropertyName: r.entity1NavigationPropertyName,
    Entity2NavigationPropertyName: r.entity2NavigationPropertyName,
  };
}

export function relationships(ctx: RecordContext, table: Table, direction: 'ManyToOne' | 'OneToMany'): Json[] {
  const out: Json[] = [];
  for (const referencing of ctx.schema.tables.values()) {
    for (const a of referencing.attributes.values())
      for (const t of a.targets ?? []) {
        if (direction === 'ManyToOne' ? referencing !== table : t.table !== table.logicalName) continue;
        const referenced = ctx.schema.tables.get(t.table);
        const name = t.relationshipName ?? `${t.table}_${referencing.logicalName}_${a.logicalName}`;
        out.push({
          MetadataId: stableGuid(`relationship:${referencing.logicalName}.${a.logicalName}.${t.table}`),
          SchemaName: name,
          RelationshipType: 'OneToManyRelationship',
          ReferencedEntity: t.table,
          ReferencedAttribute: referenced?.primaryIdAttribute ?? `${t.table}id`,
          ReferencingEntity: referencing.logicalName,
          ReferencingAttribute: a.logicalName,
          ReferencingEntityNavigationPropertyName: t.navigationProperty,
          ReferencedEntityNavigationPropertyName: name,
        });
      }
  }
  return out;
}

/**
 * `RelationshipDefinitions(SchemaName='accountleads_association')[/Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata]`:
 * how a loader finds an N:N relationship by the schema name a user gives. One-to-many relationships are listed by
 * their tables' EntityDefinitions; here only N:N are served.
 */
export function relationshipDefinitionsRequest(
  ctx: RecordContext,
  segments: string[],
  req: EmulatorRequest,
): EmulatorResponse {
  if (req.method !== 'GET') throw faults.methodNotAllowed(req.method);
  const { key } = parseSegment(segments[0]!);
  const cast = segments[1];
  if (segments.length > 2 || (cast !== undefined && !/ManyToManyRelationshipMetadata$/.test(cast)))
    throw faults.resourceNotFound(segments[segments.length - 1]!);
  const context = `${ctx.webApiBase}$metadata#RelationshipDefinitions/Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata`;
  const typed = (r: ManyToManyRelationship) => ({
    '@odata.type': '#Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata',
    ...manyToManyJson(r),
  });
  if (key === undefined) {
    return { status: 200, body: { '@odata.context': context, value: [...ctx.schema.manyToMany.values()].map(typed) } };
  }
  const spec = parseKey(key);
  const name = spec.kind === 'key' ? spec.values.get('SchemaName') : undefined;
  const found =
    spec.kind === 'id'
      ? [...ctx.schema.manyToMany.values()].find((r) => stableGuid(`relationship:${r.schemaName}`) === spec.id)
      : typeof name === 'string'
        ? ctx.schema.manyToMany.get(name)
        : undefined;
  if (!found) throw faults.relationshipNotFound(spec.kind === 'id' ? spec.id : String(name));
  return { status: 200, body: { '@odata.context': `${context}/$entity`, ...typed(found) } };
}
