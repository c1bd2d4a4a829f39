/** Single Web API calls over the shared transport, and what the client's parts share. */
import { callOptionHeaders, type CallOptions } from './callOptions';
import { DataverseError } from './dataverseError';
import type { HeaderMap } from './httpMessage';
import { isRetrySafe, type WebApiRequest } from './organizationRequest';
import type { DataverseLogger, Transport } from './transport';

export interface WebApiContext {
  transport: Transport;
  /** `https://org.crm.dynamics.com/api/data/v9.2/` (trailing slash). */
  webApiUrl: string;
  /** Path part of webApiUrl (`/api/data/v9.2/`), used for request lines inside `$batch`. */
  webApiPath: string;
  newId: () => string;
  /** Operations per `$batch`; lowered for the whole client when Dataverse reports a smaller limit. */
  batchLimit: { current: number };
  logger?: DataverseLogger;
}

export interface WebApiResponse {
  status: number;
  headers: HeaderMap;
  /** Parsed JSON when the body is JSON, the text otherwise, undefined when empty. */
  body: unknown;
}

export const odataHeaders: HeaderMap = {
  'OData-MaxVersion': '4.0',
  'OData-Version': '4.0',
  Accept: 'application/json',
};

export function encodeBody(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  return typeof body === 'string' ? body : JSON.stringify(body);
}

export function parseBody(text: string, contentType: string | undefined): unknown {
  if (text.trim() === '') return undefined;
  if (contentType === undefined || /json/i.test(contentType)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** One Web API call; a 4xx/5xx answer becomes a DataverseError with Dataverse's code and message. */
export async function sendWebApiRequest(
  context: WebApiContext,
  request: WebApiRequest,
  options?: CallOptions,
): Promise<WebApiResponse> {
  const body = encodeBody(request.body);
  const headers: HeaderMap = { ...odataHeaders, ...callOptionHeaders(options), ...request.headers };
  if (body !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
    headers['Content-Type'] = 'application/json; charset=utf-8';
  }
  const call = {
    method: request.method,
    url: new URL(request.path, context.webApiUrl).toString(),
    headers,
    retrySafe: isRetrySafe(request),
    ...(options?.useDefaultIdentity || options?.callerObjectId ? { pinned: true } : {}),
    ...(request.operations !== undefined ? { operations: request.operations } : {}),
    ...(body !== undefined ? { body } : {}),
    ...(options?.abortSignal ? { abortSignal: options.abortSignal } : {}),
  };
  const result = await context.transport.send(call);
  if (result.status >= 400) {
    const error = DataverseError.fromResponse(result.status, result.headers, result.body);
    error.afterResend = result.resent;
    throw error;
  }
  return {
    status: result.status,
    headers: result.headers,
    body: parseBody(result.body, result.headers['content-type']),
  };
}
