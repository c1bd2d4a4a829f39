/**
 * Owner references: `ownerid` by systemuser (domainname, internalemailaddress or Entra object id) or by team name.
 * A value is turned into one query (`ownerQuery`); the load runs each distinct query once (the cache key is
 * `query.cacheKey`) and binds `ownerid@odata.bind` to `/systemusers(<id>)` or `/teams(<id>)` (`bindOwner`). No
 * match, or more than one, fails the row naming the value.
 *
 * Forms: `team:<name>`, `user:<domainname | e-mail | Entra object id>`; without a prefix, a GUID is an Entra object
 * id, a value with `@` or `\` is a user's domainname or internalemailaddress, anything else a team name. The
 * profile's `ownerBy` forces one attribute for the whole column.
 */
import { normalizeGuid } from '../valueConversion';
import { done, failed, kindFault, quote, type KindResult } from './types';

export type OwnerBy = 'domainname' | 'internalemailaddress' | 'azureactivedirectoryobjectid' | 'teamname';

export interface OwnerQuery {
  table: 'systemuser' | 'team';
  entitySetName: 'systemusers' | 'teams';
  idAttribute: 'systemuserid' | 'teamid';
  /** Matches any of these (attribute, value) pairs. */
  anyOf: { attribute: string; value: string }[];
  /** The same query for the same value, whatever its case or the form that named it. */
  cacheKey: string;
}

const user = (anyOf: OwnerQuery['anyOf']): OwnerQuery => ({
  table: 'systemuser',
  entitySetName: 'systemusers',
  idAttribute: 'systemuserid',
  anyOf,
  cacheKey: `systemuser|${anyOf.map((p) => `${p.attribute}=${p.value.toLowerCase()}`).join('|')}`,
});
const team = (name: string): OwnerQuery => ({
  table: 'team',
  entitySetName: 'teams',
  idAttribute: 'teamid',
  anyOf: [{ attribute: 'name', value: name }],
  cacheKey: `team|name=${name.toLowerCase()}`,
});

function userByText(value: string): OwnerQuery | undefined {
  const id = normalizeGuid(value);
  if (id) return user([{ attribute: 'azureactivedirectoryobjectid', value: id }]);
  if (/[@\\]/.test(value))
    return user([
      { attribute: 'domainname', value },
      { attribute: 'internalemailaddress', value },
    ]);
  return undefined;
}

export function ownerQuery(text: string, rowNumber: number, column: string, by?: OwnerBy): KindResult<OwnerQuery> {
  const value = text.trim();
  const bad = (message: string) => failed<OwnerQuery>(kindFault(rowNumber, column, text, message));
  if (value === '') return bad('the owner is empty');
  if (by === 'teamname') return done(team(value));
  if (by === 'azureactivedirectoryobjectid') {
    const id = normalizeGuid(value);
    return id ? done(user([{ attribute: by, value: id }])) : bad(`${quote(value)} is not an Entra object id (a GUID)`);
  }
  if (by) return done(user([{ attribute: by, value }]));
  const prefix = /^(team|user):(.*)$/i.exec(value);
  if (prefix) {
    const rest = prefix[2]!.trim();
    if (rest === '') return bad(`${quote(value)} names no ${prefix[1]!.toLowerCase()}`);
    if (prefix[1]!.toLowerCase() === 'team') return done(team(rest));
    const q = userByText(rest);
    return q
      ? done(q)
      : bad(`${quote(rest)} is neither a user's domainname or e-mail (with @ or \\) nor an Entra object id`);
  }
  return done(userByText(value) ?? team(value));
}

/** `domainname eq 'a@b' or internalemailaddress eq 'a@b'`, quotes doubled, for `GET {set}?$select={id}&$filter=`. */
export function ownerFilter(q: OwnerQuery): string {
  return q.anyOf
    .map((p) =>
      p.attribute === 'azureactivedirectoryobjectid'
        ? `${p.attribute} eq ${p.value}`
        : `${p.attribute} eq '${p.value.replace(/'/g, "''")}'`,
    )
    .join(' or ');
}

/** The query's answer (ids of the matching records) → the bind, or the row's fault. */
export function bindOwner(
  q: OwnerQuery,
  matchingIds: string[],
  rowNumber: number,
  column: string,
  text: string,
): KindResult<{ property: 'ownerid@odata.bind'; value: string }> {
  const ids = [...new Set(matchingIds.map((id) => id.toLowerCase()))];
  const what = q.table === 'team' ? 'team' : 'user';
  if (ids.length === 0)
    return failed(
      kindFault(
        rowNumber,
        column,
        text,
        `${quote(text)} matches no ${what} (${q.anyOf.map((p) => p.attribute).join(' or ')})`,
      ),
    );
  if (ids.length > 1)
    return failed(
      kindFault(
        rowNumber,
        column,
        text,
        `${quote(text)} is ambiguous: it matches ${ids.length} ${what}s (${ids.join(', ')})`,
      ),
    );
  return done({ property: 'ownerid@odata.bind', value: `/${q.entitySetName}(${ids[0]!})` });
}
