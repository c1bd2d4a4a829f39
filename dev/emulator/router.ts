/**
 * Turns request targets into route requests and asks the mounted routes in turn. The same path
 * serves a call made alone and one made inside `$batch`.
 */
import { faults } from './records/faults';
import { dataverseError, type EmulatorRequest, type EmulatorResponse, type EmulatorRoute } from './types';

/** `/api/data/v9.0/`, `v9.1` and `v9.2` are all served. */
export const WEB_API_PREFIX = /^\/api\/data\/v9\.[0-2]\//i;

export interface WebApiTarget {
  /** Relative to the Web API base, percent-decoded, no leading slash. */
  path: string;
  query: URLSearchParams;
}

/**
 * Accepts `http://host/api/data/v9.2/x?y`, `/api/data/v9.2/x`, and relative `x?y` (as in `$batch` parts and binds).
 * Returns undefined when an absolute or rooted target is outside the Web API.
 */
export function toWebApiTarget(target: string): WebApiTarget | undefined {
  let rest = target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]+/i, '');
  if (rest.startsWith('/')) {
    const m = WEB_API_PREFIX.exec(rest);
    if (!m) return undefined;
    rest = rest.slice(m[0].length);
  }
  const q = rest.indexOf('?');
  const rawPath = q < 0 ? rest : rest.slice(0, q);
  const rawQuery = q < 0 ? '' : rest.slice(q + 1);
  return { path: percentDecode(rawPath), query: new URLSearchParams(rawQuery) };
}

function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // Malformed escapes pass through; the route answers with its own error.
  }
}

export type Dispatch = (req: EmulatorRequest) => Promise<EmulatorResponse>;

/** The first route that answers wins; none → Dataverse's 404 for an unknown segment; a throw → 500. */
export function createDispatch(routes: () => EmulatorRoute[]): Dispatch {
  return async (req) => {
    try {
      for (const route of routes()) {
        const res = await route(req);
        if (res) return res;
      }
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      return dataverseError(500, '0x80040216', `An unexpected error occurred. ${detail}`.trim());
    }
    const segment = req.path.split(/[/(]/)[0] ?? req.path;
    return faults.resourceNotFound(segment).toResponse();
  };
}
