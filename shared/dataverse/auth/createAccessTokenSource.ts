/**
 * The msal-node backed `AccessTokenSource`s: client secret and client certificate through
 * ConfidentialClientApplication (scope `<DATAVERSE_URL>/.default`), managed identity through
 * ManagedIdentityApplication (resource `<DATAVERSE_URL>`). msal keeps the tokens in its in-memory
 * cache and treats them as expired 5 minutes before `exp`, so a token is renewed before Dataverse
 * would refuse it; `forceRefresh` skips the cache.
 */
import {
  AuthError,
  ConfidentialClientApplication,
  LogLevel,
  ManagedIdentityApplication,
  type AuthenticationResult,
  type INetworkModule,
  type NodeSystemOptions,
} from '@azure/msal-node';
import type { DataverseAuthSettings, DataverseSettings } from '../../config/settings';
import type { AccessTokenSource } from './accessTokenSource';
import { loadClientCertificate } from './clientCertificate';
import { DataverseAuthenticationError } from './dataverseAuthenticationError';
import { withSharedTokenRequests } from './sharedTokenRequests';

export type AuthLogLevel = 'error' | 'warning' | 'info' | 'verbose';

export interface AccessTokenSourceOptions {
  /** msal-node's HTTP client; tests pass one that forwards to the local identity endpoint. Never a setting. */
  networkClient?: INetworkModule;
  /** Receives msal-node's log lines (PII logging is always off). */
  log?: (level: AuthLogLevel, message: string) => void;
  /** Least severe msal level passed to `log`; default warning. */
  logLevel?: AuthLogLevel;
}

const msalLevels: Record<AuthLogLevel, LogLevel> = {
  error: LogLevel.Error,
  warning: LogLevel.Warning,
  info: LogLevel.Info,
  verbose: LogLevel.Verbose,
};

type LoggerOptions = NonNullable<NodeSystemOptions['loggerOptions']>;

function loggerOptions(options: AccessTokenSourceOptions, redact: (text: string) => string): LoggerOptions {
  const names = new Map<LogLevel, AuthLogLevel>(
    Object.entries(msalLevels).map(([name, level]) => [level, name as AuthLogLevel]),
  );
  return {
    piiLoggingEnabled: false,
    logLevel: msalLevels[options.logLevel ?? 'warning'],
    loggerCallback: (level: LogLevel, message: string, containsPii: boolean) => {
      if (containsPii || !options.log) return;
      options.log(names.get(level) ?? 'info', redact(message));
    },
  };
}

function redactor(secrets: readonly string[]): (text: string) => string {
  const present = secrets.filter((s) => s.length > 0);
  return (text) => present.reduce((out, secret) => out.split(secret).join('[secret]'), text);
}

function describeClient(auth: DataverseAuthSettings): string {
  if (auth.mode === 'managedIdentity')
    return auth.clientId ? `user-assigned managed identity ${auth.clientId}` : 'system-assigned managed identity';
  return `client ${auth.clientId} in tenant ${auth.tenantId}`;
}

/** `DATAVERSE_AUTH=clientSecret` for the default identity, `identity 'loader-2' of DATAVERSE_IDENTITIES` for the others. */
function describeIdentity(auth: DataverseAuthSettings, identityName: string | undefined): string {
  return identityName === undefined
    ? `DATAVERSE_AUTH=${auth.mode}`
    : `identity '${identityName}' of DATAVERSE_IDENTITIES, ${auth.mode}`;
}

function toAuthenticationError(
  error: unknown,
  auth: DataverseAuthSettings,
  redact: (text: string) => string,
  identityName?: string,
): DataverseAuthenticationError {
  if (error instanceof DataverseAuthenticationError) return error;
  const msalErrorCode = error instanceof AuthError && error.errorCode ? error.errorCode : undefined;
  const detail =
    error instanceof AuthError
      ? [error.errorCode, error.errorMessage].filter(Boolean).join(': ')
      : error instanceof Error
        ? error.message
        : String(error);
  const code =
    msalErrorCode === 'invalid_client' || msalErrorCode === 'unauthorized_client'
      ? 'InvalidClientCredentials'
      : auth.mode === 'managedIdentity'
        ? 'ManagedIdentityFailed'
        : 'AuthenticationFailed';
  return new DataverseAuthenticationError({
    code,
    authMode: auth.mode,
    message: redact(
      `Dataverse authentication failed (${describeIdentity(auth, identityName)}, ${describeClient(auth)}): ${detail}`,
    ),
    ...(msalErrorCode ? { msalErrorCode } : {}),
  });
}

function tokenOf(result: AuthenticationResult | null, auth: DataverseAuthSettings): string {
  if (!result?.accessToken) {
    throw new DataverseAuthenticationError({
      code: 'AuthenticationFailed',
      authMode: auth.mode,
      message: `Dataverse authentication (${auth.mode}) returned no access token`,
    });
  }
  return result.accessToken;
}

export function createAccessTokenSource(
  settings: { dataverse: DataverseSettings },
  options: AccessTokenSourceOptions = {},
): AccessTokenSource {
  return createIdentityTokenSource(settings.dataverse.url, settings.dataverse.auth, options);
}

/**
 * The token source of one identity of the pool (its own msal application and token cache). `name` is given for
 * the identities of DATAVERSE_IDENTITIES, so an authentication error says which one failed.
 */
export function createIdentityTokenSource(
  url: string,
  auth: DataverseAuthSettings,
  options: AccessTokenSourceOptions = {},
  name?: string,
): AccessTokenSource {
  const system = (redact: (text: string) => string) => ({
    loggerOptions: loggerOptions(options, redact),
    ...(options.networkClient ? { networkClient: options.networkClient } : {}),
  });

  if (auth.mode === 'managedIdentity') {
    const redact = redactor([]);
    const app = new ManagedIdentityApplication({
      ...(auth.clientId ? { managedIdentityIdParams: { userAssignedClientId: auth.clientId } } : {}),
      system: system(redact),
    });
    return withSharedTokenRequests(async (forceRefresh) => {
      try {
        return tokenOf(await app.acquireToken({ resource: url, forceRefresh }), auth);
      } catch (error) {
        throw toAuthenticationError(error, auth, redact, name);
      }
    });
  }

  const authority = `${auth.authorityHost}/${auth.tenantId}`;
  let credential: { clientSecret: string } | { clientCertificate: ReturnType<typeof loadClientCertificate> };
  let secrets: string[];
  if (auth.mode === 'clientSecret') {
    credential = { clientSecret: auth.clientSecret.reveal() };
    secrets = [auth.clientSecret.reveal()];
  } else {
    const certificate = loadClientCertificate(auth);
    credential = { clientCertificate: certificate };
    secrets = [certificate.privateKey, ...(auth.certificatePassword ? [auth.certificatePassword.reveal()] : [])];
  }
  const redact = redactor(secrets);
  const app = new ConfidentialClientApplication({
    auth: { clientId: auth.clientId, authority, ...credential },
    system: system(redact),
  });
  const scopes = [`${url}/.default`];
  return withSharedTokenRequests(async (forceRefresh) => {
    try {
      return tokenOf(await app.acquireTokenByClientCredential({ scopes, skipCache: forceRefresh }), auth);
    } catch (error) {
      throw toAuthenticationError(error, auth, redact, name);
    }
  });
}
