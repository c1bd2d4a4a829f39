/**
 * ASP.NET Core route templates as the Functions host uses them for HTTP triggers:
 * literal segments (case-insensitive), `{id}`, `{id?}`, `{id:int}`, `{id:guid?}`, `{*rest}` / `{**rest}` (catch-all),
 * constraints chained with `:`. Pure: compiled once, matched per request.
 */

type Constraint = (value: string) => boolean;

type Segment =
  | { kind: 'literal'; text: string }
  | { kind: 'parameter'; name: string; optional: boolean; constraints: Constraint[]; catchAll: boolean };

export interface RouteTemplate {
  template: string;
  segments: Segment[];
  /** Lower sorts first: literals beat constrained parameters beat plain parameters beat catch-alls (ASP.NET precedence). */
  precedence: number[];
}

export class RouteTemplateError extends Error {
  readonly code = 'InvalidRouteTemplate';
}

const guid = /^[{(]?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}[})]?$/i;

function constraintOf(spec: string, template: string): Constraint {
  const m = /^(\w+)(?:\((.*)\))?$/s.exec(spec);
  if (!m) throw new RouteTemplateError(`Unknown route constraint '${spec}' in '${template}'`);
  const name = m[1]!.toLowerCase();
  const args = m[2] === undefined ? [] : name === 'regex' ? [m[2]] : m[2].split(',').map((a) => a.trim());
  const num = (i: number) => Number(args[i]);
  switch (name) {
    case 'int':
      return (v) => /^-?\d+$/.test(v) && Math.abs(Number(v)) <= 2 ** 31;
    case 'long':
      return (v) => /^-?\d+$/.test(v);
    case 'decimal':
    case 'double':
    case 'float':
      return (v) => /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v);
    case 'bool':
      return (v) => /^(true|false)$/i.test(v);
    case 'guid':
      return (v) => guid.test(v);
    case 'alpha':
      return (v) => /^[a-z]+$/i.test(v);
    case 'datetime':
      return (v) => !Number.isNaN(Date.parse(v));
    case 'min':
      return (v) => /^-?\d+$/.test(v) && Number(v) >= num(0);
    case 'max':
      return (v) => /^-?\d+$/.test(v) && Number(v) <= num(0);
    case 'range':
      return (v) => /^-?\d+$/.test(v) && Number(v) >= num(0) && Number(v) <= num(1);
    case 'length':
      return args.length === 1 ? (v) => v.length === num(0) : (v) => v.length >= num(0) && v.length <= num(1);
    case 'minlength':
      return (v) => v.length >= num(0);
    case 'maxlength':
      return (v) => v.length <= num(0);
    case 'regex': {
      const re = new RegExp(args[0]!, 'i');
      return (v) => re.test(v);
    }
    default:
      throw new RouteTemplateError(`Unknown route constraint '${spec}' in '${template}'`);
  }
}

function parseParameter(body: string, template: string): Segment {
  const catchAll = body.startsWith('*');
  const rest = body.replace(/^\*{1,2}/, '');
  const [rawName, ...specs] = splitConstraints(rest);
  let name = rawName!;
  let optional = false;
  if (name.endsWith('?')) {
    optional = true;
    name = name.slice(0, -1);
  }
  const lastSpec = specs[specs.length - 1];
  if (lastSpec?.endsWith('?')) {
    optional = true;
    specs[specs.length - 1] = lastSpec.slice(0, -1);
  }
  if (!/^\w+$/.test(name)) throw new RouteTemplateError(`Invalid route parameter '{${body}}' in '${template}'`);
  return {
    kind: 'parameter',
    name,
    optional: optional || catchAll,
    catchAll,
    constraints: specs.map((s) => constraintOf(s, template)),
  };
}

/** Splits `id:int:min(1)` on colons that are not inside parentheses (regex constraints may contain colons). */
function splitConstraints(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ':' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

export function compileRouteTemplate(template: string): RouteTemplate {
  const trimmed = template.replace(/^[~/]+|\/+$/g, '');
  const segments: Segment[] =
    trimmed === ''
      ? []
      : trimmed.split('/').map((part) => {
          const param = /^\{(.+)\}$/.exec(part);
          if (param) return parseParameter(param[1]!, template);
          if (/[{}]/.test(part))
            throw new RouteTemplateError(`Complex segments are not supported: '${part}' in '${template}'`);
          return { kind: 'literal', text: part };
        });
  segments.forEach((s, i) => {
    if (s.kind === 'parameter' && s.catchAll && i !== segments.length - 1) {
      throw new RouteTemplateError(`A catch-all parameter must be the last segment: '${template}'`);
    }
  });
  const precedence = segments.map((s) =>
    s.kind === 'literal' ? 1 : s.catchAll ? 5 : s.constraints.length > 0 ? 2 : 3,
  );
  return { template, segments, precedence };
}

/** Matches a decoded path (no prefix, no query) and returns the route values, or undefined. */
export function matchRoute(route: RouteTemplate, path: string): Record<string, string> | undefined {
  const parts = path
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .filter((p, _i, all) => !(p === '' && all.length === 1))
    .map(decodeSegment);
  const values: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const segment = route.segments[i]!;
    const part = parts[i];
    if (segment.kind === 'literal') {
      if (part === undefined || part.toLowerCase() !== segment.text.toLowerCase()) return undefined;
      continue;
    }
    if (segment.catchAll) {
      const rest = parts.slice(i).join('/');
      if (rest !== '') values[segment.name] = rest;
      return segment.constraints.every((c) => rest === '' || c(rest)) ? values : undefined;
    }
    if (part === undefined || part === '') {
      // Only trailing optional parameters may be absent.
      if (!segment.optional || route.segments.slice(i).some((s) => s.kind === 'literal' || !s.optional))
        return undefined;
      return values;
    }
    if (!segment.constraints.every((c) => c(part))) return undefined;
    values[segment.name] = part;
  }
  return parts.length === route.segments.length || (route.segments.length === 0 && parts.length === 0)
    ? values
    : undefined;
}

/** Sort order for route selection: more specific templates first. */
export function compareRoutes(a: RouteTemplate, b: RouteTemplate): number {
  const n = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < n; i++) {
    const diff = (a.precedence[i] ?? 0) - (b.precedence[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
