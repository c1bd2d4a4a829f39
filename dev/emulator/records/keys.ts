/** Resolving URL keys and `@odata.bind` / `@odata.id` references to rows. */
import { faults } from './faults';
import { parseEntityReference, type KeyLiteral, type KeySpec } from './entityReference';
import type { Schema, Table } from './schema';
import type { LookupValue, RecordStore } from './store';

export interface KeyLocation {
  /** The existing row's id, when one matches. */
  id: string | undefined;
  /** For a key lookup: attribute → value, copied into the row when an upsert creates it. */
  keyValues?: Map<string, KeyLiteral>;
  /** For an id lookup: the id a create must use. */
  requestedId?: string;
}

/** Finds the row a URL key designates, or reports which id/key values a create would use. */
export function locate(store: RecordStore, table: Table, spec: KeySpec): KeyLocation {
  if (spec.kind === 'id')
    return { id: store.get(table.logicalName, spec.id) ? spec.id : undefined, requestedId: spec.id };
  const names = [...spec.values.keys()].map((n) => table.properties.get(n)?.logicalName ?? n);
  if (names.length === 1 && names[0] === table.primaryIdAttribute) {
    const id = spec.values.values().next().value;
    if (typeof id !== 'string') throw faults.invalidKey(table.logicalName);
    return locate(store, table, { kind: 'id', id });
  }
  const sorted = [...names].sort().join(',');
  const key = table.keys.find((k) => [...k.attributes].sort().join(',') === sorted);
  if (!key) throw faults.invalidKey(table.logicalName);
  const byAttribute = new Map<string, KeyLiteral>();
  for (const [name, v] of spec.values) byAttribute.set(table.properties.get(name)?.logicalName ?? name, v);
  const id = store.findByKey(table.logicalName, key.logicalName, (a) => byAttribute.get(a));
  return { id, keyValues: byAttribute };
}

/** Resolves `/contacts(<id>)` or `/contacts(emailaddress1='x')` to an existing row (404 otherwise). */
export function resolveReference(schema: Schema, store: RecordStore, value: string, expected?: string[]): LookupValue {
  const ref = parseEntityReference(value);
  if (!ref) throw faults.badQuery(`The URI '${value}' is not valid because it is not based on the service root.`);
  const table = schema.bySet.get(ref.entitySetName);
  if (!table) throw faults.resourceNotFound(ref.entitySetName);
  if (expected && !expected.includes(table.logicalName)) {
    throw faults.invalidArgument(
      `The entity set '${ref.entitySetName}' does not hold records of type '${expected.join("' or '")}'.`,
    );
  }
  const found = locate(store, table, ref.key);
  if (found.id === undefined) {
    throw ref.key.kind === 'id'
      ? faults.recordNotFound(table.logicalName, ref.key.id)
      : faults.recordNotFoundByKey(table.logicalName);
  }
  return { id: found.id, table: table.logicalName };
}
