/**
 * A local stand-in for Microsoft Entra: the OAuth 2.0 client-credentials token endpoint, the App Service
 * managed-identity endpoint and the JWKS, issuing RS256 JWTs shaped like Entra's app-only v1 tokens.
 * The real msal-node code talks to it (docs/design.md §"Local identity"); the emulator mounts `handle`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK, type KeyLike } from 'jose';
import { checkClientAssertion } from './clientAssertion';

export interface RegisteredClient {
  clientId: string;
  /** Accepted client secret; when absent the client must use a certificate. */
  clientSecret?: string;
  /** PEM of the client's certificate (public part); assertions must verify with it. */
  certificatePem?: string;
}

export interface LocalIdentityOptions {
  /** Token `iss`; default `https://sts.windows.net/<tenant>/` as in Entra v1 access tokens. */
  issuer?: string;
  /** Tenant of managed-identity tokens, and of client tokens whose path names no GUID tenant. */
  tenantId?: string;
  clients?: RegisteredClient[];
  /** Only registered clients get tokens; otherwise any client id with any secret or well-signed assertion does. */
  strict?: boolean;
  /** Required value of `X-IDENTITY-HEADER`; when absent any non-empty value passes (the header itself is always required). */
  identityHeader?: string;
  /** Client id of the app's system-assigned managed identity. */
  managedIdentityClientId?: string;
  /** Lifetime of issued tokens; default 3600 s. */
  tokenTtlSeconds?: number;
}

export interface IdentityRequestRecord {
  kind: 'token' | 'managedIdentity' | 'jwks' | 'openidConfiguration' | 'instanceDiscovery';
  status: number;
  clientId?: string;
  /** `scope` of a client-credentials request, `resource` of a managed-identity one. */
  scope?: string;
  credential?: 'secret' | 'assertion';
}

export interface IssuedClaims {
  sub: string;
  aud: string;
  appid?: string;
  oid?: string;
  tid?: string;
}

export interface LocalIdentity {
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  issueToken(claims: IssuedClaims, ttlSeconds?: number): Promise<string>;
  verifyToken(token: string): Promise<(IssuedClaims & { exp: number }) | undefined>;
  /** Every request answered so far, oldest first (tests count token requests with it). */
  requests(): readonly IdentityRequestRecord[];
  configure(patch: Partial<Omit<LocalIdentityOptions, 'issuer'>>): void;
}

