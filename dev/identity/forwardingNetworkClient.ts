/**
 * An msal-node `system.networkClient` that sends what msal addresses to the Entra authority host
 * (e.g. https://login.microsoftonline.com/<tenant>/...) to a local identity endpoint over real HTTP,
 * with X-Forwarded-* headers so the endpoint answers discovery with the URLs msal expects.
 * Anything else is refused: a test must never reach the internet by accident.
 */
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';

export interface ForwardingNetworkClientOptions {
  /** Host msal is configured with; default `https://login.microsoftonline.com`. */
  authorityHost?: string;
}

export function createForwardingNetworkClient(
  identityBaseUrl: string,
  options: ForwardingNetworkClientOptions = {},
): INetworkModule {
  const authority = new URL(options.authorityHost ?? 'https://login.microsoftonline.com');
  const target = identityBaseUrl.replace(/\/$/, '');

  const send = async <T>(
    method: 'GET' | 'POST',
    url: string,
    request?: NetworkRequestOptions,
  ): Promise<NetworkResponse<T>> => {
    const original = new URL(url);
    if (original.origin !== authority.origin)
      throw new Error(`Refusing to send a request to ${original.origin}: only ${authority.origin} is forwarded`);
    const response = await fetch(`${target}${original.pathname}${original.search}`, {
      method,
      headers: {
        ...(request?.headers ?? {}),
        'x-forwarded-host': authority.host,
        'x-forwarded-proto': authority.protocol.replace(':', ''),
        'x-forwarded-prefix': '',
      },
      body: method === 'POST' ? (request?.body ?? '') : undefined,
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const text = await response.text();
    return { status: response.status, headers, body: (text ? JSON.parse(text) : {}) as T };
  };

  return {
    sendGetRequestAsync: <T>(url: string, request?: NetworkRequestOptions) => send<T>('GET', url, request),
    sendPostRequestAsync: <T>(url: string, request?: NetworkRequestOptions) => send<T>('POST', url, request),
  };
}
