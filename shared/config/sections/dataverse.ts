import { z } from 'zod';
import type { SecretValue } from '../secretValue';
import { identitiesExpected, parseIdentities, type DataverseIdentitySettings } from './dataverseIdentities';
import {
  defineSection,
  guid,
  httpsUrl,
  integerInRange,
  oneOf,
  reportSettingProblem,
  secretString,
  setting,
  tableName,
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
  /** The default identity (`auth`, named `default`) first, then DATAVERSE_IDENTITIES: the pool of application users. */
  identities: DataverseIdentitySettings[];
  /** DATAVERSE_DAILY_REQUEST_BUDGET: requests per rolling 24 h before new chunks wait; undefined = no budget. */
  dailyRequestBudget?: number;
  /** Table of the daily request meter (shared by every instance). */
  requestMeterTable: string;
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
        'Cap on concurrent Web API requests per identity (with DATAVERSE_IDENTITIES each application user has its own). The client starts from the x-ms-dop-hint response header and adapts to 429s, never above this cap.',
      expected: 'an integer from 1 to 1000',
    }),
    DATAVERSE_EXECUTION_MODE: setting(oneOf(['batch', 'bulk', 'auto']).default('auto'), {
      description:
        'batch: $batch (ExecuteMultiple semantics); bulk: CreateMultiple/UpdateMultiple/UpsertMultiple; auto: bulk where the table supports it, else batch.',
      expected: 'one of batch, bulk, auto',
    }),
    DATAVERSE_IDENTITIES: setting(z.string().optional(), {
      description:
        'Further application users for the environment (service protection limits are per user), beside the default identity of the DATAVERSE_AUTH settings: JSON, e.g. [{"name":"loader-2","auth":"managedIdentity","clientId":"<guid>"}, {"name":"loader-3","auth":"clientSecret","clientId":"<guid>","secretSetting":"LOADER3_SECRET"}]. A secret or certificate is never in the JSON: secretSetting / certificateSetting / certificatePasswordSetting name the app setting holding it (a Key Vault reference in Azure); certificatePath names a PEM file; tenantId defaults to DATAVERSE_TENANT_ID.',
      expected: identitiesExpected,
    }),
    DATAVERSE_DAILY_REQUEST_BUDGET: setting(integerInRange(1, 1_000_000_000).optional(), {
      description:
        'Requests the app may send to the environment per rolling 24 hours, counted as Dataverse counts them toward the Power Platform request entitlement (each operation of a $batch, each target of CreateMultiple/UpsertMultiple). At 80 % a warning event; at 100 % new chunks wait (the load shows waiting: daily request budget). Unset: counted, never waited for.',
      expected: 'an integer from 1 to 1000000000',
    }),
    DATAVERSE_REQUEST_METER_TABLE: setting(tableName().default('requestmeter'), {
      description:
        'Table storage table of the daily request meter: request counts per 5-minute bucket, shared by every instance (ETag-guarded).',
      expected: 'a table name (3-63 letters and digits, starting with a letter)',
    }),
  },
  (v, ctx, others): DataverseSettings => {
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
    const identities = parseIdentities(v.DATAVERSE_IDENTITIES, {
      ctx,
      others,
      defaultAuth: auth,
      tenantId: v.DATAVERSE_TENANT_ID,
      authorityHost: v.DATAVERSE_AUTHORITY_HOST.replace(/\/$/, ''),
    });
    if (!identities) return z.NEVER;
    return {
      url: new URL(v.DATAVERSE_URL).origin,
      auth,
      maxBatchSize: v.DATAVERSE_MAX_BATCH_SIZE,
      maxConcurrency: v.DATAVERSE_MAX_CONCURRENCY,
      executionMode: v.DATAVERSE_EXECUTION_MODE,
      identities,
      ...(v.DATAVERSE_DAILY_REQUEST_BUDGET !== undefined
        ? { dailyRequestBudget: v.DATAVERSE_DAILY_REQUEST_BUDGET }
        : {}),
      requestMeterTable: v.DATAVERSE_REQUEST_METER_TABLE,
    };
  },
);
