/**
 * OData `$batch` multipart codec, pure: parses a request body into operations and change sets,
 * and writes the response the way Dataverse frames it (dataverse-wire.md §1.2): CRLF, the body
 * starts with the delimiter line, `batchresponse_<guid>` / `changesetresponse_<guid>` boundaries.
 */
import { STATUS_CODES } from 'node:http';

export interface BatchOperation {
  kind: 'operation';
  /** Content-ID of the MIME part (change sets; echoed back). */
  contentId?: string;
  method: string;
  /** The request target as written: absolute, `/api/data/v9.2/...`, relative, or `$1/...`. */
  url: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: string;
}

export interface BatchChangeSet {
  kind: 'changeset';
  operations: BatchOperation[];
}

export type BatchItem = BatchOperation | BatchChangeSet;

export class BatchFormatError extends Error {
  readonly code = 'BatchFormat';
}

export interface PartResponse {
  status: number;
  /** In wire order. */
  headers: Array<[string, string]>;
  body: string;
  contentId?: string;
}

export type BatchResponseItem =
  { kind: 'operation'; response: PartResponse } | { kind: 'changeset'; responses: PartResponse[] };

/** `multipart/mixed; boundary="batch_x"` → `batch_x` (quotes optional, any parameter order). */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/mixed\s*;/i.test(contentType)) return undefined;
  const m = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

/** Splits a multipart body into the raw text of each part (without the line break that precedes a delimiter). */
export function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  let pos = findDelimiter(body, delimiter, 0);
  if (pos < 0) throw new BatchFormatError(`The multipart body does not contain the boundary '${boundary}'.`);
  for (;;) {
    let after = pos + delimiter.length;
    if (body.startsWith('--', after)) return parts; // close delimiter
    const eol = body.indexOf('\n', after);
    if (eol < 0) throw new BatchFormatError('The multipart body ends without a close delimiter.');
    after = eol + 1;
    const next = findDelimiter(body, delimiter, after);
    if (next < 0) throw new BatchFormatError('The multipart body ends without a close delimiter.');
    let end = next;
    if (end > after && body[end - 1] === '\n') end--;
    if (end > after && body[end - 1] === '\r') end--;
    parts.push(body.slice(after, end));
    pos = next;
  }
}

/** A delimiter counts only at the start of a line. */
function findDelimiter(body: string, delimiter: string, from: number): number {
  let i = body.indexOf(delimiter, from);
  while (i > 0 && body[i - 1] !== '\n') i = body.indexOf(delimiter, i + 1);
  return i;
}

/** Splits `headers CRLF CRLF rest`; tolerates LF and a part with no blank line (headers only). */
function splitHead(text: string): { head: string; rest: string } {
  const m = /\r?\n\r?\n/.exec(text);
  if (!m) return { head: text, rest: '' };
  return { head: text.slice(0, m.index), rest: text.slice(m.index + m[0].length) };
}

function parseHeaderLines(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.length > 0);
}

function parseOperation(mimeHeaders: Record<string, string>, content: string): BatchOperation {
  const start = content.replace(/^(\r?\n)+/, '');
  const { head, rest } = splitHead(start);
  const [requestLine, ...headerLines] = head.split(/\r?\n/);
  const m = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/\d\.\d)?\s*$/.exec(requestLine ?? '');
  if (!m) throw new BatchFormatError(`The request line '${requestLine ?? ''}' of a batch part is not valid.`);
  return {
    kind: 'operation',
    contentId: mimeHeaders['content-id'],
    method: m[1]!,
    url: m[2]!,
    headers: parseHeaderLines(headerLines),
    body: rest.replace(/[\r\n]+$/, ''),
  };
}

export function parseBatchRequest(body: string, boundary: string): BatchItem[] {
  return splitMultipart(body, boundary).map((part): BatchItem => {
    const { head, rest } = splitHead(part);
    const mime = parseHeaderLines(lines(head));
    const changeSetBoundary = boundaryOf(mime['content-type']);
    if (changeSetBoundary) {
      const operations = splitMultipart(rest, changeSetBoundary).map((inner) => {
        const split = splitHead(inner);
        return parseOperation(parseHeaderLines(lines(split.head)), split.rest);
      });
      for (const op of operations) {
        if (op.method === 'GET') throw new BatchFormatError('GET requests are not allowed inside a change set.');
      }
      return { kind: 'changeset', operations };
    }
    return parseOperation(mime, rest);
  });
}

export function operationCount(items: BatchItem[]): number {
  return items.reduce((n, item) => n + (item.kind === 'changeset' ? item.operations.length : 1), 0);
}

const CRLF = '\r\n';

function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
}

/** `headers CRLF CRLF body CRLF`: a body-less part thus ends with an empty line, as in the fixtures. */
function writeHttpPart(out: string[], part: PartResponse): void {
  out.push('Content-Type: application/http', CRLF, 'Content-Transfer-Encoding: binary', CRLF);
  if (part.contentId !== undefined) out.push('Content-ID: ', part.contentId, CRLF);
  out.push(CRLF, statusLine(part.status), CRLF);
  for (const [name, value] of part.headers) out.push(name, ': ', value, CRLF);
  out.push(CRLF, part.body, CRLF);
}

export function serializeBatchResponse(
  items: BatchResponseItem[],
  newGuid: () => string,
): { boundary: string; body: string } {
  const boundary = `batchresponse_${newGuid()}`;
  const out: string[] = [];
  for (const item of items) {
    out.push('--', boundary, CRLF);
    if (item.kind === 'operation') {
      writeHttpPart(out, item.response);
      continue;
    }
    const cs = `changesetresponse_${newGuid()}`;
    out.push('Content-Type: multipart/mixed; boundary=', cs, CRLF, CRLF);
    for (const response of item.responses) {
      out.push('--', cs, CRLF);
      writeHttpPart(out, response);
    }
    out.push('--', cs, '--', CRLF);
  }
  out.push('--', boundary, '--', CRLF);
  return { boundary, body: out.join('') };
}
