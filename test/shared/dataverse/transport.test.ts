import { createDataverseClient, DataverseError, type DataverseClient } from '../../../shared/dataverse';
import { AdaptiveConcurrency, RequestSpacing, callKind, throttledLimit } from '../../../shared/dataverse/throttle';
import { spacingNeeded } from '../../../shared/dataverse/throttle';
import {
  CountingTokenSource,
  errorAnswer,
  json,
  startTestDataverse,
  VirtualClock,
  type Answer,
  type TestDataverse,
} from './testDataverse';

let server: TestDataverse;
let clock: VirtualClock;
let tokens: CountingTokenSource;

beforeEach(async () => {
  clock = new VirtualClock();
  tokens = new CountingTokenSource();
  server = await startTestDataverse(() => json(200, {}), clock);
});
afterEach(() => server.close());

function client(options: Partial<Parameters<typeof createDataverseClient>[0]> = {}): DataverseClient {
  return createDataverseClient({
    webApiUrl: server.webApiUrl,
    accessTokenSource: tokens,
    clock,
    random: () => 0.5,
    ...options,
  });
}

const whoAmI = { UserId: 'd96e9f55-f06d-e511-80d0-00155db07cb1' };
const throttled = (seconds: string, code = '0x80072322'): Answer =>
  errorAnswer(429, code, 'Number of requests exceeded the limit of 6000 over time window of 300 seconds.', {
    'Retry-After': seconds,
  });