const defaultTenant = '00000000-0000-4000-8000-00000000e1d1';
const guidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Stable object id of a client's service principal, so the same app is the same caller across runs. */
function servicePrincipalId(clientId: string): string {
  const h = createHash('sha256').update(`sp:${clientId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Entra's error body: `{ error, error_description: "AADSTS<code>: ...", error_codes, timestamp, trace_id, correlation_id }`. */
function entraError(res: ServerResponse, status: number, error: string, code: number, description: string): void {
  json(res, status, {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
    error_codes: [code],
    timestamp: new Date().toISOString(),
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
  });
}

async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The public base URL as the client sees it; a forwarding client says so with the usual X-Forwarded-* headers. */
function publicBase(req: IncomingMessage): string {
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const proto = header('x-forwarded-proto') ?? 'http';
  const host = header('x-forwarded-host') ?? header('host') ?? '127.0.0.1';
  const prefix = header('x-forwarded-prefix') ?? '/_identity';
  return `${proto}://${host}${prefix}`;
}

export function createLocalIdentity(initial: LocalIdentityOptions = {}): LocalIdentity {
  let options: LocalIdentityOptions = { ...initial };
  const tenantId = () => options.tenantId ?? defaultTenant;
  const issuerFor = (tid: string) => initial.issuer ?? `https://sts.windows.net/${tid}/`;
  const keyId = randomUUID();
  const keys: Promise<{ privateKey: KeyLike; publicKey: KeyLike; jwk: JWK }> = generateKeyPair('RS256').then(
    async ({ privateKey, publicKey }) => ({
      privateKey,
      publicKey,
      jwk: { ...(await exportJWK(publicKey)), kid: keyId, use: 'sig', alg: 'RS256' },
    }),
  );
  const log: IdentityRequestRecord[] = [];
  const record = (entry: IdentityRequestRecord) => log.push(entry);

  const issueToken = async (claims: IssuedClaims, ttlSeconds = options.tokenTtlSeconds ?? 3600): Promise<string> => {
    const { privateKey } = await keys;
    const tid = claims.tid ?? tenantId();
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      oid: claims.oid ?? claims.sub,
      appid: claims.appid ?? claims.sub,
      tid,
      idtyp: 'app',
      ver: '1.0',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: keyId })
      .setIssuer(issuerFor(tid))
      .setSubject(claims.sub)
      .setAudience(claims.aud)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ttlSeconds)
      .setJti(randomUUID())
      .sign(privateKey);
  };

  const verifyToken = async (token: string) => {
    try {
      const { publicKey } = await keys;
      const { payload } = await jwtVerify(token, publicKey, { algorithms: ['RS256'], issuer: initial.issuer });
      if (typeof payload.sub !== 'string' || typeof payload.aud !== 'string' || typeof payload.exp !== 'number')
        return undefined;
      const text = (name: string) => (typeof payload[name] === 'string' ? payload[name] : undefined);
      return {
        sub: payload.sub,
        aud: payload.aud,
        exp: payload.exp,
        oid: text('oid'),
        appid: text('appid'),
        tid: text('tid'),
      };
    } catch {
      return undefined;
    }
  };

  const clientToken = async (req: IncomingMessage, res: ServerResponse, tenant: string) => {
    const form = new URLSearchParams(await readBody(req));
    const clientId = form.get('client_id') ?? '';
    const scope = form.get('scope') ?? '';
    const entry: IdentityRequestRecord = { kind: 'token', status: 200, clientId, scope };
    const fail = (status: number, error: string, code: number, description: string) => {
      entry.status = status;
      record(entry);
      entraError(res, status, error, code, description);
    };
    if (form.get('grant_type') !== 'client_credentials')
      return fail(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    if (!clientId)
      return fail(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'client_id'.",
      );
    const resource = scope.split(' ').find((s) => s.endsWith('/.default'));
    if (!resource)
      return fail(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    const client = options.clients?.find((c) => c.clientId === clientId);
    if (!client && options.strict)
      return fail(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`,
      );

    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    if (secret !== null) {
      entry.credential = 'secret';
      if (client && client.clientSecret !== secret) {
        return fail(
          401,
          'invalid_client',
          7000215,
          `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
        );
      }
    } else if (assertion !== null) {
      entry.credential = 'assertion';
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
        return fail(
          400,
          'invalid_request',
          700023,
          'client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.',
        );
      }
      const check = await checkClientAssertion(assertion, {
        clientId,
        tenant,
        registeredCertificatePem: client?.certificatePem,
      });
      if (!check.ok) return fail(401, 'invalid_client', check.code, check.description);
    } else {
      return fail(
        401,
        'invalid_client',
        7000216,
        "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
      );
    }
    const ttl = options.tokenTtlSeconds ?? 3600;
    const tid = guidPattern.test(tenant) ? tenant : tenantId();
    const accessToken = await issueToken(
      { sub: servicePrincipalId(clientId), aud: resource.slice(0, -'/.default'.length), appid: clientId, tid },
      ttl,
    );
    record(entry);
    json(res, 200, { token_type: 'Bearer', expires_in: ttl, ext_expires_in: ttl, access_token: accessToken });
  };

  const managedIdentityToken = async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    await readBody(req);
    const resource = query.get('resource') ?? '';
    const clientId =
      query.get('client_id') ?? options.managedIdentityClientId ?? servicePrincipalId(`managed-identity:${tenantId()}`);
    const entry: IdentityRequestRecord = { kind: 'managedIdentity', status: 200, clientId, scope: resource };
    const fail = (status: number, message: string) => {
      entry.status = status;
      record(entry);
      json(res, status, { statusCode: status, message, correlationId: randomUUID() });
    };
    const header = req.headers['x-identity-header'];
    if (typeof header !== 'string' || header === '') return fail(401, 'The X-IDENTITY-HEADER header is missing.');
    if (options.identityHeader !== undefined && header !== options.identityHeader)
      return fail(401, 'The X-IDENTITY-HEADER header is not valid.');
    if (query.get('api-version') !== '2019-08-01') return fail(400, 'api-version 2019-08-01 is required.');
    if (!resource) return fail(400, 'The resource parameter is required.');
    const ttl = options.tokenTtlSeconds ?? 3600;
    const audience = resource.replace(/\/\.default$/, '');
    const accessToken = await issueToken(
      { sub: servicePrincipalId(`mi:${clientId}`), aud: audience, appid: clientId },
      ttl,
    );
    record(entry);
    json(res, 200, {
      access_token: accessToken,
      expires_on: String(Math.floor(Date.now() / 1000) + ttl),
      resource: audience,
      token_type: 'Bearer',
      client_id: clientId,
    });
  };

  const route = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const path = url.pathname.slice('/_identity'.length);
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/msi/token') return managedIdentityToken(req, res, url.searchParams);
    if (method === 'GET' && /^\/[^/]+\/discovery\/instance$/.test(path)) {
      const base = new URL(publicBase(req));
      record({ kind: 'instanceDiscovery', status: 200 });
      return json(res, 200, {
        tenant_discovery_endpoint: `${base.href.replace(/\/$/, '')}/{tenant}/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{ preferred_network: base.host, preferred_cache: base.host, aliases: [base.host] }],
      });
    }
    const tenantRoute = /^\/([^/]+)\/(.+)$/.exec(path);
    const tenant = tenantRoute?.[1] ?? '';
    const rest = tenantRoute?.[2] ?? '';
    if (method === 'POST' && rest === 'oauth2/v2.0/token') return clientToken(req, res, tenant);
    if (method === 'GET' && (rest === 'discovery/v2.0/keys' || rest === 'discovery/keys')) {
      record({ kind: 'jwks', status: 200 });
      return json(res, 200, { keys: [(await keys).jwk] });
    }
    if (method === 'GET' && rest === 'v2.0/.well-known/openid-configuration') {
      const base = `${publicBase(req)}/${tenant}`;
      record({ kind: 'openidConfiguration', status: 200 });
      return json(res, 200, {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        issuer: `${publicBase(req)}/${guidPattern.test(tenant) ? tenant : tenantId()}/v2.0`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        tenant_region_scope: 'NA',
      });
    }
    await readBody(req).catch(() => '');
    json(res, 404, {
      error: 'not_found',
      error_description: `No local identity endpoint at ${method} ${url.pathname}`,
    });
  };

  return {
    handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://local');
      if (url.pathname !== '/_identity' && !url.pathname.startsWith('/_identity/')) return false;
      route(req, res, url).catch((error: unknown) => {
        if (!res.headersSent)
          json(res, 500, {
            error: 'server_error',
            error_description: error instanceof Error ? error.message : 'failed',
          });
        else res.destroy();
      });
      return true;
    },
    issueToken,
    verifyToken,
    requests: () => [...log],
    configure(patch) {
      options = { ...options, ...patch };
    },
  };
}

export interface LocalIdentityServer {
  /** Base URL of the endpoints, e.g. `http://127.0.0.1:5050/_identity`. */
  url: string;
  /** The App Service managed identity endpoint, for `IDENTITY_ENDPOINT`. */
  managedIdentityEndpoint: string;
  port: number;
  identity: LocalIdentity;
  close(): Promise<void>;
}

/** Serves the local identity alone on 127.0.0.1 (tests; the emulator mounts `handle` on its own port instead). */
export async function startLocalIdentity(
  options: LocalIdentityOptions & { port?: number } = {},
): Promise<LocalIdentityServer> {
  const identity = createLocalIdentity(options);
  const server = createServer((req, res) => {
    if (!identity.handle(req, res)) json(res, 404, { error: 'not_found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/_identity`;
  return {
    url,
    managedIdentityEndpoint: `${url}/msi/token`,
    port,
    identity,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
