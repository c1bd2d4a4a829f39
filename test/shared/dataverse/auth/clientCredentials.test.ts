import { expect } from '@jest/globals';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import type { INetworkModule } from '@azure/msal-node';
import { generate } from 'selfsigned';
import { loadSettings } from '../../../../shared/config/settings';
import { createAccessTokenSource } from '../../../../shared/dataverse/auth/createAccessTokenSource';
import { DataverseAuthenticationError } from '../../../../shared/dataverse/auth/dataverseAuthenticationError';
import { createForwardingNetworkClient } from '../../../../dev/identity/forwardingNetworkClient';
import { startLocalIdentity, type LocalIdentityServer } from '../../../../dev/identity/localIdentity';
import { fakeDateOnly } from './fakeDate';

const tenantId = '3b1f2a7c-5d3e-4f10-9a2b-6c7d8e9f0a1b';
const secretClientId = '0e5f9a61-3c1d-4a8b-9f20-7d6c5b4a3e21';
const certClientId = '9c2d7e14-6b5a-4f3c-8e1d-2a0b9c8d7e6f';
const clientSecret = 'Q8x~local-client-secret-value_42';
const orgUrl = 'https://contoso.crm.dynamics.com';

let server: LocalIdentityServer;
let certificate: { private: string; cert: string };
let networkClient: INetworkModule;
/** Every URL msal asked for, to prove there is nothing but the expected calls. */
let msalRequests: string[];

function countingClient(inner: INetworkModule): INetworkModule {
  return {
    sendGetRequestAsync: (url, options) => {
      msalRequests.push(`GET ${url}`);
      return inner.sendGetRequestAsync(url, options);
    },
    sendPostRequestAsync: (url, options) => {
      msalRequests.push(`POST ${url}`);
      return inner.sendPostRequestAsync(url, options);
    },
  };
}

const tokenRequests = () => server.identity.requests().filter((r) => r.kind === 'token');

function settingsFor(env: Record<string, string>) {
  return loadSettings({
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    DATAVERSE_URL: orgUrl,
    DATAVERSE_TENANT_ID: tenantId,
    ...env,
  });
}

beforeAll(async () => {
  certificate = await generate([{ name: 'commonName', value: 'dataverse-loader-test' }], {
    keySize: 2048,
    algorithm: 'sha256',
  });
  server = await startLocalIdentity({
    strict: true,
    clients: [
      { clientId: secretClientId, clientSecret },
      { clientId: certClientId, certificatePem: certificate.cert },
    ],
  });
  networkClient = createForwardingNetworkClient(server.url);
});
afterAll(() => server.close());
beforeEach(() => {
  msalRequests = [];
  server.identity.configure({ tokenTtlSeconds: 3600 });
});

