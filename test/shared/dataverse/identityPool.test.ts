/**
 * Several application users (issue 17) against a real HTTP server: each identity is paced alone, requests go to
 * the one with most headroom, a throttled one pauses only itself, failing credentials take one out of the
 * rotation, pinned calls stay with the default identity, and Server Busy is retried like a 429.
 */
import { createDataverseClient, DataverseError, type DataverseClient } from '../../../shared/dataverse';
import type { AccessTokenSource } from '../../../shared/dataverse/auth/accessTokenSource';
import { DataverseAuthenticationError } from '../../../shared/dataverse/auth/dataverseAuthenticationError';
import {
  errorAnswer,
  json,
  numberedTaskCreates,
  startTestDataverse,
  VirtualClock,
  batchAnswer,
  type RecordedRequest,
  type TestDataverse,
} from './testDataverse';

/** Tokens `<name>-<n>`, so the server sees which identity sent a request; counts forced refreshes. */
class NamedTokens implements AccessTokenSource {
  issued = 0;
  forced = 0;
  failWith: Error | undefined;
  constructor(readonly name: string) {}
  getAccessToken(options?: { forceRefresh?: boolean }): Promise<string> {
    if (this.failWith) return Promise.reject(this.failWith);
    if (options?.forceRefresh) this.forced += 1;
    if (options?.forceRefresh || this.issued === 0) this.issued += 1;
    return Promise.resolve(`${this.name}-${this.issued}`);
  }
}

const identityOf = (request: RecordedRequest) =>
  String(request.headers['authorization'])
    .replace(/^Bearer /, '')
    .replace(/-\d+$/, '');

let server: TestDataverse;
let clock: VirtualClock;
let tokens: Record<string, NamedTokens>;
let warnings: string[];

beforeEach(async () => {
  clock = new VirtualClock();
  tokens = { default: new NamedTokens('default'), second: new NamedTokens('second') };
  warnings = [];
  server = await startTestDataverse(() => json(200, {}), clock);
});
afterEach(() => server.close());

function pool(options: Partial<Parameters<typeof createDataverseClient>[0]> = {}): DataverseClient {
  return createDataverseClient({
    webApiUrl: server.webApiUrl,
    identities: Object.values(tokens).map((t) => ({ name: t.name, accessTokenSource: t })),
    clock,
    random: () => 0.5,
    logger: { info: () => undefined, warn: (message) => warnings.push(message) },
    ...options,
  });
}

const countBy = (requests: RecordedRequest[]) =>
  requests.reduce<Record<string, number>>((counts, r) => {
    counts[identityOf(r)] = (counts[identityOf(r)] ?? 0) + 1;
    return counts;
  }, {});

test('concurrent requests spread over the identities, each within its own concurrency', async () => {
  const inFlight: Record<string, number> = {};
  const peak: Record<string, number> = {};
  server.handle = async (request) => {
    const who = identityOf(request);
    inFlight[who] = (inFlight[who] ?? 0) + 1;
    peak[who] = Math.max(peak[who] ?? 0, inFlight[who]);
    await new Promise((resolve) => setTimeout(resolve, 15));
    inFlight[who] -= 1;
    return json(200, {}, { 'x-ms-dop-hint': '3' });
  };
  const c = pool({ maxConcurrency: 50, initialConcurrency: 1 });
  await Promise.all([c.send({ method: 'GET', path: 'a' }), c.send({ method: 'GET', path: 'b' })]);
  await Promise.all(Array.from({ length: 24 }, (_, i) => c.send({ method: 'GET', path: `r${i}` })));
  expect(peak).toEqual({ default: 3, second: 3 });
  const counts = countBy(server.requests);
  expect(counts['default']! + counts['second']!).toBe(26);
  expect(Math.abs(counts['default']! - counts['second']!)).toBeLessThanOrEqual(4);
  expect(c.metrics().concurrency).toMatchObject({ limit: 6, ceiling: 6 });
  expect(c.metrics().identities.map((i) => i.name)).toEqual(['default', 'second']);
});

test('a throttled identity pauses only itself: the other goes on at once, and the throttled one waits Retry-After', async () => {
  let pausedAt = -1;
  server.handle = (request) => {
    if (identityOf(request) === 'default' && pausedAt < 0) {
      pausedAt = clock.now();
      return errorAnswer(429, '0x80072321', 'Combined execution time…', { 'Retry-After': '30' });
    }
    return json(200, {});
  };
  const c = pool({ maxConcurrency: 1, initialConcurrency: 1 });
  await Promise.all(Array.from({ length: 10 }, (_, i) => c.send({ method: 'GET', path: `r${i}` })));
  expect(pausedAt).toBeGreaterThan(0);
  const later = server.requests.filter((r) => r.at >= pausedAt);
  const secondBeforeResume = later.filter((r) => identityOf(r) === 'second' && r.at < pausedAt + 30_000);
  const defaultDuringPause = later.filter(
    (r) => identityOf(r) === 'default' && r.at > pausedAt && r.at < pausedAt + 30_000,
  );
  // Everything after the 429 that could go went as the other identity, without waiting the pause.
  expect(secondBeforeResume.length).toBeGreaterThanOrEqual(8);
  expect(defaultDuringPause).toHaveLength(0);
  const byName = Object.fromEntries(c.metrics().identities.map((i) => [i.name, i]));
  expect(byName['default']).toMatchObject({ throttled: 1, state: 'active' });
  expect(byName['second']).toMatchObject({ throttled: 0, pausedMs: 0 });
});

