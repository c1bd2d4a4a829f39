/**
 * Columns every Dataverse table has (a schema may override any of them, e.g. task's state options), the columns a
 * file column brings with it, and the intersect table behind an N:N relationship.
 */
import type { AttributeInput, ManyToManyDefinition, TableDefinitionJson } from './schema';

const stateOptions = [
  { value: 0, label: 'Active' },
  { value: 1, label: 'Inactive' },
];
const statusOptions = [
  { value: 1, label: 'Active', state: 0 },
  { value: 2, label: 'Inactive', state: 1 },
];
const readOnly = { isValidForCreate: false, isValidForUpdate: false };

export function systemAttributes(t: TableDefinitionJson): AttributeInput[] {
  const user = (logicalName: string): AttributeInput => ({
    logicalName,
    type: 'Lookup',
    ...readOnly,
    targets: [{ table: 'systemuser', navigationProperty: logicalName }],
  });
  const list: AttributeInput[] = [
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
      // One navigation property, two targets: `ownerid@odata.bind` takes `/systemusers(..)` or `/teams(..)`.
      logicalName: 'ownerid',
      type: 'Owner',
      targets: [
        { table: 'systemuser', navigationProperty: 'ownerid' },
        { table: 'team', navigationProperty: 'ownerid' },
      ],
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
  // "Each file column has a supporting read-only string column that contains the name of the file" (Use file column data).
  for (const a of t.attributes)
    if (a.type === 'File')
      list.push({ logicalName: `${a.logicalName}_name`, type: 'String', maxLength: 200, ...readOnly });
  return list;
}

/** The intersect columns: each side's primary id (`accountid`, `leadid`); a self-referencing N:N gets `..one`/`..two`. */
export function intersectAttributes(
  r: ManyToManyDefinition,
  primaryIdOf: (table: string) => string,
): [entity1: string, entity2: string] {
  const a = primaryIdOf(r.entity1),
    b = primaryIdOf(r.entity2);
  return a === b ? [`${a}one`, `${b}two`] : [a, b];
}

export function intersectTable(r: ManyToManyDefinition, columns: [string, string]): TableDefinitionJson {
  return {
    logicalName: r.intersectEntityName,
    entitySetName: `${r.intersectEntityName}set`,
    primaryIdAttribute: `${r.intersectEntityName}id`,
    primaryNameAttribute: columns[0],
    supportsBulkMessages: false,
    isElastic: false,
    supportsMerge: false,
    attributes: columns.map((logicalName) => ({
      logicalName,
      type: 'Uniqueidentifier' as const,
      requiredLevel: 'SystemRequired' as const,
      isValidForCreate: false,
      isValidForUpdate: false,
    })),
    // The unique index that makes a second association of the same pair fail ("Cannot insert duplicate key.").
    keys: [{ logicalName: `${r.intersectEntityName}_pair`, attributes: columns }],
    statesValidOnCreate: undefined,
  };
}
