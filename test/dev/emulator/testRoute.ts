/**
 * A small route of the tests' own: an entity set `widgets` kept in a Map, enough to exercise the
 * transport, `$batch` framing and limits without the record service. `name` longer than 10 → 400.
 */
import { randomUUID } from 'node:crypto';
import { startEmulator, type EmulatorHandle, type EmulatorOptions } from '../../../dev/emulator/index';
import {
  dataverseError,
  type EmulatorRequest,
  type EmulatorResponse,
  type EmulatorRoute,
} from '../../../dev/emulator/types';

export interface WidgetRoute {
  route: EmulatorRoute;
  widgets: Map<string, Record<string, unknown>>;
  seen: EmulatorRequest[];
}

/** A request as the emulator hands it to its routes (no headers; caller `c` unless named). */
export function routeRequest(
  method: string,
  path: string,
  options: { query?: string; body?: string; callerId?: string } = {},
): EmulatorRequest {
  return {
    method,
    path,
    query: new URLSearchParams(options.query),
    headers: {},
    body: options.body ?? '',
    callerId: options.callerId ?? 'c',
  };
}

export function createWidgetRoute(orgUrl: () => string): WidgetRoute {
  const widgets = new Map<string, Record<string, unknown>>();
  const seen: EmulatorRequest[] = [];
  const route: EmulatorRoute = (req): EmulatorResponse | undefined => {
    const m = /^widgets(?:\(([^)]+)\))?$/.exec(req.path);
    if (!m) return undefined;
    seen.push(req);
    if (req.method === 'POST' && !m[1]) {
      const body = JSON.parse(req.body || '{}') as Record<string, unknown>;
      if (typeof body['name'] === 'string' && body['name'].length > 10) {
        return dataverseError(
          400,
          '0x80044331',
          "A validation error occurred.  The length of the 'name' attribute of the 'widget' entity exceeded the maximum allowed length of '10'.",
        );
      }
      const id = randomUUID();
      widgets.set(id, { ...body, widgetid: id });
      return { status: 204, headers: { 'OData-EntityId': `${orgUrl()}/api/data/v9.2/widgets(${id})` } };
    }
    if (req.method === 'GET' && m[1]) {
      const w = widgets.get(m[1]);
      return w
        ? { status: 200, body: { '@odata.context': `${orgUrl()}/api/data/v9.2/$metadata#widgets/$entity`, ...w } }
        : dataverseError(404, '0x80040217', `widget With Id = ${m[1]} Does Not Exist`);
    }
    if (req.method === 'PATCH' && m[1]) {
      const w = widgets.get(m[1]);
      if (!w) return dataverseError(404, '0x80040217', `widget With Id = ${m[1]} Does Not Exist`);
      Object.assign(w, JSON.parse(req.body || '{}'));
      return { status: 204, headers: { 'OData-EntityId': `${orgUrl()}/api/data/v9.2/widgets(${m[1]})` } };
    }
    return dataverseError(405, '', 'Method not allowed.');
  };
  return { route, widgets, seen };
}

/** An emulator serving the widget route (its OData-EntityId links use the emulator's own URL). */
export async function startWidgetEmulator(
  options: EmulatorOptions = {},
): Promise<{ emulator: EmulatorHandle; widgets: WidgetRoute }> {
  let url = '';
  const widgets = createWidgetRoute(() => url);
  const emulator = await startEmulator(options, { routes: [widgets.route] });
  url = emulator.url;
  return { emulator, widgets };
}

export const TOKEN = 'test-token';
export const auth = { Authorization: `Bearer ${TOKEN}` };

/** An unsigned JWT (the emulator decodes without verifying by default). */
export function unsignedJwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
}

/** Builds a `$batch` body with CRLF line endings. */
export function batchBody(
  boundary: string,
  parts: Array<string | { changeset: string; operations: string[] }>,
): string {
  const out: string[] = [];
  for (const p of parts) {
    out.push(`--${boundary}`);
    if (typeof p === 'string') {
      out.push('Content-Type: application/http', 'Content-Transfer-Encoding: binary', '', p);
    } else {
      out.push(`Content-Type: multipart/mixed; boundary=${p.changeset}`, '');
      p.operations.forEach((op, i) =>
        out.push(
          `--${p.changeset}`,
          'Content-Type: application/http',
          'Content-Transfer-Encoding: binary',
          `Content-ID: ${i + 1}`,
          '',
          op,
        ),
      );
      out.push(`--${p.changeset}--`);
    }
  }
  out.push(`--${boundary}--`, '');
  return out.join('\r\n');
}

export function createPart(set: string, body: unknown, extraHeaders: string[] = []): string {
  return [
    `POST /api/data/v9.2/${set} HTTP/1.1`,
    'Content-Type: application/json; type=entry',
    ...extraHeaders,
    '',
    JSON.stringify(body),
  ].join('\r\n');
}

/** Polls until check() is true (no fixed sleeps). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

/** The Dataverse error body of a response. */
export async function errorOf(res: Response): Promise<ErrorBody['error']> {
  return ((await res.json()) as ErrorBody).error;
}
