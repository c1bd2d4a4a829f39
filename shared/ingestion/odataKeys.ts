/**
 * Record references in `@odata.bind` values: `/accounts(<guid>)`, `/accounts(accountnumber='A''1')`. The key
 * literal rules (quoting, the characters no key URL can carry) live once, in shared/dataverse/organizationRequest.
 */
import { entityReference, unaddressableKeyCharacters } from '../dataverse/organizationRequest';

export { odataLiteral } from '../dataverse/organizationRequest';

export type KeyValue = string | number | boolean;

/**
 * The first character of a key value that a key URL can't carry, if any (docs/design.md "Key literals"). Keys and
 * lookups holding one are resolved to an id by a `$filter` query instead (shared/loads).
 */
export function unaddressableCharacter(value: string): string | undefined {
  return unaddressableKeyCharacters.exec(value)?.[0];
}

/**
 * `/accounts(00000000-…)` or `/accounts(accountnumber='A1')` as an `@odata.bind` value: written as Microsoft's
 * examples show it, not percent-encoded (a value with `%` never gets here: it is resolved to an id first).
 */
export function recordPath(
  entitySetName: string,
  key: { id: string } | { alternateKey: Record<string, KeyValue> },
): string {
  return `/${entityReference(entitySetName, 'id' in key ? key.id : key.alternateKey)}`;
}
