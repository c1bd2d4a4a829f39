/**
 * Pure parsing of HTTP/1.1 message text (start line, headers, body), as found inside `$batch` parts.
 * Tolerant of what real and documented Dataverse traffic contains: LF or CRLF line ends, trailing spaces,
 * arbitrary reason phrases (only the status code is read) and, in Microsoft's published examples,
 * a missing blank line between the headers and the body.
 */

export type HeaderMap = Record<string, string>;

export interface HttpHead {
  startLine: string;
  /** Header names lower-cased; a repeated header keeps the last value. */
  headers: HeaderMap;
  body: string;
}

const headerLine = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+):[ \t]*(.*)$/;

/** Splits message text into start line, headers and body. */
export function parseHttpHead(text: string): HttpHead {
  const rest = text.replace(/^(\r?\n)+/, '');
  let cursor = 0;
  const headers: HeaderMap = {};
  let startLine = '';
  let first = true;
  for (;;) {
    const newline = rest.indexOf('\n', cursor);
    const end = newline === -1 ? rest.length : newline;
    const line = rest.slice(cursor, end).replace(/\r$/, '');
    const next = newline === -1 ? rest.length : newline + 1;
    if (first) {
      startLine = line.trimEnd();
      first = false;
      cursor = next;
      if (newline === -1) break;
      continue;
    }
    if (line.trim() === '') {
      cursor = next;
      break;
    }
    const match = headerLine.exec(line);
    if (!match) break; // no blank line before the body (seen in Microsoft's examples)
    headers[match[1]!.toLowerCase()] = match[2]!.trimEnd();
    cursor = next;
    if (newline === -1) break;
  }
  return { startLine, headers, body: rest.slice(cursor) };
}

/** Reads the status code of `HTTP/1.1 204 No Content` (reason phrase ignored: Dataverse's vary). */
export function parseStatusLine(line: string): number {
  const match = /^HTTP\/\d(?:\.\d)?\s+(\d{3})\b/i.exec(line.trim());
  if (!match) throw new SyntaxError(`Not an HTTP status line: ${JSON.stringify(line.slice(0, 80))}`);
  return Number(match[1]);
}

/** Reads `POST /api/data/v9.2/tasks HTTP/1.1`. */
export function parseRequestLine(line: string): { method: string; url: string } {
  const match = /^([A-Z]+)\s+(.+?)(?:\s+HTTP\/\d(?:\.\d)?)?$/i.exec(line.trim());
  if (!match) throw new SyntaxError(`Not an HTTP request line: ${JSON.stringify(line.slice(0, 80))}`);
  return { method: match[1]!.toUpperCase(), url: match[2]! };
}

/** The `boundary` parameter of a multipart Content-Type, quoted or not. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : undefined;
}

export function isMultipart(contentType: string | undefined): boolean {
  return !!contentType && /^\s*multipart\/mixed/i.test(contentType);
}

/** Parses a whole HTTP response message (status line, headers, body), e.g. a fixture file. */
export function parseHttpResponseMessage(text: string): { status: number; headers: HeaderMap; body: string } {
  const head = parseHttpHead(text);
  return { status: parseStatusLine(head.startLine), headers: head.headers, body: head.body };
}
