/** HTTP triggers (routes, constraints, keys when configured) and a 2-second timer, through the local host. */
import { startAzurite, type AzuriteHandle } from '../../dev/azurite';
import type { HostProcess } from '../../dev/host/hostProcess';
import { peekTexts, sendBase64, startFixtureHost, waitFor } from './hostTestKit';

jest.setTimeout(120_000);

let azurite: AzuriteHandle;
let host: HostProcess;

beforeAll(async () => {
  azurite = await startAzurite();
  host = await startFixtureHost(azurite, {
    fixtures: ['storageApp', 'timerApp', 'httpApp'],
    hostId: 'e2e-http-host',
    env: {
      FUNCTIONS_HOST_KEY: 'host-key-1',
      FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: '200000',
      'AzureWebJobs.switchedOff.Disabled': 'true',
      'azurewebjobs.switchedOffQueue.disabled': '1',
    },
  });
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
});

test('the HTTP base carries the api route prefix', () => {
  expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
});

test('a route parameter with an int constraint answers; with a key configured, function level needs x-functions-key or code', async () => {
  expect((await fetch(`${host.url}/items/42?q=x`)).status).toBe(401);
  expect((await fetch(`${host.url}/items/42`, { headers: { 'x-functions-key': 'wrong' } })).status).toBe(401);
  const byHeader = await fetch(`${host.url}/items/42?q=x`, { headers: { 'x-functions-key': 'host-key-1' } });
  expect(byHeader.status).toBe(200);
  expect(byHeader.headers.get('content-type')).toContain('application/json');
  expect(await byHeader.json()).toEqual({ id: '42', q: 'x', function: 'getItem', triggerMetadata: null });
  expect((await fetch(`${host.url}/items/7?code=host-key-1`)).status).toBe(200);
  expect((await fetch(`${host.url}/items/abc?code=host-key-1`)).status).toBe(404);
  expect((await fetch(`${host.url}/items/42?code=host-key-1`, { method: 'DELETE' })).status).toBe(404);
});

test('anonymous routes need no key; catch-all parameters, request bodies, status, headers and cookies map through', async () => {
  const body = 'x'.repeat(100_000);
  const response = await fetch(`${host.url}/echo/a/b/c`, { method: 'POST', body });
  expect(response.status).toBe(201);
  expect(response.headers.get('x-rest')).toBe('a/b/c');
  expect(response.headers.get('set-cookie')).toBe('seen=1; path=/; httponly');
  expect(await response.text()).toBe(`POST 100000 ${'x'.repeat(20)}`);
  expect((await fetch(`${host.url}/nowhere`)).status).toBe(404);
  expect((await fetch(`${host.url.replace(/\/api$/, '')}/items/42`)).status).toBe(404);
});

test('FUNCTIONS_REQUEST_BODY_SIZE_LIMIT is the body limit: at the limit the function runs, one byte over is 413', async () => {
  const at = await fetch(`${host.url}/echo/x`, { method: 'POST', body: 'y'.repeat(200_000) });
  expect(at.status).toBe(201);
  expect(await at.text()).toMatch(/^POST 200000 /);
  const over = await fetch(`${host.url}/echo/x`, { method: 'POST', body: 'y'.repeat(200_001) });
  expect(over.status).toBe(413);
});

test('repeated query parameters and headers reach the function joined with commas, as the host sends them', async () => {
  const response = await fetch(`${host.url}/details?name=n&dupe=1&dupe=2&DUPE=3&empty=`, {
    headers: { 'x-dupe': 'a' },
  });
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({
    query: { name: 'n', dupe: '1,2,3', empty: '' },
    dupe: '1,2,3',
    dupeAll: ['1,2,3'],
    headerDupe: 'a',
  });
});

test('a GET, and a POST without content, carry no body; a POST with content carries it', async () => {
  const get = await fetch(`${host.url}/details`);
  expect(get.status).toBe(200);
  expect(await get.json()).toMatchObject({ method: 'GET', bodyIsNull: true, text: null });
  const empty = await fetch(`${host.url}/details`, { method: 'POST', body: '' });
  expect(await empty.json()).toMatchObject({ method: 'POST', bodyIsNull: true });
  const full = await fetch(`${host.url}/details`, { method: 'POST', body: 'abc' });
  expect(await full.json()).toMatchObject({ method: 'POST', bodyIsNull: false, text: 'abc' });
  const head = await fetch(`${host.url}/details`, { method: 'HEAD' });
  expect(head.status).toBe(200);
  expect(await head.text()).toBe('');
  expect(host.output()).not.toContain('Discarding the body');
});

