/**
 * A lookup bound by key without a profile (issue 15): a column named after a lookup whose values are not GUIDs
 * binds by the target table's alternate key, when the metadata says which key that is. Decided once per column:
 * - one target (parentaccountid → account): the target's one alternate key of a single attribute;
 * - several targets (parentcustomerid → account | contact): the one target that has such a key, if only one has;
 *   with two or more, the row must name the table (`x@table`, `x.type`, or the profile) — a value alone can't
 *   say whether 'C-1' is an accountnumber or an emailaddress1.
 * A GUID value in such a column stays an id (a file mixing ids and key values binds each by what it is); a
 * profile `lookups.<col>.by` still decides alone (every value is a key value). Messages for the values that
 * can't be bound name the column, the tables and their keys, and what to write instead.
 */
import { truncateForMessage } from './ingestionError';
import type { AlternateKey, LookupTarget } from './tableMetadata';

/** The target's alternate key of one attribute: the key, `several` (which one is unclear), or undefined (none/unknown). */
export function oneColumnKey(
  target: Pick<LookupTarget, 'keys'>,
): AlternateKey | { several: AlternateKey[] } | undefined {
  const single = (target.keys ?? []).filter((k) => k.attributes.length === 1);
  if (single.length === 0) return undefined;
  return single.length === 1 ? single[0]! : { several: single };
}

export interface InferredKey {
  /** The target table the key belongs to. */
  table: string;
  /** The key's one attribute (what the column's non-GUID values are). */
  attribute: string;
  keyName: string;
}

/** The target and key non-GUID values bind by, or undefined when the metadata names no single one. */
export function inferLookupKey(targets: readonly Pick<LookupTarget, 'table' | 'keys'>[]): InferredKey | undefined {
  const keyed = targets.flatMap((t) => {
    const key = oneColumnKey(t);
    return key && !('several' in key)
      ? [{ table: t.table, attribute: key.attributes[0]!, keyName: key.logicalName }]
      : [];
  });
  const ambiguous = targets.some((t) => {
    const key = oneColumnKey(t);
    return key !== undefined && 'several' in key;
  });
  return keyed.length === 1 && !ambiguous ? keyed[0] : undefined;
}

const describeKeys = (t: Pick<LookupTarget, 'table' | 'keys'>): string => {
  const key = oneColumnKey(t);
  if (!key) return `${t.table} (no alternate key of one column)`;
  if ('several' in key) return `${t.table} (keys ${key.several.map((k) => k.attributes[0]).join(', ')})`;
  return `${t.table} (key ${key.attributes[0]})`;
};

/**
 * Why a non-GUID value of a lookup column without a profile binding can't be bound, and what to do; the caller
 * prefixes the row and column. `attribute` is the lookup's logical name, `column` the file's header.
 */
export function unboundKeyMessage(
  value: string,
  column: string,
  attribute: string,
  targets: readonly Pick<LookupTarget, 'table' | 'keys'>[],
): string {
  const quoted = `'${truncateForMessage(value)}'`;
  const profileBy = `lookups.${column}.by (the key attribute) in the load profile`;
  if (targets.length === 1) {
    const target = targets[0]!;
    const key = oneColumnKey(target);
    if (key && 'several' in key)
      return `${quoted} is not a GUID, and ${target.table} has several alternate keys of one column (${key.several.map((k) => k.attributes[0]).join(', ')}): set ${profileBy}`;
    return `${quoted} is not a GUID, and ${target.table} has no alternate key of one column to find it by: write the ${target.table} id, or set ${profileBy}`;
  }
  const keyed = targets.filter((t) => oneColumnKey(t) !== undefined);
  const name = `name the table with '${attribute}@<table>' columns, a '${attribute}.type' column, or lookups.${column}.table and .by in the load profile`;
  if (keyed.length === 0)
    return `${quoted} is not a GUID, and no target of ${attribute} has an alternate key of one column (${targets.map(describeKeys).join(', ')}): write '<table>:<id>', or set lookups.${column}.table and .by in the load profile`;
  return `${quoted} is not a GUID, and ${attribute} can point at ${targets.map(describeKeys).join(' or ')}: ${name}`;
}