describe('client secret', () => {
  const secretSettings = () =>
    settingsFor({ DATAVERSE_CLIENT_ID: secretClientId, DATAVERSE_CLIENT_SECRET: clientSecret });

  test('gets a token for <DATAVERSE_URL>/.default and serves the next call from the cache', async () => {
    const source = createAccessTokenSource(secretSettings(), { networkClient: countingClient(networkClient) });
    const before = tokenRequests().length;
    const token = await source.getAccessToken();
    const claims = await server.identity.verifyToken(token);
    expect(claims).toMatchObject({ aud: orgUrl, appid: secretClientId, tid: tenantId });
    const sent = tokenRequests().slice(before);
    expect(sent).toEqual([
      { kind: 'token', status: 200, clientId: secretClientId, scope: `${orgUrl}/.default`, credential: 'secret' },
    ]);

    expect(await source.getAccessToken()).toBe(token);
    expect(tokenRequests().length).toBe(before + 1);
    // msal-node knows the public cloud's endpoints: the token POST is its only request.
    expect(msalRequests).toEqual([
      expect.stringMatching(new RegExp(`^POST https://login\\.microsoftonline\\.com/${tenantId}/oauth2/v2\\.0/token`)),
    ]);
  });

  test('forceRefresh bypasses the cache and gets a new token', async () => {
    const source = createAccessTokenSource(secretSettings(), { networkClient });
    const first = await source.getAccessToken();
    const before = tokenRequests().length;
    const refreshed = await source.getAccessToken({ forceRefresh: true });
    expect(refreshed).not.toBe(first);
    expect(tokenRequests().length).toBe(before + 1);
    expect(await source.getAccessToken()).toBe(refreshed);
    expect(tokenRequests().length).toBe(before + 1);
  });

  test('concurrent callers share one token request', async () => {
    const source = createAccessTokenSource(secretSettings(), { networkClient });
    const before = tokenRequests().length;
    const tokens = await Promise.all(Array.from({ length: 20 }, () => source.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(tokenRequests().length).toBe(before + 1);
    const forced = await Promise.all(Array.from({ length: 5 }, () => source.getAccessToken({ forceRefresh: true })));
    expect(new Set(forced).size).toBe(1);
    expect(forced[0]).not.toBe(tokens[0]);
    expect(tokenRequests().length).toBe(before + 2);
  });

  test('renews the token before it expires: cached until 5 minutes before exp, then fetched again', async () => {
    fakeDateOnly();
    try {
      server.identity.configure({ tokenTtlSeconds: 900 });
      const source = createAccessTokenSource(secretSettings(), { networkClient });
      const before = tokenRequests().length;
      const first = await source.getAccessToken();
      const exp = (await server.identity.verifyToken(first))!.exp;

      jest.setSystemTime((exp - 300 - 30) * 1000);
      expect(await source.getAccessToken()).toBe(first);
      expect(tokenRequests().length).toBe(before + 1);

      jest.setSystemTime((exp - 300 + 30) * 1000); // still valid for 4.5 minutes, but inside msal's renewal margin
      const renewed = await source.getAccessToken();
      expect(renewed).not.toBe(first);
      expect(tokenRequests().length).toBe(before + 2);
      expect((await server.identity.verifyToken(renewed))!.exp).toBeGreaterThan(exp);
    } finally {
      jest.useRealTimers();
    }
  });

  test('a wrong secret is a typed error naming the auth mode, without the secret', async () => {
    const wrongSecret = 'Zz9~this-is-the-wrong-secret';
    const logs: string[] = [];
    const source = createAccessTokenSource(
      settingsFor({ DATAVERSE_CLIENT_ID: secretClientId, DATAVERSE_CLIENT_SECRET: wrongSecret }),
      {
        networkClient,
        logLevel: 'verbose',
        log: (_level, message) => logs.push(message),
      },
    );
    const error = await source.getAccessToken().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DataverseAuthenticationError);
    const authError = error as DataverseAuthenticationError;
    expect(authError).toMatchObject({
      code: 'InvalidClientCredentials',
      authMode: 'clientSecret',
      msalErrorCode: 'invalid_client',
    });
    expect(authError.message).toContain('DATAVERSE_AUTH=clientSecret');
    expect(authError.message).toContain(secretClientId);
    expect(authError.message).toContain('AADSTS7000215');
    for (const text of [authError.message, inspect(authError, { depth: 10 }), ...logs])
      expect(text).not.toContain(wrongSecret);
    expect(logs.length).toBeGreaterThan(0);
  });

  test('an unknown client is refused as invalid credentials', async () => {
    const source = createAccessTokenSource(
      settingsFor({ DATAVERSE_CLIENT_ID: '11111111-2222-4333-8444-555555555555', DATAVERSE_CLIENT_SECRET: 'whatever' }),
      { networkClient },
    );
    await expect(source.getAccessToken()).rejects.toMatchObject({
      code: 'InvalidClientCredentials',
      msalErrorCode: 'unauthorized_client',
    });
  });

  test('an aborted caller stops waiting with the abort reason', async () => {
    const source = createAccessTokenSource(secretSettings(), { networkClient });
    const controller = new AbortController();
    controller.abort(new Error('run cancelled'));
    await expect(source.getAccessToken({ abortSignal: controller.signal })).rejects.toThrow('run cancelled');
  });

  test('missing settings for the chosen mode are named', () => {
    expect(() => settingsFor({ DATAVERSE_AUTH: 'clientSecret', DATAVERSE_CLIENT_ID: secretClientId })).toThrow(
      /DATAVERSE_CLIENT_SECRET is required when DATAVERSE_AUTH is clientSecret/,
    );
  });
});

describe('client certificate', () => {
  const pemOf = (c: { private: string; cert: string }) => `${c.private}\n${c.cert}`;
  const certSettings = (env: Record<string, string>) => settingsFor({ DATAVERSE_CLIENT_ID: certClientId, ...env });
  const failureOf = (run: () => unknown): Promise<unknown> =>
    Promise.resolve()
      .then(run)
      .then(
        () => undefined,
        (e: unknown) => e,
      );

  test('signs a client assertion with the certificate (PEM text) and gets a token', async () => {
    const source = createAccessTokenSource(certSettings({ DATAVERSE_CLIENT_CERTIFICATE: pemOf(certificate) }), {
      networkClient,
    });
    const before = tokenRequests().length;
    const token = await source.getAccessToken();
    expect(await server.identity.verifyToken(token)).toMatchObject({ aud: orgUrl, appid: certClientId });
    expect(tokenRequests().slice(before)).toEqual([
      { kind: 'token', status: 200, clientId: certClientId, scope: `${orgUrl}/.default`, credential: 'assertion' },
    ]);
    expect(await source.getAccessToken()).toBe(token);
    expect(tokenRequests().length).toBe(before + 1);
  });

  test('reads the PEM from DATAVERSE_CLIENT_CERTIFICATE_PATH, with an encrypted key and its password', async () => {
    const passphrase = 'pem-passphrase-7731';
    const encrypted = createPrivateKey(certificate.private)
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase })
      .toString();
    const path = join(mkdtempSync(join(tmpdir(), 'dv-cert-')), 'app.pem');
    writeFileSync(path, `${encrypted}\n${certificate.cert}`);

    const source = createAccessTokenSource(
      certSettings({ DATAVERSE_CLIENT_CERTIFICATE_PATH: path, DATAVERSE_CLIENT_CERTIFICATE_PASSWORD: passphrase }),
      { networkClient },
    );
    expect(await server.identity.verifyToken(await source.getAccessToken())).toMatchObject({ appid: certClientId });

    const wrong = await failureOf(() =>
      createAccessTokenSource(
        certSettings({ DATAVERSE_CLIENT_CERTIFICATE_PATH: path, DATAVERSE_CLIENT_CERTIFICATE_PASSWORD: 'not-it' }),
        { networkClient },
      ),
    );
    expect(wrong).toMatchObject({ code: 'InvalidCertificate', authMode: 'clientCertificate' });
    expect((wrong as Error).message).toMatch(
      /DATAVERSE_CLIENT_CERTIFICATE_PATH: the private key cannot be decrypted with DATAVERSE_CLIENT_CERTIFICATE_PASSWORD/,
    );
    expect(inspect(wrong)).not.toContain('not-it');

    const none = await failureOf(() =>
      createAccessTokenSource(certSettings({ DATAVERSE_CLIENT_CERTIFICATE_PATH: path }), { networkClient }),
    );
    expect((none as Error).message).toMatch(/encrypted keys need DATAVERSE_CLIENT_CERTIFICATE_PASSWORD/);
  });

  test("an unreadable file, a PEM without key, and a key that is not the certificate's are named before any request", async () => {
    const missing = await failureOf(() =>
      createAccessTokenSource(certSettings({ DATAVERSE_CLIENT_CERTIFICATE_PATH: '/nonexistent/app.pem' })),
    );
    expect(missing).toMatchObject({
      code: 'InvalidCertificate',
      message: expect.stringMatching(/^DATAVERSE_CLIENT_CERTIFICATE_PATH: cannot read .*ENOENT/),
    });

    const noKey = await failureOf(() =>
      createAccessTokenSource(certSettings({ DATAVERSE_CLIENT_CERTIFICATE: certificate.cert })),
    );
    expect((noKey as Error).message).toBe(
      'DATAVERSE_CLIENT_CERTIFICATE: expected a PEM with a private key and a certificate; found no private key',
    );

    const other = await generate([{ name: 'commonName', value: 'other' }], { keySize: 2048, algorithm: 'sha256' });
    const mismatched = await failureOf(() =>
      createAccessTokenSource(certSettings({ DATAVERSE_CLIENT_CERTIFICATE: `${other.private}\n${certificate.cert}` })),
    );
    expect((mismatched as Error).message).toMatch(/private key does not belong to the first certificate/);
    expect(inspect(mismatched)).not.toContain(other.private.split('\n')[1]);
  });

  test('a certificate not registered for the app is refused as invalid credentials, naming the mode', async () => {
    const other = await generate([{ name: 'commonName', value: 'impostor' }], { keySize: 2048, algorithm: 'sha256' });
    const logs: string[] = [];
    const source = createAccessTokenSource(certSettings({ DATAVERSE_CLIENT_CERTIFICATE: pemOf(other) }), {
      networkClient,
      logLevel: 'verbose',
      log: (_level, message) => logs.push(message),
    });
    const error = await failureOf(() => source.getAccessToken());
    expect(error).toBeInstanceOf(DataverseAuthenticationError);
    expect(error).toMatchObject({
      code: 'InvalidClientCredentials',
      authMode: 'clientCertificate',
      msalErrorCode: 'invalid_client',
    });
    expect((error as Error).message).toMatch(/DATAVERSE_AUTH=clientCertificate.*AADSTS700027/);
    const keyBody = createPrivateKey(other.private).export({ type: 'pkcs8', format: 'pem' }).toString().split('\n')[1]!;
    for (const text of [inspect(error, { depth: 10 }), ...logs]) expect(text).not.toContain(keyBody);
  });
});
