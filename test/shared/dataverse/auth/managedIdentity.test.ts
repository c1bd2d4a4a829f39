/**
 * The real msal-node ManagedIdentityApplication, App Service source: IDENTITY_ENDPOINT and
 * IDENTITY_HEADER point at the local endpoint, as `npm start` does. msal-node picks its managed
 * identity source once per process and shares its token cache between instances (static state), so
 * this file sets the environment once and gives each test its own Dataverse URL (= resource, = cache key).
 */
import { loadSettings } from '../../../../shared/config/settings';
import { createAccessTokenSource } from '../../../../shared/dataverse/auth/createAccessTokenSource';
import { DataverseAuthenticationError } from '../../../../shared/dataverse/auth/dataverseAuthenticationError';
import { startLocalIdentity, type LocalIdentityServer } from '../../../../dev/identity/localIdentity';
import { fakeDateOnly } from './fakeDate';

const identityHeader = 'local-identity-header-5f2c';
const userAssignedClientId = '6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d';
let server: LocalIdentityServer;
const savedEnv = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };
let orgCounter = 0;

function nextOrgUrl(): string {
  orgCounter += 1;
  return `https://org${orgCounter}.crm.dynamics.com`;
}

function settingsFor(orgUrl: string, env: Record<string, string> = {}) {
  return loadSettings({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', DATAVERSE_URL: orgUrl, ...env });
}

const miRequests = () => server.identity.requests().filter((r) => r.kind === 'managedIdentity');

beforeAll(async () => {
  server = await startLocalIdentity({
    identityHeader,
    managedIdentityClientId: 'f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f',
  });
  process.env.IDENTITY_ENDPOINT = server.managedIdentityEndpoint;
  process.env.IDENTITY_HEADER = identityHeader;
});
afterAll(async () => {
  for (const [name, value] of [
    ['IDENTITY_ENDPOINT', savedEnv.endpoint],
    ['IDENTITY_HEADER', savedEnv.header],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await server.close();
});
beforeEach(() => server.identity.configure({ tokenTtlSeconds: 3600, identityHeader }));

test('system-assigned: asks for resource <DATAVERSE_URL>, then serves the cache', async () => {
  const orgUrl = nextOrgUrl();
  const source = createAccessTokenSource(settingsFor(orgUrl));
  const before = miRequests().length;
  const token = await source.getAccessToken();
  expect(await server.identity.verifyToken(token)).toMatchObject({
    aud: orgUrl,
    appid: 'f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f',
  });
  expect(miRequests().slice(before)).toEqual([
    { kind: 'managedIdentity', status: 200, clientId: 'f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f', scope: orgUrl },
  ]);
  expect(await source.getAccessToken()).toBe(token);
  expect(miRequests().length).toBe(before + 1);
});

test('user-assigned: the identity is named by DATAVERSE_MANAGED_IDENTITY_CLIENT_ID', async () => {
  const orgUrl = nextOrgUrl();
  const source = createAccessTokenSource(
    settingsFor(orgUrl, { DATAVERSE_MANAGED_IDENTITY_CLIENT_ID: userAssignedClientId }),
  );
  const before = miRequests().length;
  const token = await source.getAccessToken();
  expect(miRequests().slice(before)).toEqual([
    { kind: 'managedIdentity', status: 200, clientId: userAssignedClientId, scope: orgUrl },
  ]);
  expect(await server.identity.verifyToken(token)).toMatchObject({ aud: orgUrl, appid: userAssignedClientId });
});

test('forceRefresh gets a new token; concurrent callers share one request', async () => {
  const source = createAccessTokenSource(settingsFor(nextOrgUrl()));
  const before = miRequests().length;
  const tokens = await Promise.all(Array.from({ length: 10 }, () => source.getAccessToken()));
  expect(new Set(tokens).size).toBe(1);
  expect(miRequests().length).toBe(before + 1);
  const refreshed = await source.getAccessToken({ forceRefresh: true });
  expect(refreshed).not.toBe(tokens[0]);
  expect(miRequests().length).toBe(before + 2);
  expect(await source.getAccessToken()).toBe(refreshed);
});

test("renews before expiry (expires_on minus msal's 5-minute margin)", async () => {
  fakeDateOnly();
  try {
    server.identity.configure({ tokenTtlSeconds: 1200 });
    const source = createAccessTokenSource(settingsFor(nextOrgUrl()));
    const before = miRequests().length;
    const first = await source.getAccessToken();
    const exp = (await server.identity.verifyToken(first))!.exp;
    jest.setSystemTime((exp - 330) * 1000);
    expect(await source.getAccessToken()).toBe(first);
    expect(miRequests().length).toBe(before + 1);
    jest.setSystemTime((exp - 270) * 1000);
    const renewed = await source.getAccessToken();
    expect(renewed).not.toBe(first);
    expect(miRequests().length).toBe(before + 2);
  } finally {
    jest.useRealTimers();
  }
});

test('a refused managed identity request is a typed error naming the mode', async () => {
  server.identity.configure({ identityHeader: 'some-other-value' });
  const source = createAccessTokenSource(settingsFor(nextOrgUrl()));
  const error = await source.getAccessToken().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataverseAuthenticationError);
  expect(error).toMatchObject({ code: 'ManagedIdentityFailed', authMode: 'managedIdentity' });
  expect((error as Error).message).toMatch(/DATAVERSE_AUTH=managedIdentity, system-assigned managed identity/);
  expect((error as Error).message).not.toContain(identityHeader);
});

test("works for the emulator's plain-http org URL, as npm start runs it", async () => {
  const orgUrl = 'http://127.0.0.1:59999';
  const source = createAccessTokenSource(settingsFor(orgUrl));
  const before = miRequests().length;
  expect(await server.identity.verifyToken(await source.getAccessToken())).toMatchObject({ aud: orgUrl });
  expect(miRequests().slice(before)).toEqual([expect.objectContaining({ scope: orgUrl, status: 200 })]);
});
