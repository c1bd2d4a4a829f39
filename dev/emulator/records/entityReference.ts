/**
 * OData resource paths as Dataverse reads them: `accounts(<guid>)`, `accounts(accountnumber='A''1')`,
 * `example_records(example_key1=2,example_key2=2)`, and the same forms inside `@odata.bind` / `@odata.id`
 * values (absolute, `/api/data/v9.2/...`, `/set(...)` or `set(...)`).
 */
import { guidPattern, queryErrorCode } from '../odata/filter';
import { DataverseFault, faults } from './faults';

export type KeyLiteral = string | number | boolean | null;
export type KeySpec = { kind: 'id'; id: string } | { kind: 'key'; values: Map<string, KeyLiteral> };

export { guidPattern };
const numberPattern = /^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDfFlL]?$/;

const badSyntax = (text: string) =>
  new DataverseFault(400, queryErrorCode, `Bad Request - Error in query syntax. '${text}'`);

/** Splits a path on `/` outside quoted strings and parentheses. */
export function splitSegments(path: string): string[] {
  const out: string[] = [];
  let depth = 0,
    quoted = false,
    start = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === "'")
      quoted = !quoted; // '' inside a string toggles twice: still correct
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')') depth--;
    else if (!quoted && depth === 0 && c === '/') {
      out.push(path.slice(start, i));
      start = i + 1;
    }
  }
  out.push(path.slice(start));
  return out.filter((s) => s !== '');
}

/** `name(key)` → { name, key }; `name` → { name }. */
export function parseSegment(segment: string): { name: string; key?: string } {
  const open = segment.indexOf('(');
  if (open < 0) return { name: segment };
  if (!segment.endsWith(')')) throw badSyntax(segment);
  return { name: segment.slice(0, open), key: segment.slice(open + 1, -1) };
}

/** Parses one literal at the start of text; returns it with the rest of the text. */
export function readLiteral(text: string): { value: KeyLiteral; rest: string; quoted: boolean } {
  if (text.startsWith("'")) {
    let i = 1,
      value = '';
    for (;;) {
      const next = text.indexOf("'", i);
      if (next < 0) throw badSyntax(text);
      value += text.slice(i, next);
      if (text[next + 1] === "'") {
        value += "'";
        i = next + 2;
        continue;
      }
      return { value, rest: text.slice(next + 1), quoted: true };
    }
  }
  const match = /^[^,)\s]+/.exec(text);
  if (!match) throw badSyntax(text);
  const token = match[0];
  const rest = text.slice(token.length);
  if (token === 'null') return { value: null, rest, quoted: false };
  if (token === 'true' || token === 'false') return { value: token === 'true', rest, quoted: false };
  if (guidPattern.test(token)) return { value: token.toLowerCase(), rest, quoted: false };
  if (numberPattern.test(token)) return { value: Number(token.replace(/[mMdDfFlL]$/, '')), rest, quoted: false };
  throw badSyntax(token);
}

/** Characters a key value can't hold in a URL or a reference (docs/design.md "Key literals"). */
const unaddressable = /[/#<>*%&:\\?+]/;

/** Reads the key between the parentheses of an (already percent-decoded) path segment. */
export function parseKey(raw: string): KeySpec {
  const trimmed = raw.trim();
  if (guidPattern.test(trimmed)) return { kind: 'id', id: trimmed.toLowerCase() };
  const values = new Map<string, KeyLiteral>();
  let rest = trimmed;
  for (;;) {
    const eq = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*/.exec(rest);
    if (!eq) throw badSyntax(raw);
    const literal = readLiteral(rest.slice(eq[0].length));
    const bad = typeof literal.value === 'string' ? unaddressable.exec(literal.value) : null;
    if (bad) throw faults.unaddressableKey(bad[0]);
    values.set(eq[1]!, literal.value);
    rest = literal.rest.trimStart();
    if (rest === '') break;
    if (!rest.startsWith(',')) throw badSyntax(raw);
    rest = rest.slice(1);
  }
  if (values.size === 0) throw badSyntax(raw);
  return { kind: 'key', values };
}

/** Writes a key back in URL form (the OData-EntityId of an upsert by key echoes the request's key). */
export function formatKey(spec: KeySpec): string {
  if (spec.kind === 'id') return spec.id;
  return [...spec.values]
    .map(([k, v]) => `${k}=${typeof v === 'string' && !guidPattern.test(v) ? `'${v.replace(/'/g, "''")}'` : String(v)}`)
    .join(',');
}

/**
 * `https://org/api/data/v9.2/contacts(x)`, `/contacts(x)`, `contacts(x)` → { entitySetName, key }.
 * `@odata.id` and `@odata.bind` values are URLs: like a request path, the reference is split into segments and
 * each is percent-decoded exactly once (OData 4.01 Part 2 §2.1 "URL Parsing"; Microsoft.OData's UriPathParser
 * unescapes each segment), so `'a%40b'` and `'a@b'` name the same value.
 */
export function parseEntityReference(value: string): { entitySetName: string; key: KeySpec } | undefined {
  let path = value.trim();
  path = path.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]+/i, '');
  path = path.replace(/^\/?api\/data\/v\d+(\.\d+)?\//i, '');
  path = path.replace(/^\//, '');
  // A raw '/' splits segments before decoding (an unencoded '/' in a key breaks the reference, as in Dataverse).
  const raw = path.split('/');
  if (raw.length !== 1) throw badSyntax(value);
  path = percentDecode(raw[0]!);
  const segments = splitSegments(path);
  if (segments.length !== 1) return undefined;
  const { name, key } = parseSegment(segments[0]!);
  if (key === undefined) return undefined;
  return { entitySetName: name, key: parseKey(key) };
}

function percentDecode(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    throw badSyntax(text);
  }
}
