/** HTTP triggers (routes, constraints, keys when configured) and a 2-second timer, through the local host. */
import { startAzurite, type AzuriteHandle } from '../../dev/azurite';
import { startHostProcess, type HostProcess } from '../../dev/host/hostProcess';
import { fixtureFile, peekTexts, repoRoot, waitFor } from './hostTestKit';

jest.setTimeout(120_000);

let azurite: AzuriteHandle;
let host: HostProcess;

beforeAll(async () => {
  azurite = await startAzurite();
  host = await startHostProcess({
    appDir: repoRoot,
    files: [fixtureFile('storageApp'), fixtureFile('timerApp')],
    port: 0,
    hostId: 'e2e-http-host',
    env: { AzureWebJobsStorage: azurite.connectionString, FUNCTIONS_HOST_KEY: 'host-key-1' },
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
  expect(response.headers.get('set-cookie')).toBe('seen=1; HttpOnly');
  expect(await response.text()).toBe(`POST 100000 ${'x'.repeat(20)}`);
  expect((await fetch(`${host.url}/nowhere`)).status).toBe(404);
  expect((await fetch(`${host.url.replace(/\/api$/, '')}/items/42`)).status).toBe(404);
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
