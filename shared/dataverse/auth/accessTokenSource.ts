/**
 * What the Web API transport needs from authentication. The msal-node backed implementations
 * (client secret, client certificate, managed identity) live beside this file.
 */
export interface AccessTokenSource {
  /**
   * A bearer token for `<DATAVERSE_URL>/.default`. Cached tokens are returned until shortly before they expire;
   * `forceRefresh` skips the cache (used once after a 401).
   */
  getAccessToken(options?: { forceRefresh?: boolean; abortSignal?: AbortSignal }): Promise<string>;
}
