import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, jwtVerify, SignJWT } from 'jose';
import { generate } from 'selfsigned';
import { createLocalIdentity, startLocalIdentity, type LocalIdentityServer } from '../../../dev/identity/localIdentity';

const tenant = '3b1f2a7c-5d3e-4f10-9a2b-6c7d8e9f0a1b';
const clientId = '0e5f9a61-3c1d-4a8b-9f20-7d6c5b4a3e21';
const certClientId = '9c2d7e14-6b5a-4f3c-8e1d-2a0b9c8d7e6f';
const orgUrl = 'https://contoso.crm.dynamics.com';
let server: LocalIdentityServer;
let certificate: { private: string; cert: string };

async function postToken(form: Record<string, string>, path = `/${tenant}/oauth2/v2.0/token`) {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', body: new URLSearchParams(form) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A client assertion as msal-node builds it (PS256, x5t#S256, x5c), with fields to spoil. */
async function assertion(
  overrides: {
    iss?: string;
    sub?: string;
    aud?: string;
    exp?: number;
    key?: string;
    cert?: string;
    alg?: 'PS256' | 'RS256';
    x5c?: boolean;
  } = {},
) {
  const cert = new X509Certificate(overrides.cert ?? certificate.cert);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: 'j1' })
    .setProtectedHeader({
      alg: overrides.alg ?? 'PS256',
      'x5t#S256': createHash('sha256').update(cert.raw).digest('base64url'),
      ...(overrides.x5c === false ? {} : { x5c: [cert.raw.toString('base64')] }),
    })
    .setIssuer(overrides.iss ?? certClientId)
    .setSubject(overrides.sub ?? certClientId)
    .setAudience(overrides.aud ?? `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`)
    .setNotBefore(now)
    .setExpirationTime(overrides.exp ?? now + 600)
    .sign(createPrivateKey(overrides.key ?? certificate.private));
}

const assertionForm = async (overrides: Parameters<typeof assertion>[0] = {}) => ({
  grant_type: 'client_credentials',
  client_id: certClientId,
  scope: `${orgUrl}/.default`,
  client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  client_assertion: await assertion(overrides),
});

beforeAll(async () => {
  certificate = await generate([{ name: 'commonName', value: 'local-identity-test' }], {
    keySize: 2048,
    algorithm: 'sha256',
  });
  server = await startLocalIdentity({
    clients: [
      { clientId, clientSecret: 'right' },
      { clientId: certClientId, certificatePem: certificate.cert },
    ],
  });
});
afterAll(() => server.close());
beforeEach(() => server.identity.configure({ strict: false, identityHeader: undefined, tokenTtlSeconds: 3600 }));

