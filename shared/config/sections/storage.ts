import { z } from 'zod';
import { defineSection, guid, reportSettingProblem, setting } from '../settingTypes';

/** Same shape as `StorageConnection` in shared/storage, which builds the SDK clients from it. */
export type StorageConnectionSettings =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; blobServiceUri: string; queueServiceUri: string; tableServiceUri: string; clientId?: string };

export interface StorageSettings {
  connection: StorageConnectionSettings;
}

/** Pairs of a connection string; values may contain '=' (base64 keys, SAS tokens). */
function connectionStringPairs(text: string): Map<string, string> | undefined {
  const pairs = new Map<string, string>();
  for (const part of text.split(';')) {
    if (part.trim() === '') continue;
    const at = part.indexOf('=');
    if (at <= 0) return undefined;
    pairs.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  return pairs;
}

export function isStorageConnectionString(text: string): boolean {
  const pairs = connectionStringPairs(text);
  if (!pairs) return false;
  if (pairs.get('usedevelopmentstorage')?.toLowerCase() === 'true') return true;
  const accountKey = pairs.get('accountkey');
  if (pairs.get('accountname') && accountKey) return /^[A-Za-z0-9+/]+={0,2}$/.test(accountKey);
  const endpoint =
    pairs.get('blobendpoint') ?? pairs.get('queueendpoint') ?? pairs.get('tableendpoint') ?? pairs.get('accountname');
  return Boolean(pairs.get('sharedaccesssignature') && endpoint);
}

const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/** The connection string may hold an AccountKey or a SAS: keep it out of JSON and util.inspect output. */
function unprintable<T extends object>(value: T): T {
  const shown = { kind: 'connectionString', connectionString: '[secret]' };
  Object.defineProperty(value, 'toJSON', { value: () => shown, enumerable: false });
  Object.defineProperty(value, inspectCustom, { value: () => shown, enumerable: false });
  return value;
}

const serviceUri = () =>
  z.string().refine((text) => {
    try {
      const url = new URL(text);
      return url.protocol === 'https:' || (url.protocol === 'http:' && /^(127\.0\.0\.1|localhost)$/.test(url.hostname));
    } catch {
      return false;
    }
  });

const prefix = 'AzureWebJobsStorage';

export const storageSection = defineSection(
  {
    AzureWebJobsStorage: setting(z.string().refine(isStorageConnectionString).optional(), {
      description:
        'Storage account of the app (host storage, the load/job queues, blobs and tables): a connection string (UseDevelopmentStorage=true for Azurite). Leave unset to use the identity-based AzureWebJobsStorage__* settings.',
      expected:
        'a storage connection string (UseDevelopmentStorage=true, AccountName=…;AccountKey=…, or endpoints with SharedAccessSignature=…)',
      secret: true,
    }),
    AzureWebJobsStorage__accountName: setting(
      z
        .string()
        .regex(/^[a-z0-9]{3,24}$/)
        .optional(),
      {
        description:
          'Identity-based storage: the account name; the blob, queue and table URIs are derived from it (public Azure cloud).',
        expected: 'a storage account name (3-24 lowercase letters and digits)',
      },
    ),
    AzureWebJobsStorage__blobServiceUri: setting(serviceUri().optional(), {
      description: 'Identity-based storage: blob service URI (overrides the one derived from __accountName).',
      expected: 'an https URL',
    }),
    AzureWebJobsStorage__serviceUri: setting(serviceUri().optional(), {
      description: 'Identity-based storage: alias of __blobServiceUri accepted by the Functions host.',
      expected: 'an https URL',
    }),
    AzureWebJobsStorage__queueServiceUri: setting(serviceUri().optional(), {
      description: 'Identity-based storage: queue service URI.',
      expected: 'an https URL',
    }),
    AzureWebJobsStorage__tableServiceUri: setting(serviceUri().optional(), {
      description: 'Identity-based storage: table service URI.',
      expected: 'an https URL',
    }),
    AzureWebJobsStorage__credential: setting(
      z
        .string()
        .regex(/^managedidentity$/i)
        .optional(),
      {
        description:
          "Identity-based storage: set to managedidentity to use the app's managed identity (the Functions host convention).",
        expected: 'managedidentity',
      },
    ),
    AzureWebJobsStorage__clientId: setting(guid().optional(), {
      description: 'Identity-based storage: client id of a user-assigned managed identity.',
      expected: 'a GUID',
    }),
  },
  (v, ctx): StorageSettings => {
    if (v.AzureWebJobsStorage !== undefined) {
      return { connection: unprintable({ kind: 'connectionString', connectionString: v.AzureWebJobsStorage }) };
    }
    const account = v.AzureWebJobsStorage__accountName;
    const derived = (service: string) => (account ? `https://${account}.${service}.core.windows.net` : undefined);
    const blob = v.AzureWebJobsStorage__blobServiceUri ?? v.AzureWebJobsStorage__serviceUri ?? derived('blob');
    const queue = v.AzureWebJobsStorage__queueServiceUri ?? derived('queue');
    const table = v.AzureWebJobsStorage__tableServiceUri ?? derived('table');
    if (blob && queue && table) {
      return {
        connection: {
          kind: 'identity',
          blobServiceUri: blob,
          queueServiceUri: queue,
          tableServiceUri: table,
          ...(v.AzureWebJobsStorage__clientId ? { clientId: v.AzureWebJobsStorage__clientId } : {}),
        },
      };
    }
    const missing = [
      !blob && `${prefix}__blobServiceUri`,
      !queue && `${prefix}__queueServiceUri`,
      !table && `${prefix}__tableServiceUri`,
    ].filter(Boolean);
    const anyIdentitySetting = Boolean(blob || queue || table);
    reportSettingProblem(
      ctx,
      anyIdentitySetting ? String(missing[0]) : prefix,
      anyIdentitySetting
        ? `${missing.join(', ')} missing: identity-based storage needs ${prefix}__accountName or all three service URIs`
        : `${prefix} is missing: expected a storage connection string (UseDevelopmentStorage=true for Azurite), or identity-based settings ${prefix}__accountName (or ${prefix}__blobServiceUri, __queueServiceUri and __tableServiceUri)`,
    );
    return z.NEVER;
  },
);
