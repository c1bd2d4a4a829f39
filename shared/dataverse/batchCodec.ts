/**
 * OData `$batch` codec (multipart/mixed), pure and dependency-free so the emulator can reuse it.
 * Encodes with CRLF as MIME requires; decodes CRLF or LF (Microsoft's published examples use LF),
 * finds the boundary in the Content-Type header or, when absent (Dataverse's documented responses omit it),
 * on the first line of the body.
 */
import { randomUUID } from 'node:crypto';
import {
  boundaryOf,
  isMultipart,
  parseHttpHead,
  parseRequestLine,
  parseStatusLine,
  type HeaderMap,
} from './httpMessage';

const CRLF = '\r\n';

export interface BatchRequestPart {
  method: string;
  /** Relative (`/api/data/v9.2/tasks`) or absolute URL, as Dataverse accepts both. */
  url: string;
  headers: HeaderMap;
  body?: string;
  /** Only inside change sets: lets later parts reference the created entity as `$<contentId>`. */
  contentId?: string;
}

export interface BatchChangeSet<T> {
  changeSet: T[];
}

export type BatchRequestItem = BatchRequestPart | BatchChangeSet<BatchRequestPart>;

export interface BatchResponsePart {
  status: number;
  headers: HeaderMap;
  body: string;
  contentId?: string;
}

export type BatchResponseItem = BatchResponsePart | BatchChangeSet<BatchResponsePart>;

export interface EncodedBatch {
  contentType: string;
  body: string;
}

export function isChangeSet<T>(item: T | BatchChangeSet<T>): item is BatchChangeSet<T> {
  return typeof item === 'object' && item !== null && Array.isArray((item as BatchChangeSet<T>).changeSet);
}

// ---------------------------------------------------------------- encoding

function headerLines(headers: HeaderMap): string {
  let text = '';
  for (const name in headers) text += `${name}: ${headers[name]}${CRLF}`;
  return text;
}

function encodeHttpPart(mimeHeaders: string, startLine: string, headers: HeaderMap, body: string): string {
  return mimeHeaders + CRLF + startLine + CRLF + headerLines(headers) + CRLF + body;
}

function encodeMultipart(boundary: string, parts: string[]): string {
  // One string built by appending (V8 ropes), not an array of pieces joined: a $batch has up to 1000 parts.
  const delimiter = `--${boundary}${CRLF}`;
  let text = '';
  for (const part of parts) text += delimiter + part + CRLF;
  return `${text}--${boundary}--${CRLF}`;
}

// The MIME head of every part is one of two constant texts, built once (it was an object per part).
const plainMimeHeaders = `Content-Type: application/http${CRLF}Content-Transfer-Encoding: binary${CRLF}`;

function httpMimeHeaders(contentId: string | undefined): string {
  return contentId === undefined ? plainMimeHeaders : `${plainMimeHeaders}Content-ID: ${contentId}${CRLF}`;
}

function encodeRequestPart(part: BatchRequestPart): string {
  return encodeHttpPart(
    httpMimeHeaders(part.contentId),
    `${part.method} ${part.url} HTTP/1.1`,
    part.headers,
    part.body ?? '',
  );
}

/** Encodes a `$batch` request body. Boundaries are random unless given (tests). */
export function encodeBatchRequest(
  items: BatchRequestItem[],
  options: { boundary?: string; changeSetBoundary?: (index: number) => string } = {},
): EncodedBatch {
  const boundary = options.boundary ?? `batch_${randomUUID()}`;
  const parts = items.map((item, index) => {
    if (!isChangeSet(item)) return encodeRequestPart(item);
    const changeSetBoundary = options.changeSetBoundary?.(index) ?? `changeset_${randomUUID()}`;
    return (
      `Content-Type: multipart/mixed; boundary=${changeSetBoundary}${CRLF}${CRLF}` +
      encodeMultipart(changeSetBoundary, item.changeSet.map(encodeRequestPart)).replace(/\r\n$/, '')
    );
  });
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: encodeMultipart(boundary, parts) };
}

function reasonPhrase(status: number): string {
  const phrases: Record<number, string> = {
    200: 'OK',
    201: 'Created',
    204: 'No Content',
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    412: 'Precondition Failed',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
  };
  return phrases[status] ?? 'Status';
}

