/**
 * Bearer tokens: who is calling (for per-caller limits) and the 401 challenge clients use to discover
 * the authority (dataverse-wire.md §7). By default tokens are decoded without verification.
 */
import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';

export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1];
}

const callerCache = new Map<string, string>();

/** The token's `oid` (Entra object id) or `sub`; an opaque token is its own identity (hashed, to keep it out of logs). */
export function callerIdFromToken(token: string): string {
  // Clients reuse one token for an hour: decode it once (decoding an opaque token throws, which is slow).
  const cached = callerCache.get(token);
  if (cached !== undefined) return cached;
  const id = decodeCallerId(token);
  if (callerCache.size >= 1000) callerCache.clear();
  callerCache.set(token, id);
  return id;
}

function decodeCallerId(token: string): string {
  try {
    const claims = decodeJwt(token);
    const id = typeof claims['oid'] === 'string' ? claims['oid'] : claims.sub;
    if (id) return id;
  } catch {
    // Not a JWT: fall through.
  }
  return `token-${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
}

export function challengeHeader(orgUrl: string, tenantId: string): string {
  return `Bearer authorization_uri=${orgUrl}/_identity/${tenantId}/oauth2/authorize, resource_id=${orgUrl}`;
}

/** Audience as issued for `${url}/.default` or resource `${url}`: the org URL, with or without trailing slash. */
export function audienceMatches(aud: string, orgUrl: string): boolean {
  return aud.replace(/\/+$/, '') === orgUrl.replace(/\/+$/, '');
}
