import type { IncomingHttpHeaders } from 'node:http';
import type { RpcHttpCookie, RpcHttpData, RpcNullableString } from './coreApi';

/**
 * The host's side of an HTTP invocation, as pure functions. Sources: Azure/azure-functions-host
 * `GrpcMessageConversionExtensions.ToRpcHttp` (request → RpcHttp), `GrpcMessageExtensionUtilities.RpcHttpCookieConverter`
 * with ASP.NET Core's `ResponseCookies.Append` / `SetCookieHeaderValue.ToString` (cookies), and the WebHost's
 * `FUNCTIONS_REQUEST_BODY_SIZE_LIMIT` (Kestrel MaxRequestBodySize).
 */

/** Kestrel's limit in the Functions host unless FUNCTIONS_REQUEST_BODY_SIZE_LIMIT says otherwise: 100 MiB. */
export const defaultRequestBodySizeLimit = 104_857_600;

export class HostSettingError extends Error {
  readonly code = 'HostSettingInvalid';
}

/** FUNCTIONS_REQUEST_BODY_SIZE_LIMIT in bytes (a whole number); unset → 100 MiB. */
export function requestBodySizeLimit(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.FUNCTIONS_REQUEST_BODY_SIZE_LIMIT;
  if (raw === undefined || raw.trim() === '') return defaultRequestBodySizeLimit;
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) <= 0)
    throw new HostSettingError(
      `App setting FUNCTIONS_REQUEST_BODY_SIZE_LIMIT is '${raw}': expected a positive whole number of bytes.`,
    );
  return Number(raw);
}

/** `AzureWebJobs.<name>.Disabled` set to true or 1 (names compared case-insensitively, like app settings). */
export function isFunctionDisabled(functionName: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const wanted = `azurewebjobs.${functionName}.disabled`.toLowerCase();
  const entry = Object.entries(env).find(([name]) => name.toLowerCase() === wanted);
  const value = entry?.[1]?.trim().toLowerCase();
  return value === 'true' || value === '1';
}

/** The request has content the host passes on: `request.ContentLength > 0` (a chunked request has none). */
export function declaredContentLength(headers: IncomingHttpHeaders): number | undefined {
  const raw = headers['content-length'];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Repeated names → one value joined with ',' (ASP.NET Core StringValues.ToString); query keys case-insensitive. */
function joinRepeated(pairs: Iterable<[string, string]>, caseInsensitive: boolean): Record<string, RpcNullableString> {
  const out = new Map<string, { key: string; values: string[] }>();
  for (const [key, value] of pairs) {
    const id = caseInsensitive ? key.toLowerCase() : key;
    const entry = out.get(id) ?? { key, values: [] };
    entry.values.push(value);
    out.set(id, entry);
  }
  return Object.fromEntries([...out.values()].map(({ key, values }) => [key, { value: values.join(',') }]));
}

export interface HttpRequestParts {
  method: string;
  url: URL;
  /** Node's `req.headersDistinct`: lower-case names, every value of a repeated header. */
  headers: Record<string, string[]>;
  params: Record<string, string>;
  /** Present only when the request declared content (Content-Length > 0) and the method may carry a body. */
  body?: Uint8Array;
}

/**
 * RpcHttp as the host sends it to a worker announcing UseNullableValueDictionaryForHttp and RawHttpBodyBytes:
 * nullable maps, repeated query parameters and headers joined with ',', the body as bytes and only when there is one.
 */
export function toRpcHttpRequest(parts: HttpRequestParts): RpcHttpData {
  const http: RpcHttpData = {
    method: parts.method,
    url: parts.url.toString(),
    nullableHeaders: joinRepeated(
      Object.entries(parts.headers).flatMap(([name, values]) => values.map((v): [string, string] => [name, v])),
      false,
    ),
    nullableQuery: joinRepeated(parts.url.searchParams, true),
    nullableParams: Object.fromEntries(Object.entries(parts.params).map(([k, v]) => [k, { value: v }])),
  };
  if (parts.body && parts.body.length > 0) http.body = { bytes: parts.body };
  return http;
}

/** GET and HEAD carry no body to the function (the library refuses one: `new Request` throws, 4.12 answers 500). */
export const methodTakesBody = (method: string) => method !== 'GET' && method !== 'HEAD';

/** The streaming host's trigger metadata for HTTP: `Headers`, `Query` and one string per route value. */
export function httpTriggerMetadata(
  headers: Record<string, string[]>,
  url: URL,
  params: Record<string, string>,
): Record<string, { json?: string; string?: string }> {
  const flat = (map: Record<string, RpcNullableString>) =>
    Object.fromEntries(Object.entries(map).map(([k, v]) => [k, v.value ?? '']));
  const headerMap = joinRepeated(
    Object.entries(headers).flatMap(([name, values]) => values.map((v): [string, string] => [name, v])),
    false,
  );
  return {
    ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, { string: v }])),
    Headers: { json: JSON.stringify(flat(headerMap)) },
    Query: { json: JSON.stringify(flat(joinRepeated(url.searchParams, true))) },
  };
}

/** .NET's Uri.EscapeDataString: RFC 3986 unreserved characters stay, everything else is percent-encoded. */
function escapeDataString(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * One Set-Cookie value as the host writes it: CookieOptions (Path defaults to '/', RPC SameSite None → unspecified,
 * ExplicitNone → none), then SetCookieHeaderValue's order and lower-case attribute names; the value is escaped
 * (Uri.EscapeDataString), the name is not (cookie name encoding is off by default since ASP.NET Core 5).
 */
export function formatSetCookie(cookie: RpcHttpCookie): string {
  const parts = [`${cookie.name ?? ''}=${escapeDataString(cookie.value ?? '')}`];
  const seconds = cookie.expires?.value?.seconds;
  if (seconds !== undefined && seconds !== null)
    parts.push(`expires=${new Date(Number(seconds) * 1000).toUTCString()}`);
  const maxAge = cookie.maxAge?.value;
  if (maxAge !== undefined && maxAge !== null) parts.push(`max-age=${Math.trunc(Number(maxAge))}`);
  if (cookie.domain?.value) parts.push(`domain=${cookie.domain.value}`);
  parts.push(`path=${cookie.path?.value ?? '/'}`);
  if (cookie.secure?.value) parts.push('secure');
  const sameSite = String(cookie.sameSite ?? 'none').toLowerCase();
  if (sameSite === 'lax' || sameSite === '1') parts.push('samesite=lax');
  else if (sameSite === 'strict' || sameSite === '2') parts.push('samesite=strict');
  else if (sameSite === 'explicitnone' || sameSite === '3') parts.push('samesite=none');
  if (cookie.httpOnly?.value) parts.push('httponly');
  return parts.join('; ');
}