test('cookies are written as the host writes them (ASP.NET Core SetCookieHeaderValue: path=/ by default, lower-case attributes, escaped values)', async () => {
  const response = await fetch(`${host.url}/cookieJar`);
  expect(response.status).toBe(200);
  expect(response.headers.getSetCookie()).toEqual([
    'plain=a%20b%3Bc; max-age=200000; path=/',
    'rooted=v; max-age=0; path=/',
    'lax=v; path=/; samesite=lax',
    'strict=v; path=/; secure; samesite=strict; httponly',
    'none=v; domain=example.com; path=/x; samesite=none',
    'dated=v; expires=Wed, 02 Jan 2030 03:04:05 GMT; path=/',
  ]);
});

test('a function disabled by AzureWebJobs.<name>.Disabled is listed as disabled and never invoked (404 for HTTP)', async () => {
  expect(host.functions).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ name: 'switchedOff', disabled: true }),
      expect.objectContaining({ name: 'switchedOffQueue', disabled: true }),
    ]),
  );
  expect(host.output()).toContain(
    'switchedOff: httpTrigger (disabled by app setting AzureWebJobs.switchedOff.Disabled)',
  );
  expect((await fetch(`${host.url}/switchedOff`)).status).toBe(404);
  await sendBase64(azurite.connectionString, 'off-in', '"left alone"');
  await new Promise((r) => setTimeout(r, 1500));
  expect(host.output()).not.toContain("Executing 'Functions.switchedOff");
  expect(await peekTexts(azurite.connectionString, 'off-in')).toEqual(['"left alone"']);
});

test('postInvocation hooks see null, not undefined, for no error and for no result', async () => {
  expect(await (await fetch(`${host.url}/hookProbe`)).text()).toBe('ok');
  expect(await (await fetch(`${host.url}/hookSeen`)).json()).toEqual({
    errorIsNull: true,
    resultIsNull: false,
    error: null,
    result: { body: 'ok' },
  });
  expect(await (await fetch(`${host.url}/hookProbe?fail=1`)).text()).toBe('recovered');
  expect(await (await fetch(`${host.url}/hookSeen`)).json()).toEqual({
    errorIsNull: false,
    resultIsNull: true,
    error: 'probe failed',
    result: null,
  });
});

test('appStart and preInvocation hooks run', async () => {
  const info = (await (await fetch(`${host.url}/hooks`)).json()) as { appStarted: boolean; preInvocations: number };
  expect(info.appStarted).toBe(true);
  expect(info.preInvocations).toBeGreaterThan(0);
});

test('a timer on a 2-second NCRONTAB schedule fires repeatedly, with the Timer argument the library builds', async () => {
  const ticks = await waitFor(
    async () => {
      const texts = await peekTexts(azurite.connectionString, 'ticks');
      return texts.length >= 2 ? texts.map((t) => JSON.parse(t) as Record<string, unknown>) : undefined;
    },
    'two timer runs',
    30_000,
  );
  for (const tick of ticks) {
    expect(tick).toMatchObject({ isPastDue: false, scheduleStatus: null, triggerMetadata: null });
    // The host's RPC request carries the TimerTrigger binding data (the library drops it for timers, so the
    // fixture reads it off the request). A compiler that renamed the key broke this once (issue 22).
    const raw = tick.rpcTriggerMetadata as Record<string, { string?: string }>;
    expect(Object.keys(raw)).toContain('TimerTrigger');
    expect(raw.TimerTrigger?.string).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$/);
    // Occurrences are on even seconds (UTC), give or take the invocation start.
    expect(new Date(String(tick.at)).getUTCSeconds() % 2).toBe(0);
  }
  const times = ticks.map((t) => Date.parse(String(t.at))).sort((a, b) => a - b);
  expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1500);
});
