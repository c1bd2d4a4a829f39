/** HTTP streaming (app.setup({ enableHttpStream: true })): the local host proxies to the worker's HttpUri, as the host does. */
import { request as httpRequest } from 'node:http';
import { startAzurite, type AzuriteHandle } from '../../dev/azurite';
import type { HostProcess } from '../../dev/host/hostProcess';
import { peekTexts, startFixtureHost, waitFor } from './hostTestKit';

jest.setTimeout(120_000);

const limit = 48 * 1024 * 1024;
let azurite: AzuriteHandle;
let host: HostProcess;

beforeAll(async () => {
  azurite = await startAzurite();
  host = await startFixtureHost(azurite, {
    fixtures: ['httpStreamApp'],
    hostId: 'e2e-stream-host',
    env: {
      FUNCTIONS_HOST_KEY: '',
      FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: String(limit),
      'AzureWebJobs.streamSwitchedOff.Disabled': 'true',
    },
  });
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
});

/** POSTs chunks from `next` (chunked transfer) and resolves with the status and body. */
function post(path: string, next: () => Promise<Buffer | null>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${host.url}${path}`, { method: 'POST' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const pump = async () => {
      for (let chunk = await next(); chunk !== null; chunk = await next()) {
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    };
    pump().catch(reject);
  });
}

test('the host reports streaming on and names the worker address it proxies to', () => {
  expect(host.output()).toMatch(/HTTP streaming on: requests are proxied to the worker at http:\/\/localhost:\d+\//);
});

test('the request body streams: the function reads the first chunk before the client has sent the rest', async () => {
  const mib = Buffer.alloc(1024 * 1024, 1);
  let sent = 0;
  const result = await post('/receive', async () => {
    if (sent === 1)
      // Hold the rest back until the function has seen the first chunk: a buffering host would wait forever here.
      await waitFor(
        () => Promise.resolve(host.output().includes('receive: first chunk in') ? true : undefined),
        'first chunk',
      );
    return sent++ < 40 ? mib : null;
  });
  expect(result.status).toBe(200);
  expect(JSON.parse(result.body)).toEqual({ bytes: 40 * 1024 * 1024 });
});

test('the response body streams back whole', async () => {
  const response = await fetch(`${host.url}/send?mb=64`);
  expect(response.status).toBe(200);
  let bytes = 0;
  for await (const chunk of response.body!) bytes += (chunk as Uint8Array).length;
  expect(bytes).toBe(64 * 1024 * 1024);
});

test('URL, route values, query (as the library parses it), headers, cookies and extra outputs go through the proxy', async () => {
  const response = await fetch(`${host.url}/details/42?dupe=1&dupe=2`, {
    method: 'POST',
    body: 'hello',
    headers: { 'x-test': 'yes' },
  });
  expect(response.status).toBe(202);
  expect(response.headers.get('x-ms-invocation-id')).toMatch(/^[0-9a-f-]{36}$/);
  expect(response.headers.getSetCookie()).toEqual(['c=v; Max-Age=60; SameSite=Lax']);
  expect(await response.json()).toEqual({
    id: '42',
    url: `${host.url}/details/42?dupe=1&dupe=2`,
    query: { dupe: '2' },
    dupe: '1',
    dupeAll: ['1', '2'],
    header: 'yes',
    text: 'hello',
  });
  await waitFor(
    async () => ((await peekTexts(azurite.connectionString, 'streamed-events')).length > 0 ? true : undefined),
    'extra output',
  );
  expect(await peekTexts(azurite.connectionString, 'streamed-events')).toEqual([
    JSON.stringify({ id: '42', text: 'hello' }),
  ]);
});

test('a GET carries no body; a failing function answers 500; a disabled one 404', async () => {
  expect(await (await fetch(`${host.url}/details/7`)).json()).toMatchObject({ id: '7', text: '' });
  expect((await fetch(`${host.url}/streamFails`)).status).toBe(500);
  expect((await fetch(`${host.url}/streamSwitchedOff`)).status).toBe(404);
});

test('FUNCTIONS_REQUEST_BODY_SIZE_LIMIT holds while streaming: a declared length over it is 413, a chunked body is cut off', async () => {
  const declared = await fetch(`${host.url}/receive`, { method: 'POST', body: Buffer.alloc(limit + 1) });
  expect(declared.status).toBe(413);
  const mib = Buffer.alloc(1024 * 1024);
  let sent = 0;
  const chunked = await post('/receive', () => Promise.resolve(sent++ < 49 ? mib : null)).catch((error: Error) => ({
    status: -1,
    body: error.message,
  }));
  // Cut off: either the 413 arrives, or the connection is closed before an answer.
  expect([413, -1]).toContain(chunked.status);
  expect(host.output()).not.toContain('"bytes":51380224');
});
