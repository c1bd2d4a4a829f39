/**
 * Reads the wire fixtures in test/fixtures/dataverse (a copy of shared/reference/fixtures) and compares an emulator answer with them:
 * status, the headers that matter and the body shape, with ids, timestamps, ETag numbers, the org URL,
 * the API version and multipart boundaries normalised away.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { boundaryOf, splitMultipart } from '../../../../dev/emulator/batchCodec';

export const FIXTURES = process.env['DATAVERSE_FIXTURES'] ?? join(__dirname, '../../../fixtures/dataverse');

export interface FixtureRequest {
  method: string;
  /** Target with the org placeholder replaced by the emulator URL. */
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface FixtureResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const ORG_PLACEHOLDER =
  /\[Organization (?:URI|Uri)\]|https:\/\/yourorg\.api\.crm\.dynamics\.com|https:\/\/[0-9a-f-]+\.crm\d*\.dynamics\.com/gi;

export function readFixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

/** Head lines are `Name: value`; the body starts at the first blank line, or at the first line that is not a header (some fixtures omit the blank line). */
function splitMessage(text: string): { first: string; headers: Record<string, string>; body: string } {
  const lines = text.split(/\r?\n/);
  const first = lines.shift()!.trim();
  const headers: Record<string, string> = {};
  while (lines.length > 0) {
    const line = lines[0]!;
    if (line.trim() === '') {
      lines.shift();
      break;
    }
    const m = /^([A-Za-z][\w.-]*):\s*(.*?)\s*$/.exec(line);
    if (!m) break;
    headers[m[1]!.toLowerCase()] = m[2]!;
    lines.shift();
  }
  return { first, headers, body: lines.join('\n').replace(/\s+$/, '') };
}

/** `replacements` fill Microsoft's placeholders (`<accountid>`, `<file continuation token ...>`) with live values. */
export function parseRequestFixture(
  name: string,
  orgUrl: string,
  replacements: Record<string, string> = {},
): FixtureRequest {
  let text = readFixture(name);
  for (const [placeholder, value] of Object.entries(replacements)) text = text.split(placeholder).join(value);
  const { first, headers, body } = splitMessage(text);
  const m = /^([A-Z]+)\s+(.+?)(?:\s+HTTP\/1\.1)?$/.exec(first)!;
  const target = m[2]!.replace(ORG_PLACEHOLDER, orgUrl);
  const isMultipart = boundaryOf(headers['content-type']) !== undefined;
  // Multipart bodies go on the wire with CRLF (the fixtures were published with LF).
  // Bodies may name records by absolute URL (`"@odata.id": "[Organization URI]/api/data/v9.0/opportunities(..)"`).
  const wireBody = (isMultipart ? `${body}\n`.replace(/\r?\n/g, '\r\n') : body).replace(ORG_PLACEHOLDER, orgUrl);
  delete headers['content-length'];
  delete headers['authorization'];
  return { method: m[1]!, url: target.startsWith('/') ? orgUrl + target : target, headers, body: wireBody };
}

export function parseResponseFixture(name: string): FixtureResponse {
  const text = readFixture(name);
  if (name.endsWith('.json')) return { status: 0, headers: {}, body: text };
  if (name.endsWith('.txt')) {
    // "400 Bad Request — {json}"
    const m = /^(\d{3})[^{]*(\{.*\})\s*$/s.exec(text)!;
    return { status: Number(m[1]), headers: {}, body: m[2]! };
  }
  const { first, headers, body } = splitMessage(text);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(first)![1]), headers, body };
}

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-(?:[0-9a-f]{4}-)?[0-9a-f]{12}/gi;

/** Replaces what legitimately differs between two captures of the same exchange. */
export function normalize(text: string, orgUrl: string): string {
  return text
    .split(orgUrl)
    .join('<org>')
    .replace(ORG_PLACEHOLDER, '<org>')
    .replace(/\/api\/data\/v9\.\d\//g, '/api/data/v9.x/')
    .replace(/(batchresponse|changesetresponse)_[0-9a-f-]+/g, '$1_<boundary>')
    .replace(GUID, '<guid>')
    .replace(/W\/(\\?")\d+(\\?")/g, 'W/$1<n>$2');
}

export function normalizeJson(value: unknown, orgUrl: string): unknown {
  if (typeof value === 'string') return normalize(value, orgUrl);
  if (Array.isArray(value)) return value.map((v) => normalizeJson(v, orgUrl));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalizeJson(v, orgUrl)]));
  return value;
}

/** Headers whose presence and (normalised) value a client may rely on. */
export const HEADERS_THAT_MATTER = [
  'odata-version',
  'odata-entityid',
  'location',
  'content-type',
  'preference-applied',
  'etag',
  'req_id',
  'content-id',
];

export interface ComparablePart {
  status: number;
  headers: Record<string, string>;
  body: string;
  contentId?: string;
}

/** Flattens a `$batch` response (change sets included) into its HTTP parts, in order. */
export function batchParts(body: string, boundary: string): ComparablePart[] {
  const out: ComparablePart[] = [];
  for (const part of splitMultipart(body, boundary)) {
    const head = splitMessage(`MIME\n${part}`);
    const inner = boundaryOf(head.headers['content-type']);
    if (inner) {
      const nested = head.body.replace(/\r?\n/g, '\r\n') + '\r\n';
      out.push(...batchParts(nested, inner));
      continue;
    }
    const http = splitMessage(head.body);
    out.push({
      status: Number(/^HTTP\/1\.1 (\d{3})/.exec(http.first)![1]),
      headers: http.headers,
      body: http.body,
      contentId: head.headers['content-id'],
    });
  }
  return out;
}

export function parseJsonOrText(text: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