describe('429 and Retry-After', () => {
  test('one 429 pauses every concurrent call for Retry-After seconds, then all succeed', async () => {
    let answered429 = -1;
    server.handle = (request) => {
      if (answered429 < 0 && request.path === 'WhoAmI()') {
        answered429 = clock.now();
        return throttled('7');
      }
      return json(200, whoAmI);
    };
    const c = client({ maxConcurrency: 1 });
    const calls = Array.from({ length: 5 }, () => c.send({ method: 'GET', path: 'WhoAmI()' }));
    const results = await Promise.all(calls);
    expect(results.every((result) => result.status === 200)).toBe(true);
    expect(answered429).toBeGreaterThan(0);
    // No request reached Dataverse during the pause.
    const after = server.requests.slice(1);
    expect(after).toHaveLength(5);
    for (const request of after) expect(request.at).toBeGreaterThanOrEqual(answered429 + 7000);
    // The call queued behind the throttled one waited out the same pause (not only the call that got the 429).
    expect(clock.sleeps.filter((ms) => ms === 7000).length).toBeGreaterThanOrEqual(2);
    expect(c.metrics().throttled).toEqual({ total: 1, byCode: { '0x80072322': 1 } });
  });

  test('a pause set by one call holds calls already waiting for a slot', async () => {
    const waiting: (() => void)[] = [];
    let first = true;
    let pausedAt = 0;
    server.handle = async (request) => {
      if (request.path === 'slow') {
        await new Promise<void>((resolve) => waiting.push(resolve));
        return json(200, {});
      }
      if (first) {
        first = false;
        pausedAt = clock.now();
        return throttled('30', '0x80072321');
      }
      return json(200, {});
    };
    const c = client({ maxConcurrency: 2, initialConcurrency: 2 });
    const slow = c.send({ method: 'GET', path: 'slow' });
    const throttledCall = c.send({ method: 'GET', path: 'fast' });
    // Wait until the 429 has been answered, then release the slow call: its follower must wait too.
    for (let i = 0; i < 200 && c.metrics().throttled.total === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const follower = c.send({ method: 'GET', path: 'follower' });
    waiting.forEach((release) => release());
    await Promise.all([slow, throttledCall, follower]);
    const followerRequest = server.requests.find((r) => r.path === 'follower')!;
    expect(followerRequest.at).toBeGreaterThanOrEqual(pausedAt + 30_000);
    expect(c.metrics().throttled.byCode).toEqual({ '0x80072321': 1 });
  });

  test('gives up after maxThrottleRetries with a DataverseError carrying code, status and Retry-After', async () => {
    server.handle = () => throttled('2', '0x80072326');
    const error = await client({ maxThrottleRetries: 2 })
      .send({ method: 'GET', path: 'WhoAmI()' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataverseError);
    expect(error).toMatchObject({ code: '0x80072326', status: 429, retryAfterSeconds: 2 });
    expect(server.requests).toHaveLength(3);
  });
});

describe('concurrency', () => {
  test('starts from x-ms-dop-hint, capped by maxConcurrency', async () => {
    server.handle = () => json(200, whoAmI, { 'x-ms-dop-hint': '8' });
    const c = client({ maxConcurrency: 32 });
    expect(c.metrics().concurrency.limit).toBe(4);
    await c.send({ method: 'GET', path: 'WhoAmI()' });
    expect(c.metrics().concurrency).toMatchObject({ limit: 8, ceiling: 8, dopHint: 8 });
    const capped = client({ maxConcurrency: 3 });
    await capped.send({ method: 'GET', path: 'WhoAmI()' });
    expect(capped.metrics().concurrency).toMatchObject({ limit: 3, ceiling: 3 });
  });

  test('never has more requests in flight than the limit', async () => {
    let inFlight = 0;
    let peak = 0;
    server.handle = async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight -= 1;
      return json(200, {}, { 'x-ms-dop-hint': '3' });
    };
    const c = client({ maxConcurrency: 50, initialConcurrency: 1 });
    await c.send({ method: 'GET', path: 'first' });
    await Promise.all(Array.from({ length: 12 }, (_, i) => c.send({ method: 'GET', path: `r${i}` })));
    expect(peak).toBe(3);
  });

  test('steps down by a quarter (at least one) on 429, grows by one after a window of successes, never above the ceiling', () => {
    const limit = new AdaptiveConcurrency(10, 2);
    limit.observeDopHint(8);
    expect(limit.snapshot().limit).toBe(8);
    limit.onThrottled();
    expect(limit.snapshot().limit).toBe(6);
    limit.onThrottled();
    expect(limit.snapshot().limit).toBe(4);
    limit.onThrottled();
    expect(limit.snapshot().limit).toBe(3);
    limit.onThrottled();
    limit.onThrottled();
    limit.onThrottled();
    expect(limit.snapshot().limit).toBe(1);
    limit.onSuccess();
    expect(limit.snapshot().limit).toBe(2);
    for (let i = 0; i < 2; i++) limit.onSuccess();
    expect(limit.snapshot().limit).toBe(3);
    for (let i = 0; i < 100; i++) limit.onSuccess();
    expect(limit.snapshot().limit).toBe(8);
  });

  test('throttledLimit: ×0.75 rounded down, at least one step, never below 1', () => {
    expect([1, 2, 3, 4, 5, 8, 16, 52].map(throttledLimit)).toEqual([1, 1, 2, 3, 3, 6, 12, 39]);
  });

  test('remaining-budget headers: read into the snapshot; no growth while a budget is used up, growth again once some is left', () => {
    const limit = new AdaptiveConcurrency(10, 4);
    limit.observeDopHint(4);
    limit.onThrottled();
    expect(limit.snapshot().limit).toBe(3);
    const respond = (executionMs: number, requests = 600) => {
      limit.observeBudget(String(requests), String(executionMs));
      limit.onSuccess();
    };
    respond(120_000); // the full budget: our estimate of it
    expect(limit.snapshot()).toMatchObject({
      limit: 3,
      budget: { executionMsRemaining: 120_000, requestsRemaining: 600, fraction: 1 },
    });
    for (let i = 0; i < 10; i++) respond(0); // nothing left: the next request would meet a 429
    expect(limit.snapshot().limit).toBe(3);
    for (let i = 0; i < 10; i++) respond(60_000, 0); // the request budget counts too
    expect(limit.snapshot()).toMatchObject({ limit: 3, budget: { fraction: 0 } });
    for (let i = 0; i < 3; i++) respond(5_000); // a little left is enough: running at the ceiling means running near zero
    expect(limit.snapshot().limit).toBe(4);
    expect(limit.snapshot().budget?.fraction).toBeCloseTo(5_000 / 120_000);
  });

  test('without the headers (or with garbage in them) nothing changes', () => {
    const limit = new AdaptiveConcurrency(10, 4);
    limit.observeBudget(undefined, undefined);
    limit.observeBudget('lots', '-1');
    expect(limit.snapshot()).toEqual({ limit: 4, inFlight: 0, ceiling: 10, dopHint: undefined });
  });

  test('the client reads the headers off every answer (not off 429s, which carry none)', async () => {
    const left = [120_000, 60_000, 5_000];
    let answered = 0;
    server.handle = () =>
      answered === 3
        ? ((answered += 1), throttled('1', '0x80072321'))
        : json(200, whoAmI, {
            'x-ms-dop-hint': '4',
            'x-ms-ratelimit-burst-remaining-xrm-requests': '5000',
            'x-ms-ratelimit-time-remaining-xrm-requests': String(left[answered++] ?? 90_000),
          });
    const c = client();
    for (let i = 0; i < 3; i++) await c.send({ method: 'GET', path: 'WhoAmI()' });
    expect(c.metrics().concurrency.budget).toEqual({
      executionMsRemaining: 5_000,
      requestsRemaining: 5000,
      fraction: 5_000 / 120_000,
    });
    await c.send({ method: 'GET', path: 'WhoAmI()' }); // 429, then the retry answers
    expect(c.metrics().throttled.total).toBe(1);
    expect(c.metrics().concurrency).toMatchObject({ limit: 3, budget: { executionMsRemaining: 90_000 } });
  });
});

describe('one step down per overload', () => {
  test("429s of requests sent before the last step-down do not step down again; a later request's 429 does", () => {
    const limit = new AdaptiveConcurrency(10, 4);
    limit.observeDopHint(4);
    const episode = limit.episode();
    // Three requests sent together all meet the same overload.
    limit.onThrottled(episode);
    limit.onThrottled(episode);
    limit.onThrottled(episode);
    expect(limit.snapshot().limit).toBe(3);
    // A request sent after that step-down meets a new one.
    limit.onThrottled(limit.episode());
    expect(limit.snapshot().limit).toBe(2);
    // Without a send-time episode (a 429 inside a $batch part), each counts.
    limit.onThrottled();
    expect(limit.snapshot().limit).toBe(1);
  });

  test('the client: three calls released together into the same 429 cut the limit once (4 → 3), not to 1', async () => {
    server.handle = (request) =>
      request.path === 'learn' ? json(200, {}, { 'x-ms-dop-hint': '4' }) : throttled('2', '0x80072321');
    const c = client({ maxConcurrency: 16, maxThrottleRetries: 0 });
    await c.send({ method: 'GET', path: 'learn' });
    expect(c.metrics().concurrency.limit).toBe(4);
    const results = await Promise.allSettled(
      Array.from({ length: 3 }, (_, i) => c.send({ method: 'GET', path: `r${i}` })),
    );
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(c.metrics().throttled.total).toBe(3);
    expect(c.metrics().concurrency.limit).toBe(3);
  });
});

describe('request spacing', () => {
  /** A VirtualClock whose sleeps are recorded but do not advance time: the test steps the clock itself. */
  class SteppingClock extends VirtualClock {
    override sleep(ms: number): Promise<void> {
      this.sleeps.push(ms);
      return Promise.resolve();
    }
  }

  test('like calls released together start a typical duration ÷ limit apart; other kinds and spread-out calls never wait', async () => {
    const stepping = new SteppingClock();
    const t0 = stepping.current;
    const spacing = new RequestSpacing(stepping);
    const bulk = callKind(
      'POST',
      'https://org.crm.dynamics.com/api/data/v9.2/accounts/Microsoft.Dynamics.CRM.CreateMultiple',
    );
    const read = callKind(
      'GET',
      "https://org.crm.dynamics.com/api/data/v9.2/EntityDefinitions(LogicalName='account')?$select=LogicalName",
    );
    // Nothing known yet: no wait.
    await Promise.all([spacing.next(bulk, 4), spacing.next(bulk, 4)]);
    expect(stepping.sleeps).toEqual([]);
    spacing.observe(bulk, 1000);
    spacing.observe(read, 40);
    stepping.current = t0 + 10_000;
    await Promise.all(Array.from({ length: 4 }, () => spacing.next(bulk, 4)));
    expect(stepping.sleeps).toEqual([250, 500, 750]);
    // A metadata read is not held behind the bulk messages.
    await spacing.next(read, 4);
    expect(stepping.sleeps).toEqual([250, 500, 750]);
    // Calls that come spread out (here: one every typical duration) never wait.
    for (let i = 1; i <= 3; i++) {
      stepping.current = t0 + 10_000 + 1000 * i + 750;
      await spacing.next(bulk, 4);
    }
    expect(stepping.sleeps).toEqual([250, 500, 750]);
  });

  test('callKind drops keys, function arguments and the query', () => {
    expect(callKind('get', "https://o/api/data/v9.2/accounts(accountnumber='A-1')?$select=name")).toBe(
      'GET /api/data/v9.2/accounts()',
    );
    expect(callKind('POST', 'https://o/api/data/v9.2/$batch')).toBe('POST /api/data/v9.2/$batch');
  });

  /**
   * A client whose CreateMultiple takes 1000 ms at the server (with these answer headers), after one such call:
   * `releaseFour` sends four at once and gives the client's own waits (the server's 1000s left out).
   */
  async function createMultipleClient(headers: () => Record<string, string>) {
    server.handle = async (request) => {
      if (request.path.endsWith('CreateMultiple')) await clock.sleep(1000);
      return json(200, { Ids: [] }, { 'x-ms-dop-hint': '4', ...headers() });
    };
    const c = client({ maxConcurrency: 16 });
    const send = () =>
      c.send({ method: 'POST', path: 'accounts/Microsoft.Dynamics.CRM.CreateMultiple', body: { Targets: [] } });
    await send();
    const releaseFour = async () => {
      clock.sleeps.length = 0;
      await Promise.all(Array.from({ length: 4 }, () => send()));
      return clock.sleeps.filter((ms) => ms !== 1000);
    };
    return { c, send, releaseFour };
  }

  test('the client spreads CreateMultiple calls released together once it has seen how long one takes', async () => {
    const { releaseFour } = await createMultipleClient(() => ({}));
    const waits = await releaseFour();
    // The client waited a quarter, a half and three quarters of the 1000 ms one CreateMultiple took (the 1000s are the server's).
    expect(waits.sort((a, b) => a - b)).toEqual([250, 500, 750]);
  });

  test("while Dataverse says at least half the window's budget is left, like calls go out together; below half they are spread", async () => {
    let executionMsRemaining = 1_200_000;
    const { c, send, releaseFour } = await createMultipleClient(() => ({
      'x-ms-ratelimit-burst-remaining-xrm-requests': '5000',
      'x-ms-ratelimit-time-remaining-xrm-requests': String(executionMsRemaining),
    }));
    expect(await releaseFour()).toEqual([]);
    expect(spacingNeeded(c.metrics().concurrency.budget)).toBe(false);

    executionMsRemaining = 500_000; // under half of the 1,200,000 seen
    await send();
    expect((await releaseFour()).length).toBeGreaterThanOrEqual(3);
    expect(spacingNeeded(c.metrics().concurrency.budget)).toBe(true);
    // No budget headers at all: spread, as Dataverse's silence gives no reason to think a lump fits.
    expect(spacingNeeded(undefined)).toBe(true);
  });
});

describe('transient failures', () => {
  test('GETs are retried on 502/503/504 with jittered exponential backoff', async () => {
    const statuses = [502, 503, 504];
    server.handle = () => (statuses.length > 0 ? { status: statuses.shift()! } : json(200, whoAmI));
    const c = client();
    const result = await c.send({ method: 'GET', path: 'WhoAmI()' });
    expect(result.body).toEqual(whoAmI);
    expect(server.requests).toHaveLength(4);
    expect(clock.sleeps).toEqual([500, 1000, 2000]); // random() = 0.5 of 1 s, 2 s, 4 s
    expect(c.metrics().retries).toBe(3);
  });

  test('a non-idempotent action is never re-sent after a 503; the error carries status and request id', async () => {
    server.handle = () => errorAnswer(503, '', 'Service Unavailable', { 'x-ms-service-request-id': 'req-1' });
    const error = await client()
      .send({ method: 'POST', path: 'WinOpportunity', body: {} })
      .catch((e: unknown) => e);
    expect(server.requests).toHaveLength(1);
    expect(error).toMatchObject({ name: 'DataverseError', status: 503, requestId: 'req-1' });
  });

  test('an action marked retry-safe is re-sent', async () => {
    let n = 0;
    server.handle = () => (n++ === 0 ? { status: 504 } : json(200, { ok: true }));
    await client().send({ method: 'POST', path: 'Idempotent', body: {}, retrySafe: true });
    expect(server.requests).toHaveLength(2);
  });

  test('network errors: GET retried, POST create without id reported as NetworkError', async () => {
    let failures = 1;
    const flakyFetch: typeof fetch = async (input, init) => {
      if (failures-- > 0) throw new TypeError('fetch failed');
      return fetch(input, init);
    };
    await expect(client({ fetch: flakyFetch }).send({ method: 'GET', path: 'WhoAmI()' })).resolves.toMatchObject({
      status: 200,
    });
    failures = 1;
    await expect(
      client({ fetch: flakyFetch }).send({ method: 'POST', path: 'accounts', body: { name: 'x' } }),
    ).rejects.toMatchObject({ code: 'NetworkError' });
  });

  test('4xx answers are not retried and map to DataverseError with Dataverse code and message', async () => {
    server.handle = () => errorAnswer(404, '', 'account With Id = 1 Does Not Exist');
    await expect(client().send({ method: 'GET', path: 'accounts(1)' })).rejects.toMatchObject({
      code: '',
      status: 404,
      message: 'account With Id = 1 Does Not Exist',
    });
    expect(server.requests).toHaveLength(1);
  });
});

describe('authentication and cookies', () => {
  test('a 401 forces one token refresh and one retry, with the new token', async () => {
    server.handle = (request) =>
      request.headers['authorization'] === 'Bearer token-1'
        ? errorAnswer(401, '', 'ExpiredAuthTicket')
        : json(200, whoAmI);
    const c = client();
    await expect(c.send({ method: 'POST', path: 'WinOpportunity', body: {} })).resolves.toMatchObject({ status: 200 });
    expect(tokens.forcedRefreshes).toBe(1);
    expect(server.requests.map((r) => r.headers['authorization'])).toEqual(['Bearer token-1', 'Bearer token-2']);
    expect(c.metrics().tokenRefreshes).toBe(1);
  });

  test('a second 401 is not retried again', async () => {
    server.handle = () => errorAnswer(401, '', 'InvalidAuthTicket');
    await expect(client().send({ method: 'GET', path: 'WhoAmI()' })).rejects.toMatchObject({ status: 401 });
    expect(server.requests).toHaveLength(2);
    expect(tokens.forcedRefreshes).toBe(1);
  });

  test('the ARR affinity cookie Dataverse sets is never sent back', async () => {
    server.handle = () => json(200, whoAmI, { 'Set-Cookie': 'ARRAffinity=abc123; Path=/; HttpOnly' });
    const c = client();
    await c.send({ method: 'GET', path: 'WhoAmI()' });
    await c.send({ method: 'GET', path: 'WhoAmI()' });
    expect(server.requests.map((r) => r.headers['cookie'])).toEqual([undefined, undefined]);
  });
});

describe('abort', () => {
  test('an aborted signal stops a call waiting out a Retry-After pause', async () => {
    server.handle = () => throttled('60');
    const controller = new AbortController();
    const realClockClient = client({
      clock: {
        now: () => Date.now(),
        sleep: (ms, signal) =>
          new Promise((resolve, reject) => {
            const timer = setTimeout(resolve, ms);
            signal?.addEventListener('abort', () => {
              clearTimeout(timer);
              reject(new Error('aborted'));
            });
          }),
      },
    });
    const call = realClockClient.send({ method: 'GET', path: 'WhoAmI()' }, { abortSignal: controller.signal });
    for (let i = 0; i < 200 && server.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await expect(call).rejects.toThrow();
    expect(server.requests).toHaveLength(1);
  });
});
