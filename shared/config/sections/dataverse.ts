import { z } from 'zod';
import type { SecretValue } from '../secretValue';
import {
  defineSection,
  guid,
  httpsUrl,
  integerInRange,
  oneOf,
  reportSettingProblem,
  secretString,
  setting,
} from '../settingTypes';

export const dataverseAuthModes = ['clientSecret', 'clientCertificate', 'managedIdentity'] as const;
export type DataverseAuthMode = (typeof dataverseAuthModes)[number];

interface EntraApplication {
  /** e.g. `https://login.microsoftonline.com`, no trailing slash. */
  authorityHost: string;
  tenantId: string;
  clientId: string;
}

export type DataverseAuthSettings =
  | ({ mode: 'clientSecret'; clientSecret: SecretValue } & EntraApplication)
  | ({
      mode: 'clientCertificate';
      /** PEM holding the private key and the certificate: a file, or the text itself. */
      certificate: { source: 'path'; path: string } | { source: 'pem'; pem: SecretValue };
      certificatePassword?: SecretValue;
    } & EntraApplication)
  | { mode: 'managedIdentity'; /** user-assigned identity; system-assigned when absent */ clientId?: string };

export interface DataverseSettings {
  /** Organization URL without trailing slash, e.g. `https://contoso.crm.dynamics.com`. */
  url: string;
  auth: DataverseAuthSettings;
  maxBatchSize: number;
  maxConcurrency: number;
  executionMode: 'batch' | 'bulk' | 'auto';
}

const tenant = () => z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/);

