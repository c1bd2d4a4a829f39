/**
 * Issue 17 in the emulator: limits and stats per caller (the token's identity, as Dataverse keeps its limits per
 * user), a revoked caller refused with 403 0x80072560, and the on-premises "Server Busy" ExecuteMultiple fault.
 */
import type { EmulatorHandle } from '../../../dev/emulator/index';
import { batchBody, createPart, errorOf, startWidgetEmulator, unsignedJwt } from './testRoute';

let emulator: EmulatorHandle;
beforeAll(async () => {
  ({ emulator } = await startWidgetEmulator());
});
afterAll(() => emulator.close());
beforeEach(() => {
  emulator.reset();
  emulator.configure({
    revokedCallers: [],
    faults: { rateServerBusy: 0 },
    limits: { executeMultiplePerOrganization: 0, requestsPerWindow: 6000 },
  });
});

const alice = unsignedJwt({ oid: 'oid-alice', appid: 'app-alice', sub: 'sp-alice' });
const bob = unsignedJwt({ oid: 'oid-bob', appid: 'app-bob', sub: 'sp-bob' });

const create = (token: string) =>
  fetch(`${emulator.webApiUrl}widgets`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: '{"name":"w"}',
  });

const batch = (token: string) =>
  fetch(`${emulator.webApiUrl}$batch`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'multipart/mixed; boundary=b' },
    body: batchBody('b', [createPart('widgets', { name: 'one' }), createPart('widgets', { name: 'two' })]),
  });

test('each caller has its own request window, and the stats show requests and 429s per caller', async () => {
  emulator.configure({ limits: { requestsPerWindow: 2, windowSeconds: 300 } });
  expect((await create(alice)).status).toBe(204);
  expect((await create(alice)).status).toBe(204);
  expect((await create(alice)).status).toBe(429);
  // Bob is another user: Alice's full window does not touch his.
  expect((await create(bob)).status).toBe(204);
  const { callers } = emulator.stats();
  expect(callers['oid-alice']).toMatchObject({
    appId: 'app-alice',
    requests: 3,
    throttled: { '0x80072322': 1 },
    peakRequestsInWindow: 2,
    peakInFlight: 1,
  });
  expect(callers['oid-bob']).toMatchObject({ appId: 'app-bob', requests: 1, throttled: {}, peakRequestsInWindow: 1 });
});

test('a revoked caller (by appid or object id) is refused with 403 0x80072560; the others are not', async () => {
  emulator.configure({ revokedCallers: ['app-bob'] });
  const refused = await create(bob);
  expect(refused.status).toBe(403);
  expect(await errorOf(refused)).toEqual({
    code: '0x80072560',
    message: 'The user is not a member of the organization.',
  });
  expect((await create(alice)).status).toBe(204);
  expect(emulator.stats().callers['oid-bob']).toMatchObject({ refused: 1, requests: 1 });
  // Only Alice's create ran.
  expect(emulator.stats().operations).toBe(1);
});

test('Server Busy: a $batch over the organization-wide ExecuteMultiple limit is refused before it runs', async () => {
  emulator.configure({
    limits: { executeMultiplePerOrganization: 1 },
    latency: { baseMs: 300, perOperationMs: 0, perTable: {} },
  });
  const [first, second] = await Promise.all([
    batch(alice),
    (async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return batch(bob);
    })(),
  ]);
  expect(first.status).toBe(200);
  expect(second.status).toBe(500);
  expect((await errorOf(second)).message).toMatch(/^Server Busy/);
  const stats = emulator.stats();
  // Nothing of the refused batch ran: two widgets, from the first batch only.
  expect(stats.operations).toBe(2);
  expect(stats.callers['oid-bob']).toMatchObject({ serverBusy: 1 });
  expect(stats.faults.serverBusy).toBe(1);
  emulator.configure({ latency: { baseMs: 0 } });
});

test('Server Busy can be injected at a rate, on $batch and bulk requests only', async () => {
  emulator.configure({ faults: { rateServerBusy: 1 } });
  expect((await batch(alice)).status).toBe(500);
  expect((await create(alice)).status).toBe(204);
  expect(emulator.stats().callers['oid-alice']).toMatchObject({ serverBusy: 1, requests: 2 });
});

test('callerLimits throttle one caller harder than the others', async () => {
  emulator.configure({ callerLimits: { 'app-bob': { requestsPerWindow: 1 } } });
  try {
    expect((await create(bob)).status).toBe(204);
    expect((await create(bob)).status).toBe(429);
    for (let i = 0; i < 3; i++) expect((await create(alice)).status).toBe(204);
  } finally {
    emulator.configure({ callerLimits: {} });
  }
});
