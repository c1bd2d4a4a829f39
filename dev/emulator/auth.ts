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

export interface Caller {
  /** `oid` (Entra object id) or `sub`: what Dataverse's per-user limits key on. */
  id: string;
  /** `appid`: the application (or managed identity) client id, when the token has one. */
  appId?: string;
}

const callerCache = new Map<string, Caller>();

/** The token's caller; an opaque token is its own identity (hashed, to keep it out of logs). */
export function callerFromToken(token: string): Caller {
  // Clients reuse one token for an hour: decode it once (decoding an opaque token throws, which is slow).
  const cached = callerCache.get(token);
  if (cached !== undefined) return cached;
  const caller = decodeCaller(token);
  if (callerCache.size >= 1000) callerCache.clear();
  callerCache.set(token, caller);
  return caller;
}

/** The token's `oid` (Entra object id) or `sub`; an opaque token is its own identity (hashed, to keep it out of logs). */
export function callerIdFromToken(token: string): string {
  return callerFromToken(token).id;
}

function decodeCaller(token: string): Caller {
  try {
    const claims = decodeJwt(token);
    const id = typeof claims['oid'] === 'string' ? claims['oid'] : claims.sub;
    const appId = typeof claims['appid'] === 'string' ? claims['appid'] : undefined;
    if (id) return appId ? { id, appId } : { id };
  } catch {
    // Not a JWT: fall through.
  }
  return { id: `token-${createHash('sha256').update(token).digest('hex').slice(0, 16)}` };
}

export function challengeHeader(orgUrl: string, tenantId: string): string {
  return `Bearer authorization_uri=${orgUrl}/_identity/${tenantId}/oauth2/authorize, resource_id=${orgUrl}`;
}

/** Audience as issued for `${url}/.default` or resource `${url}`: the org URL, with or without trailing slash. */
export function audienceMatches(aud: string, orgUrl: string): boolean {
  return aud.replace(/\/+$/, '') === orgUrl.replace(/\/+$/, '');
}
