/** Query options on metadata: `$select` (MetadataId always kept), nested `$expand` options, and `$filter` on EntityDefinitions. */
import type { FilterExpression } from '../odata/filter';
import { faults } from './faults';

type Json = Record<string, unknown>;

/** `$select` on a metadata object: the listed properties plus MetadataId (and @odata.type), as Dataverse does. */
export function pick(obj: Json, select: string[] | undefined): Json {
  if (!select) return obj;
  const out: Json = {};
  if ('@odata.type' in obj) out['@odata.type'] = obj['@odata.type'];
  for (const k of select) if (k in obj) out[k] = obj[k];
  out.MetadataId = obj.MetadataId;
  return out;
}
export const selectList = (text: string | null | undefined) =>
  text
    ? text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

/** `Attributes($select=LogicalName),Keys` → [{ name, options }] (nested options are `;`-separated). */
export function parseExpand(text: string | null): { name: string; select?: string[]; expand?: string }[] {
  if (!text) return [];
  const items: string[] = [];
  let depth = 0,
    start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  items.push(text.slice(start));
  return items.map((item) => {
    const m = /^\s*(\w+)\s*(?:\((.*)\))?\s*$/.exec(item);
    if (!m) throw faults.badQuery(`Syntax error in $expand: '${item}'.`);
    const options = new Map(
      (m[2] ?? '')
        .split(';')
        .filter(Boolean)
        .map((o) => {
          const i = o.indexOf('=');
          return [o.slice(0, i).trim(), o.slice(i + 1)] as const;
        }),
    );
    return { name: m[1]!, select: selectList(options.get('$select')), expand: options.get('$expand') };
  });
}

export function matches(e: FilterExpression, obj: Json): boolean {
  switch (e.kind) {
    case 'and':
      return e.items.every((item) => matches(item, obj));
    case 'or':
      return e.items.some((item) => matches(item, obj));
    case 'not':
      return !matches(e.operand, obj);
    case 'call':
      return (
        typeof obj[e.property] === 'string' && (obj[e.property] as string).toLowerCase().includes(e.value.toLowerCase())
      );
    case 'compare': {
      const v = obj[e.property];
      const l = e.literal.type === 'null' ? null : e.literal.value;
      const eq = typeof v === 'string' && typeof l === 'string' ? v.toLowerCase() === l.toLowerCase() : v === l;
      if (e.op === 'eq') return eq;
      if (e.op === 'ne') return !eq;
      throw faults.badQuery(`The emulator supports only eq and ne in EntityDefinitions $filter.`);
    }
  }
}