export const dataverseSection = defineSection(
  {
    DATAVERSE_URL: setting(httpsUrl({ originOnly: true }), {
      description:
        'Environment (organization) URL, e.g. https://contoso.crm.dynamics.com. The Web API is <url>/api/data/v9.2/ and the token scope <url>/.default.',
      expected: 'an https URL with no path (plain http only for localhost/127.0.0.1)',
    }),
    DATAVERSE_AUTH: setting(oneOf(dataverseAuthModes).optional(), {
      description:
        'How the app authenticates to Dataverse: clientSecret, clientCertificate or managedIdentity. When absent: clientSecret if DATAVERSE_CLIENT_SECRET is set, clientCertificate if a certificate is set, else managedIdentity.',
      expected: 'one of clientSecret, clientCertificate, managedIdentity',
    }),
    DATAVERSE_TENANT_ID: setting(tenant().optional(), {
      description:
        'Microsoft Entra tenant (directory) id or domain of the app registration. Required for clientSecret and clientCertificate.',
      expected: 'a tenant id (GUID) or domain name',
    }),
    DATAVERSE_CLIENT_ID: setting(guid().optional(), {
      description: 'Application (client) id of the app registration. Required for clientSecret and clientCertificate.',
      expected: 'a GUID',
    }),
    DATAVERSE_CLIENT_SECRET: setting(secretString().optional(), {
      description: 'Client secret of the app registration (clientSecret mode). Prefer a Key Vault reference.',
      expected: 'a non-empty secret',
      secret: true,
    }),
    DATAVERSE_CLIENT_CERTIFICATE_PATH: setting(z.string().min(1).optional(), {
      description: 'Path of a PEM file holding the private key and the certificate (clientCertificate mode).',
      expected: 'a file path',
    }),
    DATAVERSE_CLIENT_CERTIFICATE: setting(secretString().optional(), {
      description: 'The PEM text itself (private key and certificate), instead of DATAVERSE_CLIENT_CERTIFICATE_PATH.',
      expected: 'PEM text with a private key and a certificate',
      secret: true,
    }),
    DATAVERSE_CLIENT_CERTIFICATE_PASSWORD: setting(secretString().optional(), {
      description: 'Passphrase of an encrypted private key in the certificate PEM.',
      expected: 'a non-empty passphrase',
      secret: true,
    }),
    DATAVERSE_MANAGED_IDENTITY_CLIENT_ID: setting(guid().optional(), {
      description:
        'Client id of a user-assigned managed identity (managedIdentity mode). Absent: the system-assigned identity.',
      expected: 'a GUID',
    }),
    DATAVERSE_AUTHORITY_HOST: setting(httpsUrl({ originOnly: true }).default('https://login.microsoftonline.com'), {
      description:
        'Microsoft Entra authority host (sovereign clouds: https://login.microsoftonline.us, https://login.chinacloudapi.cn).',
      expected: 'an https URL with no path',
    }),
    DATAVERSE_MAX_BATCH_SIZE: setting(integerInRange(1, 1000).default(1000), {
      description:
        'Most requests per $batch (ExecuteMultiple) or per CreateMultiple/UpsertMultiple call. Lowered at run time when Dataverse reports a smaller limit.',
      expected: 'an integer from 1 to 1000',
    }),
    DATAVERSE_MAX_CONCURRENCY: setting(integerInRange(1, 1000).default(52), {
      description:
        'Cap on concurrent Web API requests. The client starts from the x-ms-dop-hint response header and adapts to 429s, never above this cap.',
      expected: 'an integer from 1 to 1000',
    }),
    DATAVERSE_EXECUTION_MODE: setting(oneOf(['batch', 'bulk', 'auto']).default('auto'), {
      description:
        'batch: $batch (ExecuteMultiple semantics); bulk: CreateMultiple/UpdateMultiple/UpsertMultiple; auto: bulk where the table supports it, else batch.',
      expected: 'one of batch, bulk, auto',
    }),
  },
  (v, ctx): DataverseSettings => {
    const certificateGiven =
      v.DATAVERSE_CLIENT_CERTIFICATE_PATH !== undefined || v.DATAVERSE_CLIENT_CERTIFICATE !== undefined;
    const mode: DataverseAuthMode =
      v.DATAVERSE_AUTH ??
      (v.DATAVERSE_CLIENT_SECRET ? 'clientSecret' : certificateGiven ? 'clientCertificate' : 'managedIdentity');
    const require = (name: string, present: boolean, what: string) => {
      if (!present)
        reportSettingProblem(ctx, name, `${name} is required when DATAVERSE_AUTH is ${mode}: expected ${what}`);
      return present;
    };
    const common = () => ({
      authorityHost: v.DATAVERSE_AUTHORITY_HOST.replace(/\/$/, ''),
      tenantId: v.DATAVERSE_TENANT_ID ?? '',
      clientId: v.DATAVERSE_CLIENT_ID ?? '',
    });
    let auth: DataverseAuthSettings;
    if (mode === 'managedIdentity') {
      auth = { mode, clientId: v.DATAVERSE_MANAGED_IDENTITY_CLIENT_ID };
    } else {
      const tenantOk = require('DATAVERSE_TENANT_ID', v.DATAVERSE_TENANT_ID !==
        undefined, 'a tenant id (GUID) or domain name');
      const clientOk = require('DATAVERSE_CLIENT_ID', v.DATAVERSE_CLIENT_ID !==
        undefined, 'the application (client) id, a GUID');
      if (mode === 'clientSecret') {
        const secretOk = require('DATAVERSE_CLIENT_SECRET', v.DATAVERSE_CLIENT_SECRET !==
          undefined, 'the client secret');
        if (!(tenantOk && clientOk && secretOk)) return z.NEVER;
        auth = { mode, ...common(), clientSecret: v.DATAVERSE_CLIENT_SECRET! };
      } else {
        if (v.DATAVERSE_CLIENT_CERTIFICATE_PATH !== undefined && v.DATAVERSE_CLIENT_CERTIFICATE !== undefined) {
          reportSettingProblem(
            ctx,
            'DATAVERSE_CLIENT_CERTIFICATE',
            'DATAVERSE_CLIENT_CERTIFICATE and DATAVERSE_CLIENT_CERTIFICATE_PATH are both set: expected only one of them',
          );
          return z.NEVER;
        }
        const certOk = require('DATAVERSE_CLIENT_CERTIFICATE_PATH', certificateGiven, 'a PEM file path (or the PEM text in DATAVERSE_CLIENT_CERTIFICATE)');
        if (!(tenantOk && clientOk && certOk)) return z.NEVER;
        auth = {
          mode,
          ...common(),
          certificate:
            v.DATAVERSE_CLIENT_CERTIFICATE !== undefined
              ? { source: 'pem', pem: v.DATAVERSE_CLIENT_CERTIFICATE }
              : { source: 'path', path: v.DATAVERSE_CLIENT_CERTIFICATE_PATH! },
          ...(v.DATAVERSE_CLIENT_CERTIFICATE_PASSWORD
            ? { certificatePassword: v.DATAVERSE_CLIENT_CERTIFICATE_PASSWORD }
            : {}),
        };
      }
    }
    return {
      url: new URL(v.DATAVERSE_URL).origin,
      auth,
      maxBatchSize: v.DATAVERSE_MAX_BATCH_SIZE,
      maxConcurrency: v.DATAVERSE_MAX_CONCURRENCY,
      executionMode: v.DATAVERSE_EXECUTION_MODE,
    };
  },
);