/** Encodes a `$batch` response body the way Dataverse does (`batchresponse_`/`changesetresponse_` boundaries). */
export function encodeBatchResponse(items: BatchResponseItem[], options: { boundary?: string } = {}): EncodedBatch {
  const boundary = options.boundary ?? `batchresponse_${randomUUID()}`;
  const encodePart = (part: BatchResponsePart) =>
    encodeHttpPart(
      httpMimeHeaders(part.contentId),
      `HTTP/1.1 ${part.status} ${reasonPhrase(part.status)}`,
      part.headers,
      part.body,
    );
  const parts = items.map((item) => {
    if (!isChangeSet(item)) return encodePart(item);
    const changeSetBoundary = `changesetresponse_${randomUUID()}`;
    return (
      `Content-Type: multipart/mixed; boundary=${changeSetBoundary}${CRLF}${CRLF}` +
      encodeMultipart(changeSetBoundary, item.changeSet.map(encodePart)).replace(/\r\n$/, '')
    );
  });
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: encodeMultipart(boundary, parts) };
}

// ---------------------------------------------------------------- decoding

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The raw contents of each part. Per RFC 2046 the line break before a delimiter belongs to the delimiter,
 * so a part's content ends just before it. Text before the first delimiter (preamble) and after the close is dropped.
 */
export function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = new RegExp(`(?:^|\\r?\\n)--${escapeRegExp(boundary)}(--)?[ \\t]*(?:\\r?\\n|$)`, 'g');
  const parts: string[] = [];
  let start: number | undefined;
  let closed = false;
  for (let match = delimiter.exec(body); match; match = delimiter.exec(body)) {
    if (start !== undefined) parts.push(body.slice(start, match.index));
    if (match[1]) {
      closed = true;
      break;
    }
    start = match.index + match[0].length;
    // A zero-width part (`--b\r\n--b`) needs the next search to start at the newline we consumed.
    if (match[0].endsWith('\n')) delimiter.lastIndex = start - (match[0].endsWith('\r\n') ? 2 : 1);
  }
  if (start === undefined) throw new SyntaxError(`No multipart delimiter --${boundary} in body`);
  if (!closed) throw new SyntaxError(`Multipart body is not closed by --${boundary}--`);
  return parts;
}

/** The boundary from the Content-Type header, else from the first delimiter line of the body. */
export function batchBoundary(contentType: string | undefined, body: string): string {
  const fromHeader = isMultipart(contentType) ? boundaryOf(contentType) : undefined;
  if (fromHeader) return fromHeader;
  const firstLine = /^\s*--([^\r\n]+?)[ \t]*\r?\n/.exec(body);
  if (!firstLine)
    throw new SyntaxError('Batch body has no Content-Type boundary and does not start with a delimiter line');
  return firstLine[1]!;
}

interface MimePart {
  mimeHeaders: HeaderMap;
  content: string;
}

function splitMimePart(raw: string): MimePart {
  // A MIME part is headers, blank line, content; the content itself is an HTTP message or a nested multipart.
  const head = parseHttpHead(`X${CRLF}${raw}`);
  return { mimeHeaders: head.headers, content: head.body };
}

function decodeParts<T>(
  body: string,
  boundary: string,
  decodeHttp: (content: string, contentId: string | undefined) => T,
): (T | BatchChangeSet<T>)[] {
  return splitMultipart(body, boundary).map((raw) => {
    const { mimeHeaders, content } = splitMimePart(raw);
    const contentType = mimeHeaders['content-type'];
    if (isMultipart(contentType)) {
      const inner = boundaryOf(contentType);
      if (!inner) throw new SyntaxError('Change set part has no boundary');
      return {
        changeSet: splitMultipart(content, inner).map((innerRaw) => {
          const part = splitMimePart(innerRaw);
          return decodeHttp(part.content, part.mimeHeaders['content-id']);
        }),
      };
    }
    return decodeHttp(content, mimeHeaders['content-id']);
  });
}

/** Decodes a `$batch` response body into parts in request order; change sets come back nested. */
export function decodeBatchResponse(contentType: string | undefined, body: string): BatchResponseItem[] {
  return decodeParts(body, batchBoundary(contentType, body), (content, contentId): BatchResponsePart => {
    const head = parseHttpHead(content);
    const part: BatchResponsePart = { status: parseStatusLine(head.startLine), headers: head.headers, body: head.body };
    if (contentId !== undefined) part.contentId = contentId;
    return part;
  });
}

/** Decodes a `$batch` request body (used by the emulator and by round-trip tests). */
export function decodeBatchRequest(contentType: string | undefined, body: string): BatchRequestItem[] {
  return decodeParts(body, batchBoundary(contentType, body), (content, contentId): BatchRequestPart => {
    const head = parseHttpHead(content);
    const { method, url } = parseRequestLine(head.startLine);
    const part: BatchRequestPart = { method, url, headers: head.headers };
    if (head.body !== '') part.body = head.body;
    if (contentId !== undefined) part.contentId = contentId;
    return part;
  });
}

/** Flattens change sets: one entry per HTTP response, in order. */
export function flattenBatchResponse(items: BatchResponseItem[]): BatchResponsePart[] {
  return items.flatMap((item) => (isChangeSet(item) ? item.changeSet : [item]));
}
