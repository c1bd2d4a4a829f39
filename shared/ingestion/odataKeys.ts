/**
 * Record references in Web API URLs and `@odata.bind` values: `/accounts(<guid>)`,
 * `/accounts(accountnumber='A''1')`, `contacts(firstname='Jo',lastname='Ng')`.
 */

export type KeyValue = string | number | boolean;

/**
 * Characters Dataverse can't take in an alternate-key value inside a URL (documented restriction; docs/design.md
 * "Key literals"). Keys and lookups holding one are resolved to an id by a `$filter` query instead (shared/loads).
 */
const forbiddenInKey = /[/<>*%&:\\?+#]/;

/** The first character of a key value that a key URL can't carry, if any. */
export function unaddressableCharacter(value: string): string | undefined {
  return forbiddenInKey.exec(value)?.[0];
}

export function keyValueProblem(value: string): string | undefined {
  const character = unaddressableCharacter(value);
  return character
    ? `contains '${character}', which Dataverse doesn't accept in an alternate-key value in a URL (/ < > * % & : \\ ? + #)`
    : undefined;
}

/** One key value as an OData literal: strings quoted with ' doubled; numbers and booleans bare. */
export function odataLiteral(value: KeyValue): string {
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`;
  return String(value);
}

/** `accountnumber='A''1'` or `a=1,b='x'` (the part between the parentheses). */
export function alternateKeySegment(values: Record<string, KeyValue>): string {
  return Object.entries(values)
    .map(([name, value]) => `${name}=${odataLiteral(value)}`)
    .join(',');
}

/**
 * `/accounts(00000000-…)` or `/accounts(accountnumber='A1')` as an `@odata.bind` value: written as Microsoft's
 * examples show it, not percent-encoded (a value with `%` never gets here: it is resolved to an id first).
 */
export function recordPath(
  entitySetName: string,
  key: { id: string } | { alternateKey: Record<string, KeyValue> },
): string {
  const inner = 'id' in key ? key.id : alternateKeySegment(key.alternateKey);
  return `/${entitySetName}(${inner})`;
}
