/**
 * Record references in Web API URLs and `@odata.bind` values: `/accounts(<guid>)`,
 * `/accounts(accountnumber='A''1')`, `contacts(firstname='Jo',lastname='Ng')`.
 */

export type KeyValue = string | number | boolean;

/** Characters Dataverse can't take in an alternate-key value inside a URL (documented restriction). */
const forbiddenInKey = /[/<>*%&:\\?+#]/;

export function keyValueProblem(value: string): string | undefined {
  const match = forbiddenInKey.exec(value);
  return match
    ? `contains '${match[0]}', which Dataverse doesn't accept in an alternate-key value in a URL (/ < > * % & : \\ ? + #)`
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

/** `/accounts(00000000-…)` or `/accounts(accountnumber='A1')`, percent-encoding what a URL path can't carry raw. */
export function recordPath(
  entitySetName: string,
  key: { id: string } | { alternateKey: Record<string, KeyValue> },
): string {
  const inner = 'id' in key ? key.id : alternateKeySegment(key.alternateKey);
  return `/${entitySetName}(${encodeURI(inner).replace(/#/g, '%23').replace(/\?/g, '%3F')})`;
}