test('an identity refused after one token refresh leaves the rotation; the calls go on as the others', async () => {
  server.handle = (request) =>
    identityOf(request) === 'second' ? errorAnswer(401, '', 'InvalidAuthTicket') : json(200, {});
  const c = pool();
  const results = await Promise.all(
    Array.from({ length: 12 }, (_, i) => c.send({ method: 'POST', path: `tasks`, body: { subject: `t${i}` } })),
  );
  expect(results.every((r) => r.status === 200)).toBe(true);
  // Each call that met the 401 tried one fresh token (the real token sources share concurrent refreshes).
  expect(tokens['second']!.forced).toBeGreaterThanOrEqual(1);
  expect(tokens['second']!.forced).toBeLessThanOrEqual(4);
  const second = c.metrics().identities.find((i) => i.name === 'second')!;
  expect(second.state).toBe('left');
  expect(second.leftReason).toMatch(/HTTP 401 after a token refresh/);
  expect(warnings.filter((w) => /identity 'second' left the rotation/.test(w))).toHaveLength(1);
  // The log line names the identity, never a token.
  expect(warnings.join('\n')).not.toMatch(/second-\d/);
  // After it left, nothing more was sent as it.
  const lastSecond = server.requests.map(identityOf).lastIndexOf('second');
  expect(server.requests.slice(lastSecond + 1).every((r) => identityOf(r) === 'default')).toBe(true);
});

test('credentials Entra refuses take the identity out too; with none left the call fails naming each', async () => {
  tokens['second']!.failWith = new DataverseAuthenticationError({
    code: 'InvalidClientCredentials',
    authMode: 'clientSecret',
    message:
      "Dataverse authentication failed (identity 'second' of DATAVERSE_IDENTITIES, clientSecret): invalid_client",
  });
  server.handle = () => errorAnswer(403, '0x80072560', 'The user is not a member of the organization.');
  const error = await pool()
    .send({ method: 'GET', path: 'WhoAmI()' })
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DataverseError);
  expect(error).toMatchObject({ code: 'NoIdentityLeft' });
  const message = (error as Error).message;
  expect(message).toContain("'default' (HTTP 403 after a token refresh (0x80072560): The user is not a member");
  expect(message).toContain("'second' (Dataverse authentication failed (identity 'second'");
});

test('a 403 for a missing privilege stays the request error: the identity stays', async () => {
  server.handle = () => errorAnswer(403, '0x80040220', 'Principal user is missing prvCreateAccount privilege');
  const c = pool();
  await expect(c.send({ method: 'GET', path: 'accounts' })).rejects.toMatchObject({ status: 403 });
  expect(c.metrics().identities.every((i) => i.state === 'active')).toBe(true);
});

test('impersonated and pinned calls go as the default identity only, waiting out its pause', async () => {
  let throttledOnce = false;
  server.handle = () => {
    if (!throttledOnce) {
      throttledOnce = true;
      return errorAnswer(429, '0x80072322', 'Number of requests exceeded…', { 'Retry-After': '5' });
    }
    return json(200, {});
  };
  const c = pool();
  await c.send({ method: 'GET', path: 'WhoAmI()' }, { callerObjectId: 'e0c5d3a1-0000-4000-8000-000000000001' });
  await c.send({ method: 'POST', path: 'ImportSolutionAsync', body: {} }, { useDefaultIdentity: true });
  await c
    .executeMultiple(
      numberedTaskCreates(2),
      { continueOnError: true, returnResponses: true },
      {
        callerObjectId: 'e0c5d3a1-0000-4000-8000-000000000001',
      },
    )
    .catch(() => undefined);
  expect(server.requests.map(identityOf)).toEqual(['default', 'default', 'default', 'default']);
  expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(5000);
});

test('Server Busy is retried like a 429 (even a create that is not retry-safe) and never reaches the caller', async () => {
  let busy = 2;
  server.handle = (request) => {
    if (busy > 0) {
      busy -= 1;
      return errorAnswer(500, '', 'Server Busy');
    }
    return batchAnswer(request, () => ({ status: 204 }));
  };
  const counted: number[] = [];
  tokens = { default: new NamedTokens('default') };
  const c = pool({ onOperationsCounted: (n) => counted.push(n) });
  const answer = await c.executeMultiple(numberedTaskCreates(3), { continueOnError: true, returnResponses: true });
  expect(answer.isFaulted).toBe(false);
  expect(server.requests).toHaveLength(3);
  expect(c.metrics().throttled.byCode).toEqual({ ServerBusy: 2 });
  // Only the executed $batch counted, one per operation inside it.
  expect(counted).toEqual([3]);
});

test('Server Busy still there after the retries fails the call with code ServerBusy, not as row faults', async () => {
  server.handle = () => errorAnswer(500, '', 'Server Busy');
  tokens = { default: new NamedTokens('default') };
  const error = await pool({ maxThrottleRetries: 2 })
    .executeMultiple(numberedTaskCreates(2), { continueOnError: true, returnResponses: true })
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DataverseError);
  expect(error).toMatchObject({ code: 'ServerBusy' });
});
