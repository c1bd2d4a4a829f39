import { expect } from '@jest/globals';
import { startEmulator, type EmulatorHandle, type EmulatorStats } from '../../../dev/emulator/index';
import { auth, startWidgetEmulator, unsignedJwt, type WidgetRoute } from './testRoute';

let emulator: EmulatorHandle;
let widgets: WidgetRoute;

beforeAll(async () => {
  ({ emulator, widgets } = await startWidgetEmulator({ port: 0 }));
});
afterAll(() => emulator.close());

describe('emulator HTTP shell', () => {
  test('prints its addresses', () => {
    expect(emulator.url).toBe(`http://127.0.0.1:${emulator.port}`);
    expect(emulator.webApiUrl).toBe(`${emulator.url}/api/data/v9.2/`);
  });

  test('a create answers 204 with OData-EntityId and the Dataverse headers on every response', async () => {
    const res = await fetch(`${emulator.webApiUrl}widgets`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: '{"name":"a"}',
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('odata-entityid')).toMatch(
      new RegExp(`^${emulator.url}/api/data/v9.2/widgets\\([0-9a-f-]{36}\\)$`),
    );
    expect(res.headers.get('location')).toBeNull(); // Location only inside $batch
    expect(res.headers.get('odata-version')).toBe('4.0');
    expect(res.headers.get('req_id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-ms-service-request-id')).toBe(res.headers.get('req_id'));
    expect(res.headers.get('x-ms-dop-hint')).toBe('4');
    expect(Number(res.headers.get('x-ms-ratelimit-burst-remaining-xrm-requests'))).toBeLessThan(6000);
    expect(res.headers.get('x-ms-ratelimit-time-remaining-xrm-requests')).toBe('1200000');
  });

  test('JSON bodies carry the OData content type; GET 200 adds odata.streaming', async () => {
    const created = await fetch(`${emulator.webApiUrl}widgets`, {
      method: 'POST',
      headers: auth,
      body: '{"name":"b"}',
    });
    const id = /\(([^)]+)\)/.exec(created.headers.get('odata-entityid')!)![1];
    const got = await fetch(`${emulator.url}/api/data/v9.0/widgets(${id})`, { headers: auth });
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/json; odata.metadata=minimal; odata.streaming=true');
    expect(await got.json()).toMatchObject({ name: 'b', widgetid: id });
    const bad = await fetch(`${emulator.webApiUrl}widgets`, {
      method: 'POST',
      headers: auth,
      body: '{"name":"much too long"}',
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/json; odata.metadata=minimal');
    expect(await bad.json()).toEqual({
      error: { code: '0x80044331', message: expect.stringContaining('exceeded the maximum allowed length') },
    });
  });

  test('v9.0, v9.1 and v9.2 are served; paths are percent-decoded and header names lower-cased for routes', async () => {
    for (const v of ['9.0', '9.1', '9.2']) {
      const res = await fetch(`${emulator.url}/api/data/v${v}/widgets(abc%20def)?$select=name&x=%27a%27`, {
        headers: { ...auth, 'MSCRM.BypassBusinessLogicExecution': 'CustomSync' },
      });
      expect(res.status).toBe(404);
      await res.arrayBuffer();
    }
    const last = widgets.seen.at(-1)!;
    expect(last.path).toBe('widgets(abc def)');
    expect(last.query.get('$select')).toBe('name');
    expect(last.query.get('x')).toBe("'a'");
    expect(last.headers['mscrm.bypassbusinesslogicexecution']).toBe('CustomSync');
  });

  test('unknown segments and paths outside the Web API answer 404 in the Dataverse error shape', async () => {
    const res = await fetch(`${emulator.webApiUrl}nothinghere`, { headers: auth });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: '0x80060888', message: "Resource not found for the segment 'nothinghere'." },
    });
    const outside = await fetch(`${emulator.url}/api/data/v8.2/widgets`, { headers: auth });
    expect(outside.status).toBe(404);
    await outside.arrayBuffer();
  });

  test('no bearer token → 401 with a WWW-Authenticate challenge naming the authority and resource', async () => {
    const res = await fetch(`${emulator.webApiUrl}widgets`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer authorization_uri=${emulator.url}/_identity/00000000-0000-4000-8000-00000000e1d1/oauth2/authorize, resource_id=${emulator.url}`,
    );
    const basic = await fetch(`${emulator.webApiUrl}widgets`, { headers: { Authorization: 'Basic abc' } });
    expect(basic.status).toBe(401);
  });

  test('the caller identity is the token subject (oid preferred), decoded without verification', async () => {
    const token = unsignedJwt({ sub: 'subject-1', oid: 'object-1', aud: emulator.url });
    await (
      await fetch(`${emulator.webApiUrl}widgets`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
        body: '{}',
      })
    ).arrayBuffer();
    expect(widgets.seen.at(-1)!.callerId).toBe('object-1');
    const subOnly = unsignedJwt({ sub: 'subject-2' });
    await (
      await fetch(`${emulator.webApiUrl}widgets`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${subOnly}` },
        body: '{}',
      })
    ).arrayBuffer();
    expect(widgets.seen.at(-1)!.callerId).toBe('subject-2');
  });

  test('strict auth accepts only tokens signed by the mounted local identity, for this org', async () => {
    emulator.configure({ strictAuth: true });
    try {
      const unsigned = await fetch(`${emulator.webApiUrl}widgets(x)`, {
        headers: { Authorization: `Bearer ${unsignedJwt({ sub: 'forged', aud: emulator.url })}` },
      });
      expect(unsigned.status).toBe(401);
      expect(unsigned.headers.get('www-authenticate')).toContain('authorization_uri=');
      const wrongAudience = await emulator.identity.issueToken({ sub: 'app', aud: 'https://other.crm.dynamics.com' });
      expect(
        (await fetch(`${emulator.webApiUrl}widgets(x)`, { headers: { Authorization: `Bearer ${wrongAudience}` } }))
          .status,
      ).toBe(401);
      const issued = await emulator.identity.issueToken({ sub: 'app-sub', oid: 'app-object', aud: emulator.url });
      const ok = await fetch(`${emulator.webApiUrl}widgets(x)`, { headers: { Authorization: `Bearer ${issued}` } });
      expect(ok.status).toBe(404); // authenticated; the widget does not exist
      expect(widgets.seen.at(-1)!.callerId).toBe('app-object');
      // The token endpoint is served by the emulator itself (client credentials, as msal-node calls it).
      const tokenRes = await fetch(`${emulator.url}/_identity/00000000-0000-4000-8000-00000000e1d1/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: 'loader-app',
          client_secret: 's3cret',
          scope: `${emulator.url}/.default`,
        }).toString(),
      });
      expect(tokenRes.status).toBe(200);
      const { access_token } = (await tokenRes.json()) as { access_token: string };
      const viaEndpoint = await fetch(`${emulator.webApiUrl}widgets(x)`, {
        headers: { Authorization: `Bearer ${access_token}` },
      });
      expect(viaEndpoint.status).toBe(404);
    } finally {
      emulator.configure({ strictAuth: false });
    }
  });

  test('control endpoints: stats, config (validated) and reset', async () => {
    const stats = (await (await fetch(`${emulator.url}/_emulator/stats`)).json()) as EmulatorStats;
    expect(stats.requests).toBeGreaterThan(0);
    expect(stats.statuses['204']).toBeGreaterThan(0);
    const cfg = await fetch(`${emulator.url}/_emulator/config`, {
      method: 'POST',
      body: JSON.stringify({ dopHint: 12, limits: { concurrency: 7 } }),
    });
    expect(cfg.status).toBe(200);
    expect(await cfg.json()).toMatchObject({ dopHint: 12, limits: { concurrency: 7, requestsPerWindow: 6000 } });
    const res = await fetch(`${emulator.webApiUrl}widgets(x)`, { headers: auth });
    expect(res.headers.get('x-ms-dop-hint')).toBe('12');
    await res.arrayBuffer();
    const invalid = await fetch(`${emulator.url}/_emulator/config`, {
      method: 'POST',
      body: JSON.stringify({ dopHint: -1 }),
    });
    expect(invalid.status).toBe(400);
    await invalid.arrayBuffer();
    emulator.configure({ dopHint: 4, limits: { concurrency: 52 } });
    const reset = await fetch(`${emulator.url}/_emulator/reset`, { method: 'POST' });
    expect(reset.status).toBe(204);
    expect(emulator.stats().requests).toBe(0);
  });

  test('a route that throws answers 500 in the Dataverse error shape', async () => {
    const e2 = await startEmulator(
      {},
      {
        routes: [
          () => {
            throw new Error('boom');
          },
        ],
      },
    );
    try {
      const res = await fetch(`${e2.webApiUrl}anything`, { headers: auth });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({
        error: { code: '0x80040216', message: 'An unexpected error occurred. boom' },
      });
    } finally {
      await e2.close();
    }
  });
});
