/**
 * What an upload route reads from its request, decoded the same way for every one of them (loads, retries,
 * imports, releases): the body stream and the headers the engine checks before reading it.
 */
import type { HttpRequest } from '@azure/functions';
import type { RequestBody } from '../shared/security/bodyLimit';

export interface Upload {
  body: RequestBody;
  /** Content-Length: a body announced over the route's limit is refused before it is read. */
  declaredLength?: number;
  contentType?: string;
}

export function uploadOf(request: HttpRequest): Upload {
  const length = request.headers.get('content-length');
  const contentType = request.headers.get('content-type');
  return {
    body: request.body ?? new Uint8Array(0),
    ...(length ? { declaredLength: Number(length) } : {}),
    ...(contentType ? { contentType } : {}),
  };
}

/** Content-Encoding (gzip files), for the routes that load files. */
export function contentEncodingOf(request: HttpRequest): { contentEncoding?: string } {
  const contentEncoding = request.headers.get('content-encoding');
  return contentEncoding ? { contentEncoding } : {};
}

/** x-correlation-id, carried onto the job and its event. */
export function correlationIdOf(request: HttpRequest): { correlationId?: string } {
  const correlationId = request.headers.get('x-correlation-id');
  return correlationId !== null ? { correlationId } : {};
}
