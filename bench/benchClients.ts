/** Clients the benchmark loaders use against the emulator: unsigned tokens (the emulator's default non-strict auth), one caller each. */
import type { AccessTokenSource } from '../shared/dataverse/index';
import { createDataverseClient, type DataverseClient } from '../shared/dataverse/index';
import type { TableMetadata } from '../shared/ingestion/tableMetadata';
import { createTableMetadataSource } from '../shared/loads/tableMetadataSource';

/** An unsigned JWT naming the caller (the emulator keys its limits by `oid`/`sub`). */
export function unsignedToken(caller: string, audience: string): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: caller, oid: caller, aud: audience, iat: now, exp: now + 24 * 3600 })}.`;
}

export function tokenSource(caller: string, audience: string): AccessTokenSource {
  const token = unsignedToken(caller, audience);
  return { getAccessToken: () => Promise.resolve(token) };
}

export function benchClient(webApiUrl: string, orgUrl: string, caller: string, maxConcurrency = 16): DataverseClient {
  return createDataverseClient({ webApiUrl, accessTokenSource: tokenSource(caller, orgUrl), maxConcurrency });
}

export async function accountMetadata(webApiUrl: string, orgUrl: string): Promise<TableMetadata> {
  return createTableMetadataSource(benchClient(webApiUrl, orgUrl, 'bench-metadata')).get('account');
}
