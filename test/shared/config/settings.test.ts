import { expect } from '@jest/globals';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { forgetSettings, getSettings, loadSettings, SecretValue, SettingsError } from '../../../shared/config/settings';

const base = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', DATAVERSE_URL: 'https://contoso.crm.dynamics.com' };
const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const clientId = '51f81489-12ee-4a9e-aaae-a2591f45987d';

function problemsOf(env: Record<string, string | undefined>): SettingsError {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
  throw new Error('expected loadSettings to fail');
}

describe('loadSettings', () => {
  test('applies the documented defaults', () => {
    const s = loadSettings(base);
    expect(s.dataverse).toEqual({
      url: 'https://contoso.crm.dynamics.com',
      auth: { mode: 'managedIdentity', clientId: undefined },
      maxBatchSize: 1000,
      maxConcurrency: 52,
      executionMode: 'auto',
      // One identity, the DATAVERSE_AUTH one: nothing changes for single-identity users.
      identities: [{ name: 'default', auth: { mode: 'managedIdentity', clientId: undefined } }],
      requestMeterTable: 'requestmeter',
    });
    expect(s.loads).toEqual({
      container: 'incoming',
      resultsContainer: 'load-results',
      chunkQueue: 'load-chunks',
      chunkSize: 1000,
      maxFileBytes: 1024 ** 3,
      inlineScanMaxBytes: 4 * 1024 ** 2,
      loadsTable: 'loads',
      loadRowsTable: 'loadrows',
      sweepSchedule: '0 */1 * * * *',
      stallSeconds: 300,
      maxChunkAttempts: 5,
    });
    expect(s.jobs).toEqual({
      solutionsContainer: 'solutions',
      asyncQueue: 'dataverse-async',
      jobsTable: 'jobs',
      eventsQueue: 'job-events',
      pollSchedule: '*/10 * * * * *',
      maxWaitMinutes: 120,
      importsMaxBodyBytes: 100 * 1024 ** 2,
    });
    expect(s.logging.level).toBe('info');
    expect(s.storage.connection).toEqual({ kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' });
  });

  test('normalises the Dataverse URL to its origin and allows http only towards the local machine', () => {
    expect(loadSettings({ ...base, DATAVERSE_URL: 'https://contoso.crm4.dynamics.com/' }).dataverse.url).toBe(
      'https://contoso.crm4.dynamics.com',
    );
    expect(loadSettings({ ...base, DATAVERSE_URL: 'http://127.0.0.1:5555' }).dataverse.url).toBe(
      'http://127.0.0.1:5555',
    );
    expect(loadSettings({ ...base, DATAVERSE_URL: 'http://localhost:5555/' }).dataverse.url).toBe(
      'http://localhost:5555',
    );
    for (const bad of [
      'http://contoso.crm.dynamics.com',
      'https://contoso.crm.dynamics.com/api/data/v9.2',
      'contoso',
      'ftp://x.y',
    ]) {
      expect(problemsOf({ ...base, DATAVERSE_URL: bad }).message).toContain(
        'DATAVERSE_URL is invalid: expected an https URL with no path',
      );
    }
  });

  test('a missing required setting is named, with what it expects', () => {
    const error = problemsOf({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' });
    expect(error.code).toBe('InvalidSettings');
    expect(error.problems).toEqual([
      { setting: 'DATAVERSE_URL', message: expect.stringContaining('DATAVERSE_URL is missing: expected an https URL') },
    ]);
  });

  test('reports every problem at once', () => {
    const error = problemsOf({ DATAVERSE_MAX_BATCH_SIZE: '5000', LOG_LEVEL: 'verbose' });
    expect(error.problems.map((p) => p.setting).sort()).toEqual([
      'AzureWebJobsStorage',
      'DATAVERSE_MAX_BATCH_SIZE',
      'DATAVERSE_URL',
      'LOG_LEVEL',
    ]);
    expect(error.message).toContain('DATAVERSE_MAX_BATCH_SIZE is invalid: expected an integer from 1 to 1000');
    expect(error.message).toContain('LOG_LEVEL is invalid: expected one of error, warn, info, debug');
  });

  test('blank values count as unset', () => {
    const s = loadSettings({
      ...base,
      DATAVERSE_CLIENT_SECRET: '',
      DATAVERSE_MAX_BATCH_SIZE: '  ',
      DATAVERSE_AUTH: '',
    });
    expect(s.dataverse.auth.mode).toBe('managedIdentity');
    expect(s.dataverse.maxBatchSize).toBe(1000);
  });

  test.each([
    ['DATAVERSE_MAX_BATCH_SIZE', '0'],
    ['DATAVERSE_MAX_BATCH_SIZE', '1001'],
    ['DATAVERSE_MAX_BATCH_SIZE', '1.5'],
    ['DATAVERSE_MAX_CONCURRENCY', 'many'],
    ['DATAVERSE_EXECUTION_MODE', 'fast'],
    ['LOAD_CHUNK_SIZE', '-1'],
    ['LOAD_MAX_FILE_BYTES', '0'],
    ['LOAD_INLINE_SCAN_MAX_BYTES', '-1'],
    ['LOAD_INLINE_SCAN_MAX_BYTES', '4MB'],
    ['LOAD_CONTAINER', 'Incoming'],
    ['LOAD_CHUNK_QUEUE', 'load--chunks'],
    ['LOAD_RESULTS_CONTAINER', 'ab'],
    ['LOADS_TABLE', '1loads'],
    ['LOAD_ROWS_TABLE', 'load-rows'],
    ['ASYNC_POLL_SCHEDULE', '*/10 * * * *'],
    ['ASYNC_POLL_SCHEDULE', '0 0 0 * * 7'],
    ['ASYNC_MAX_WAIT_MINUTES', '0'],
    ['DATAVERSE_MANAGED_IDENTITY_CLIENT_ID', 'not-a-guid'],
    ['DATAVERSE_AUTHORITY_HOST', 'http://login.microsoftonline.com'],
  ])('%s=%s is rejected, naming the setting', (name, value) => {
    const error = problemsOf({ ...base, [name]: value });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]!.setting).toBe(name);
    expect(error.problems[0]!.message).toMatch(new RegExp(`^${name} is invalid: expected `));
  });

  test('accepts in-range numbers, names and schedules', () => {
    const s = loadSettings({
      ...base,
      DATAVERSE_MAX_BATCH_SIZE: '250',
      DATAVERSE_MAX_CONCURRENCY: '8',
      DATAVERSE_EXECUTION_MODE: 'bulk',
      LOAD_CHUNK_SIZE: '500',
      LOAD_CONTAINER: 'drop-zone-1',
      LOADS_TABLE: 'Loads2',
      ASYNC_POLL_SCHEDULE: '0 */5 9-17 * Jan-Dec Mon-Fri',
      LOG_LEVEL: 'debug',
    });
    expect([s.dataverse.maxBatchSize, s.dataverse.maxConcurrency, s.dataverse.executionMode]).toEqual([250, 8, 'bulk']);
    expect([s.loads.chunkSize, s.loads.container, s.loads.loadsTable, s.jobs.pollSchedule]).toEqual([
      500,
      'drop-zone-1',
      'Loads2',
      '0 */5 9-17 * Jan-Dec Mon-Fri',
    ]);
  });
});

describe('Dataverse authentication settings', () => {
  const app = { DATAVERSE_TENANT_ID: tenantId, DATAVERSE_CLIENT_ID: clientId };

  test('infers clientSecret, then clientCertificate, then managedIdentity', () => {
    const secret = loadSettings({ ...base, ...app, DATAVERSE_CLIENT_SECRET: 's3cr3t-value' }).dataverse.auth;
    expect(secret).toMatchObject({
      mode: 'clientSecret',
      tenantId,
      clientId,
      authorityHost: 'https://login.microsoftonline.com',
    });
    expect(secret.mode === 'clientSecret' && secret.clientSecret.reveal()).toBe('s3cr3t-value');

    const byPath = loadSettings({ ...base, ...app, DATAVERSE_CLIENT_CERTIFICATE_PATH: '/certs/app.pem' }).dataverse
      .auth;
    expect(byPath).toMatchObject({
      mode: 'clientCertificate',
      certificate: { source: 'path', path: '/certs/app.pem' },
    });

    const byPem = loadSettings({
      ...base,
      ...app,
      DATAVERSE_CLIENT_CERTIFICATE: '-----BEGIN',
      DATAVERSE_CLIENT_CERTIFICATE_PASSWORD: 'pw',
    }).dataverse.auth;
    expect(byPem.mode).toBe('clientCertificate');
    if (byPem.mode !== 'clientCertificate' || byPem.certificate.source !== 'pem') throw new Error('unexpected');
    expect(byPem.certificate.pem.reveal()).toBe('-----BEGIN');
    expect(byPem.certificatePassword?.reveal()).toBe('pw');

    const userAssigned = loadSettings({ ...base, DATAVERSE_MANAGED_IDENTITY_CLIENT_ID: clientId }).dataverse.auth;
    expect(userAssigned).toEqual({ mode: 'managedIdentity', clientId });
  });

  test('an explicit DATAVERSE_AUTH wins over inference', () => {
    const s = loadSettings({ ...base, ...app, DATAVERSE_CLIENT_SECRET: 'x', DATAVERSE_AUTH: 'managedIdentity' });
    expect(s.dataverse.auth.mode).toBe('managedIdentity');
  });

  test('the chosen mode names each setting it is missing', () => {
    const secretMode = problemsOf({ ...base, DATAVERSE_AUTH: 'clientSecret' });
    expect(secretMode.problems.map((p) => p.setting)).toEqual([
      'DATAVERSE_TENANT_ID',
      'DATAVERSE_CLIENT_ID',
      'DATAVERSE_CLIENT_SECRET',
    ]);
    expect(secretMode.message).toContain('DATAVERSE_CLIENT_SECRET is required when DATAVERSE_AUTH is clientSecret');

    const certMode = problemsOf({ ...base, ...app, DATAVERSE_AUTH: 'clientCertificate' });
    expect(certMode.problems).toEqual([
      {
        setting: 'DATAVERSE_CLIENT_CERTIFICATE_PATH',
        message: expect.stringContaining('required when DATAVERSE_AUTH is clientCertificate'),
      },
    ]);

    const both = problemsOf({
      ...base,
      ...app,
      DATAVERSE_CLIENT_CERTIFICATE_PATH: '/a.pem',
      DATAVERSE_CLIENT_CERTIFICATE: 'pem',
    });
    expect(both.problems[0]!.message).toContain('both set');
  });

  test('a client id that is not a GUID is named', () => {
    expect(
      problemsOf({ ...base, ...app, DATAVERSE_CLIENT_ID: 'my-app', DATAVERSE_CLIENT_SECRET: 'x' }).problems[0],
    ).toEqual({
      setting: 'DATAVERSE_CLIENT_ID',
      message: 'DATAVERSE_CLIENT_ID is invalid: expected a GUID',
    });
  });
});

describe('storage settings', () => {
  const url = { DATAVERSE_URL: base.DATAVERSE_URL };

  test('identity-based settings derive the service URIs from the account name', () => {
    const s = loadSettings({
      ...url,
      AzureWebJobsStorage__accountName: 'loaderstore',
      AzureWebJobsStorage__clientId: clientId,
    });
    expect(s.storage.connection).toEqual({
      kind: 'identity',
      blobServiceUri: 'https://loaderstore.blob.core.windows.net',
      queueServiceUri: 'https://loaderstore.queue.core.windows.net',
      tableServiceUri: 'https://loaderstore.table.core.windows.net',
      clientId,
    });
  });

  test('explicit service URIs, and a partial set names what is missing', () => {
    const full = loadSettings({
      ...url,
      AzureWebJobsStorage__blobServiceUri: 'https://a.blob.core.windows.net',
      AzureWebJobsStorage__queueServiceUri: 'https://a.queue.core.windows.net',
      AzureWebJobsStorage__tableServiceUri: 'https://a.table.core.windows.net',
    });
    expect(full.storage.connection.kind).toBe('identity');
    const partial = problemsOf({ ...url, AzureWebJobsStorage__blobServiceUri: 'https://a.blob.core.windows.net' });
    expect(partial.problems[0]).toMatchObject({ setting: 'AzureWebJobsStorage__queueServiceUri' });
    expect(partial.message).toContain('AzureWebJobsStorage__tableServiceUri');
  });

  test('accepts the connection string forms of Azure and Azurite', () => {
    for (const cs of [
      'DefaultEndpointsProtocol=https;AccountName=loaderstore;AccountKey=bm90LWEtcmVhbC1rZXk=;EndpointSuffix=core.windows.net',
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;',
      'BlobEndpoint=https://a.blob.core.windows.net;QueueEndpoint=https://a.queue.core.windows.net;SharedAccessSignature=sv=2022&sig=abc%3D',
    ]) {
      expect(loadSettings({ ...url, AzureWebJobsStorage: cs }).storage.connection).toEqual({
        kind: 'connectionString',
        connectionString: cs,
      });
    }
  });
});

describe('secrets never appear in output', () => {
  const secrets = {
    clientSecret: 'Zx8Q~client-secret-value-123',
    accountKey: 'c2VjcmV0LWFjY291bnQta2V5LXZhbHVl',
    sig: 'webhook-signature-987',
    pem: '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQ\n-----END PRIVATE KEY-----',
    password: 'pem-pass-phrase-555',
  };
  const everything = (text: string) => Object.values(secrets).filter((s) => text.includes(s));

  test('not in the error message, even for the malformed secret settings themselves', () => {
    const error = problemsOf({
      DATAVERSE_URL: 'http://insecure.example.com',
      DATAVERSE_CLIENT_ID: 'not-a-guid',
      DATAVERSE_CLIENT_SECRET: secrets.clientSecret,
      DATAVERSE_CLIENT_CERTIFICATE: secrets.pem,
      DATAVERSE_CLIENT_CERTIFICATE_PASSWORD: secrets.password,
      AzureWebJobsStorage: `AccountName=x;AccountKey=${secrets.accountKey}!!;Garbage`,
      JOB_EVENTS_WEBHOOK_URL: `ftp://hooks.example.com/x?sig=${secrets.sig}`,
    });
    expect(error.problems.map((p) => p.setting)).toEqual(
      expect.arrayContaining(['DATAVERSE_URL', 'DATAVERSE_CLIENT_ID', 'AzureWebJobsStorage', 'JOB_EVENTS_WEBHOOK_URL']),
    );
    expect(everything(error.message)).toEqual([]);
    expect(everything(inspect(error, { depth: 10 }))).toEqual([]);
    expect(everything(JSON.stringify(error.problems))).toEqual([]);
  });

  test('not when the parsed settings are logged', () => {
    const s = loadSettings({
      DATAVERSE_URL: base.DATAVERSE_URL,
      DATAVERSE_TENANT_ID: tenantId,
      DATAVERSE_CLIENT_ID: clientId,
      DATAVERSE_CLIENT_SECRET: secrets.clientSecret,
      AzureWebJobsStorage: `AccountName=x;AccountKey=${secrets.accountKey}`,
      JOB_EVENTS_WEBHOOK_URL: `https://hooks.example.com/x?sig=${secrets.sig}`,
    });
    expect(everything(JSON.stringify(s))).toEqual([]);
    expect(everything(inspect(s, { depth: 10 }))).toEqual([]);
    expect(everything(`${String(s.jobs.eventsWebhookUrl)}`)).toEqual([]);
    expect(s.jobs.eventsWebhookUrl).toBeInstanceOf(SecretValue);
    expect(s.jobs.eventsWebhookUrl?.reveal()).toContain(secrets.sig);
  });

  test('property: whatever the secret values, a failing parse never echoes them', () => {
    // Delimited so that a short random secret cannot coincide with the words of a message by chance.
    const secretText = fc.string({ minLength: 1, maxLength: 40 }).map((s) => `§${s}§`);
    fc.assert(
      fc.property(secretText, secretText, secretText, (clientSecret, key, password) => {
        let message = '';
        try {
          loadSettings({
            DATAVERSE_CLIENT_ID: 'bad',
            DATAVERSE_CLIENT_SECRET: clientSecret,
            DATAVERSE_CLIENT_CERTIFICATE_PASSWORD: password,
            AzureWebJobsStorage: `AccountKey=${key};`,
            JOB_EVENTS_WEBHOOK_URL: key,
          });
        } catch (error) {
          message = inspect(error, { depth: 10 });
        }
        expect(message).toContain('DATAVERSE_URL is missing');
        for (const secret of [clientSecret, key, password]) expect(message).not.toContain(secret);
      }),
      { numRuns: 200 },
    );
  });
});

describe('getSettings', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    forgetSettings();
  });

  test('parses process.env once and keeps the result', () => {
    process.env = { ...saved, ...base, DATAVERSE_MAX_BATCH_SIZE: '10' };
    const first = getSettings();
    process.env.DATAVERSE_MAX_BATCH_SIZE = '20';
    expect(getSettings()).toBe(first);
    expect(getSettings().dataverse.maxBatchSize).toBe(10);
    forgetSettings();
    expect(getSettings().dataverse.maxBatchSize).toBe(20);
  });
});