describe('token endpoint (client credentials)', () => {
  test('issues an RS256 JWT with Entra app-token claims, verifiable with the JWKS', async () => {
    const { status, body } = await postToken({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: 'right',
      scope: `${orgUrl}/.default`,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const jwks = createRemoteJWKSet(new URL(`${server.url}/${tenant}/discovery/v2.0/keys`));
    const { payload, protectedHeader } = await jwtVerify(String(body.access_token), jwks, {
      audience: orgUrl,
      issuer: `https://sts.windows.net/${tenant}/`,
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({ appid: clientId, tid: tenant, idtyp: 'app' });
    expect(payload.oid).toBe(payload.sub);
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  test('refuses a wrong secret for a registered client, like Entra (401 invalid_client, AADSTS7000215)', async () => {
    const { status, body } = await postToken({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: 'wrong',
      scope: `${orgUrl}/.default`,
    });
    expect(status).toBe(401);
    expect(body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    expect(String(body.error_description)).toMatch(/^AADSTS7000215: Invalid client secret provided/);
  });

  test('accepts any client when not strict, and only registered ones when strict', async () => {
    const stranger = {
      grant_type: 'client_credentials',
      client_id: 'aaaaaaaa-0000-4000-8000-000000000000',
      client_secret: 'x',
      scope: `${orgUrl}/.default`,
    };
    expect((await postToken(stranger)).status).toBe(200);
    server.identity.configure({ strict: true });
    const refused = await postToken(stranger);
    expect(refused).toMatchObject({ status: 400, body: { error: 'unauthorized_client', error_codes: [700016] } });
  });

  test.each([
    [{ grant_type: 'password' }, 400, 'unsupported_grant_type'],
    [{ client_id: '' }, 400, 'invalid_request'],
    [{ scope: `${orgUrl}/user_impersonation` }, 400, 'invalid_scope'],
    [{ client_secret: undefined }, 401, 'invalid_client'],
  ])('refuses a malformed request %j', async (patch, status, error) => {
    const form: Record<string, string | undefined> = {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: 'right',
      scope: `${orgUrl}/.default`,
      ...patch,
    };
    const clean = Object.fromEntries(Object.entries(form).filter(([, v]) => v !== undefined)) as Record<string, string>;
    expect(await postToken(clean)).toMatchObject({ status, body: { error } });
  });

  test('verifies client assertions: signature, thumbprint, issuer, audience, expiry', async () => {
    expect((await postToken(await assertionForm())).status).toBe(200);
    expect((await postToken(await assertionForm({ alg: 'RS256' }))).status).toBe(200);

    const other = await generate([{ name: 'commonName', value: 'other' }], { keySize: 2048, algorithm: 'sha256' });
    // Signed by another key but claiming the registered certificate: the signature does not verify.
    expect(await postToken(await assertionForm({ key: other.private }))).toMatchObject({
      status: 401,
      body: { error_codes: [700027] },
    });
    // Another certificate altogether, for a client registered with a certificate: the thumbprint is unknown.
    expect(await postToken(await assertionForm({ key: other.private, cert: other.cert }))).toMatchObject({
      status: 401,
      body: { error_codes: [700027] },
    });
    expect(await postToken(await assertionForm({ iss: clientId }))).toMatchObject({
      status: 401,
      body: { error_codes: [700021] },
    });
    expect(await postToken(await assertionForm({ aud: 'https://elsewhere.example/token' }))).toMatchObject({
      status: 401,
      body: { error_codes: [700212] },
    });
    expect(await postToken(await assertionForm({ exp: Math.floor(Date.now() / 1000) - 3600 }))).toMatchObject({
      status: 401,
      body: { error_codes: [700024] },
    });
    const garbage = { ...(await assertionForm()), client_assertion: 'not.a.jwt' };
    expect(await postToken(garbage)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  test('an unregistered client may sign with the certificate it sends in x5c (not strict), but needs one', async () => {
    const other = await generate([{ name: 'commonName', value: 'unregistered' }], {
      keySize: 2048,
      algorithm: 'sha256',
    });
    const unregistered = 'bbbbbbbb-0000-4000-8000-000000000000';
    const sign = async (x5c: boolean) => ({
      ...(await assertionForm({ key: other.private, cert: other.cert, iss: unregistered, sub: unregistered, x5c })),
      client_id: unregistered,
    });
    expect((await postToken(await sign(true))).status).toBe(200);
    expect(await postToken(await sign(false))).toMatchObject({ status: 401, body: { error_codes: [700027] } });
  });
});

describe('App Service managed identity endpoint', () => {
  const get = async (query: string, headers: Record<string, string> = { 'X-IDENTITY-HEADER': 'h' }) => {
    const response = await fetch(`${server.managedIdentityEndpoint}?${query}`, { headers });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  test('answers { access_token, expires_on (epoch seconds as a string), resource, token_type }', async () => {
    const { status, body } = await get(`api-version=2019-08-01&resource=${encodeURIComponent(orgUrl)}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ resource: orgUrl, token_type: 'Bearer' });
    expect(body.expires_on).toMatch(/^\d{10}$/);
    const claims = await server.identity.verifyToken(String(body.access_token));
    expect(claims).toMatchObject({ aud: orgUrl });
    expect(String(claims!.exp)).toBe(body.expires_on);
  });

  test('requires X-IDENTITY-HEADER (and its configured value), the api-version and a resource', async () => {
    expect((await get(`api-version=2019-08-01&resource=${orgUrl}`, {})).status).toBe(401);
    server.identity.configure({ identityHeader: 'expected' });
    expect((await get(`api-version=2019-08-01&resource=${orgUrl}`, { 'X-IDENTITY-HEADER': 'h' })).status).toBe(401);
    expect((await get(`api-version=2019-08-01&resource=${orgUrl}`, { 'X-IDENTITY-HEADER': 'expected' })).status).toBe(
      200,
    );
    expect((await get(`api-version=2017-09-01&resource=${orgUrl}`, { 'X-IDENTITY-HEADER': 'expected' })).status).toBe(
      400,
    );
    expect((await get('api-version=2019-08-01', { 'X-IDENTITY-HEADER': 'expected' })).status).toBe(400);
  });
});

describe('discovery and verification', () => {
  test('OpenID metadata speaks in the URLs the client used (X-Forwarded-*)', async () => {
    const response = await fetch(`${server.url}/${tenant}/v2.0/.well-known/openid-configuration`, {
      headers: {
        'x-forwarded-host': 'login.microsoftonline.com',
        'x-forwarded-proto': 'https',
        'x-forwarded-prefix': '',
      },
    });
    expect(await response.json()).toMatchObject({
      token_endpoint: `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`,
      jwks_uri: `https://login.microsoftonline.com/${tenant}/discovery/v2.0/keys`,
      issuer: `https://login.microsoftonline.com/${tenant}/v2.0`,
    });
  });

  test('verifyToken accepts its own tokens only, unexpired and untampered', async () => {
    const identity = server.identity;
    const token = await identity.issueToken({ sub: 'caller-1', aud: orgUrl, appid: clientId });
    expect(await identity.verifyToken(token)).toMatchObject({
      sub: 'caller-1',
      aud: orgUrl,
      appid: clientId,
      oid: 'caller-1',
    });
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(token), sub: 'admin' })).toString('base64url');
    expect(await identity.verifyToken(`${h}.${forged}.${s}`)).toBeUndefined();
    expect(
      await identity.verifyToken(await createLocalIdentity().issueToken({ sub: 'x', aud: orgUrl })),
    ).toBeUndefined();
    expect(await identity.verifyToken(await identity.issueToken({ sub: 'x', aud: orgUrl }, -60))).toBeUndefined();
    expect(await identity.verifyToken('opaque')).toBeUndefined();
    expect(p).toBeDefined();
  });

  test('handle() mounts on any server and leaves other paths alone', async () => {
    const identity = createLocalIdentity();
    const other = createServer((req, res) => {
      if (identity.handle(req, res)) return;
      res.writeHead(418).end('mine');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    try {
      expect((await fetch(`${base}/api/data/v9.2/accounts`)).status).toBe(418);
      const keys = (await (await fetch(`${base}/_identity/common/discovery/v2.0/keys`)).json()) as {
        keys: { kty: string; alg: string; kid: string }[];
      };
      expect(keys.keys).toEqual([expect.objectContaining({ kty: 'RSA', alg: 'RS256' })]);
      expect((await fetch(`${base}/_identity/nothing-here`)).status).toBe(404);
    } finally {
      other.closeAllConnections();
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });
});
