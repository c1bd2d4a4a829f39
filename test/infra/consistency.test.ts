/**
 * infra/ and the code agree: the required settings are set, every container/queue/table the settings and the
 * function registrations name is created, blob triggers have their Event Grid subscriptions, scale stays within
 * Dataverse's concurrency limit. The checker is also run on broken copies to prove it catches each gap.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateDeployment, isObject, Unknown, type Value } from './bicepDeployment';
import { checkInfra, nameSettings, requiredSettings, type InfraSources } from './infraConsistency';

const root = join(__dirname, '..', '..');
const infraDir = join(root, 'infra');

function realSources(): InfraSources {
  const functionsDir = join(root, 'functions');
  return {
    readFile: (path) => readFileSync(path, 'utf8'),
    functions: Object.fromEntries(
      readdirSync(functionsDir)
        .filter((f) => f.endsWith('.ts'))
        .map((f) => [f, readFileSync(join(functionsDir, f), 'utf8')]),
    ),
    hostJson: readFileSync(join(root, 'host.json'), 'utf8'),
  };
}

/** The real sources with one infra file's text changed (the change must apply, or the test is void). */
function withInfraEdit(
  relative: string,
  edit: (text: string) => string,
  base: InfraSources = realSources(),
): InfraSources {
  const target = join(infraDir, relative);
  const original = base.readFile(target);
  const changed = edit(original);
  expect(changed).not.toBe(original);
  return { ...base, readFile: (path) => (path === target ? changed : base.readFile(path)) };
}

test('the schema has required settings and name settings to check (the checks are not vacuous)', () => {
  expect(requiredSettings()).toContain('DATAVERSE_URL');
  expect(
    nameSettings()
      .map((s) => s.kind)
      .sort(),
  ).toEqual(['container', 'container', 'container', 'queue', 'queue', 'queue', 'table', 'table', 'table', 'table']);
});

test('infra/ provisions everything the code and the settings need', () => {
  expect(checkInfra(realSources(), infraDir)).toEqual([]);
});

describe('N user-assigned identities (dataverseIdentityCount)', () => {
  const deploy = (count: number) =>
    evaluateDeployment(realSources(), join(infraDir, 'main.bicep'), {
      environmentName: 'consistency',
      location: 'westeurope',
      dataverseUrl: 'https://contoso.crm.dynamics.com',
      dataverseIdentityCount: count,
    });
  const appSettings = (count: number) => {
    const config = deploy(count).resources.find(
      (r) => r.type === 'Microsoft.Web/sites/config' && isObject(r.body) && r.body.name === 'appsettings',
    )!;
    return (config.body as { properties: Record<string, Value> }).properties;
  };

  test.each([1, 2, 4])('%i identities: the checks hold (instances x concurrency <= 52 x identities)', (count) => {
    expect(checkInfra(realSources(), infraDir, { dataverseIdentityCount: count })).toEqual([]);
  });

  test('each identity is created and assigned to the app; 2…N are listed in DATAVERSE_IDENTITIES; queues take N x 13', () => {
    const identities = deploy(3).resources.filter((r) => r.type === 'Microsoft.ManagedIdentity/userAssignedIdentities');
    expect(identities).toHaveLength(3);
    const settings = appSettings(3);
    const listed = JSON.parse((settings['DATAVERSE_IDENTITIES'] as Unknown).text!) as { name: string; auth: string }[];
    expect(listed.map((i) => [i.name, i.auth])).toEqual([
      ['identity-2', 'managedIdentity'],
      ['identity-3', 'managedIdentity'],
    ]);
    expect(settings['DATAVERSE_MAX_CONCURRENCY']).toBe('13');
    // More messages are fetched while all 39 request slots still run: 19 at a time.
    expect(settings['AzureFunctionsJobHost__extensions__queues__newBatchThreshold']).toBe('39');
    expect(settings['AzureFunctionsJobHost__extensions__queues__batchSize']).toBe('19');
    // One identity: no DATAVERSE_IDENTITIES, 13 slots, 6 more messages fetched at a time.
    expect(appSettings(1)['DATAVERSE_IDENTITIES']).toBe('');
    expect(appSettings(1)['AzureFunctionsJobHost__extensions__queues__newBatchThreshold']).toBe('13');
    expect(appSettings(1)['AzureFunctionsJobHost__extensions__queues__batchSize']).toBe('6');
  });
});

describe('the checker catches a broken infra/', () => {
  test('a required setting missing from the app settings', () => {
    const problems = checkInfra(
      withInfraEdit('main.bicep', (t) => t.replace(/^\s*DATAVERSE_URL: dataverseUrl\n/m, '')),
      infraDir,
    );
    expect(problems).toContain(
      "[DATAVERSE_AUTH=managedIdentity] required setting DATAVERSE_URL (no default in shared/config) is not set in the function app's appsettings",
    );
    expect(problems.some((p) => p.includes('fail the configuration schema: DATAVERSE_URL is missing'))).toBe(true);
  });

  test('a per-mode setting missing (client secret) fails the schema for that mode only', () => {
    const problems = checkInfra(
      withInfraEdit('main.bicep', (t) => t.replace(/^\s*DATAVERSE_CLIENT_SECRET: .*\n/m, '')),
      infraDir,
    );
    expect(problems.filter((p) => p.includes('DATAVERSE_CLIENT_SECRET'))).toEqual([
      '[DATAVERSE_AUTH=clientSecret] the app settings fail the configuration schema: DATAVERSE_CLIENT_SECRET is required when DATAVERSE_AUTH is clientSecret: expected the client secret',
    ]);
  });

  test('a secret as a plain value instead of a Key Vault reference', () => {
    const problems = checkInfra(
      withInfraEdit('main.bicep', (t) =>
        t.replace(
          "'@Microsoft.KeyVault(SecretUri=${secretsUri}/dataverse-client-secret)'",
          "'plain-secret-in-settings'",
        ),
      ),
      infraDir,
    );
    expect(
      problems.some((p) => p.includes('secret setting DATAVERSE_CLIENT_SECRET must be a Key Vault reference')),
    ).toBe(true);
  });

  test('identity-based storage incomplete', () => {
    const problems = checkInfra(
      withInfraEdit('app/api.bicep', (t) => t.replace(/^\s*AzureWebJobsStorage__tableServiceUri: .*\n/m, '')),
      infraDir,
    );
    expect(problems.some((p) => p.includes('AzureWebJobsStorage__tableServiceUri missing'))).toBe(true);
  });

  test('a poison queue not created', () => {
    const problems = checkInfra(
      withInfraEdit('main.bicep', (t) => t.replace("  '${asyncQueueName}-poison'\n", '')),
      infraDir,
    );
    expect(problems).toContain(
      "[DATAVERSE_AUTH=managedIdentity] queue 'dataverse-async-poison' (poison queue of asyncOperationQueue.ts asyncOperationQueue) is not created in infra/ (created queues: load-chunks, load-chunks-poison, dataverse-async, job-events, webjobs-blobtrigger-poison)",
    );
  });

  test('a table and a container not created', () => {
    const sources = withInfraEdit('main.bicep', (t) =>
      t
        .replace(
          "tables: [ loadsTableName, loadRowsTableName, jobsTableName, 'requestmeter' ]",
          "tables: [ loadsTableName, jobsTableName, 'requestmeter' ]",
        )
        .replace(', solutionsContainerName ]', ' ]'),
    );
    const problems = checkInfra(sources, infraDir);
    expect(
      problems.some((p) =>
        p.startsWith("[DATAVERSE_AUTH=clientCertificate] table 'loadrows' (setting LOAD_ROWS_TABLE) is not created"),
      ),
    ).toBe(true);
    expect(problems.some((p) => p.includes("container 'solutions' (setting SOLUTIONS_CONTAINER) is not created"))).toBe(
      true,
    );
    expect(
      problems.some((p) =>
        p.includes("container 'solutions' (trigger of solutionBlobTrigger.ts solutionBlobTrigger) is not created"),
      ),
    ).toBe(true);
  });

  test('a setting renamed in infra/ but the resource keeps the default name', () => {
    const problems = checkInfra(
      withInfraEdit('main.bicep', (t) =>
        t
          .replace(
            "param jobEventsQueueName string = 'job-events'",
            "param jobEventsQueueName string = 'job-events'\nvar renamedEventsQueue = 'events-renamed'",
          )
          .replace('JOB_EVENTS_QUEUE: jobEventsQueueName', 'JOB_EVENTS_QUEUE: renamedEventsQueue'),
      ),
      infraDir,
    );
    expect(problems.some((p) => p.includes("queue 'events-renamed' (setting JOB_EVENTS_QUEUE) is not created"))).toBe(
      true,
    );
  });

  test('a queue trigger the infra does not know, and a blob trigger without Event Grid', () => {
    const base = realSources();
    const sources: InfraSources = {
      ...base,
      functions: {
        ...base.functions,
        'extra.ts': [
          "const q = process.env.EXTRA_QUEUE || 'extra-work';",
          "app.storageQueue('extraQueue', { queueName: q, connection: 'AzureWebJobsStorage', handler });",
          "app.storageBlob('extraBlob', { path: 'incoming/{name}', connection: 'AzureWebJobsStorage', handler });",
          "app.storageQueue('opaqueQueue', { queueName: computeName(), handler });",
        ].join('\n'),
      },
    };
    const problems = checkInfra(sources, infraDir).filter((p) => p.startsWith('[DATAVERSE_AUTH=managedIdentity]'));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining("queue 'extra-work' (trigger of extra.ts extraQueue) is not created"),
        expect.stringContaining("queue 'extra-work-poison' (poison queue of extra.ts extraQueue) is not created"),
        expect.stringContaining("extra.ts extraBlob: blob trigger must set source: 'EventGrid'"),
        expect.stringContaining('extra.ts extraBlob: blob trigger must set sdkBinding: true'),
        expect.stringContaining("blob trigger extraBlob on 'incoming' has no Event Grid subscription"),
        expect.stringContaining('extra.ts opaqueQueue: cannot resolve queueName computeName()'),
      ]),
    );
  });

  test('an Event Grid subscription to a function that does not exist, or on the wrong container', () => {
    const problems = checkInfra(
      withInfraEdit('eventgrid/subscriptions.bicep', (t) =>
        t.replace(
          "functionName: 'solutionBlobTrigger', container: solutionsContainerName",
          "functionName: 'solutionBlobTrigger', container: loadContainerName",
        ),
      ),
      infraDir,
    );
    expect(
      problems.some((p) =>
        p.includes(
          "blob trigger solutionBlobTrigger on 'solutions' has no Event Grid subscription in infra/eventgrid/subscriptions.bicep (found: 'incoming')",
        ),
      ),
    ).toBe(true);
    const ghost = checkInfra(
      withInfraEdit('eventgrid/subscriptions.bicep', (t) =>
        t.replace("functionName: 'loadBlobTrigger'", "functionName: 'ghostTrigger'"),
      ),
      infraDir,
    );
    expect(
      ghost.some((p) =>
        p.includes("subscription to ghostTrigger on 'incoming' has no blob trigger named ghostTrigger"),
      ),
    ).toBe(true);
  });

  test('Bicep the parser cannot read fails with the line', () => {
    expect(() =>
      checkInfra(
        withInfraEdit('app/storage.bicep', (t) => t.replace("kind: 'StorageV2'", "kind: 'StorageV2")),
        infraDir,
      ),
    ).toThrow(/line \d+: unterminated string/);
  });

  test('scale beyond the Dataverse concurrency limit', () => {
    const problems = checkInfra(
      withInfraEdit('main.bicep', (t) =>
        t.replace(
          'var perInstanceConcurrency = max(1, dataverseConcurrencyTarget / maximumInstanceCount)',
          'var perInstanceConcurrency = 52',
        ),
      ),
      infraDir,
    );
    expect(problems).toContain(
      "[DATAVERSE_AUTH=managedIdentity] 4 instances x DATAVERSE_MAX_CONCURRENCY 52 x 1 identities = 208 concurrent requests > Dataverse's 52 per user x 1 identities",
    );
  });

  test('N identities: instances x concurrency beyond 52 x identities, and queue batches beyond what N identities take', () => {
    const overCap = checkInfra(
      withInfraEdit('main.bicep', (t) =>
        t.replace(
          'var perInstanceConcurrency = max(1, dataverseConcurrencyTarget / maximumInstanceCount)',
          'var perInstanceConcurrency = 26',
        ),
      ),
      infraDir,
      { dataverseIdentityCount: 3 },
    );
    expect(overCap).toContain(
      "[DATAVERSE_AUTH=managedIdentity] 4 instances x DATAVERSE_MAX_CONCURRENCY 26 x 3 identities = 312 concurrent requests > Dataverse's 52 per user x 3 identities",
    );
    // The slots of one identity only (the arithmetic before several identities): two thirds idle at each fetch.
    const underQueue = checkInfra(
      withInfraEdit('main.bicep', (t) =>
        t.replace(
          'var perInstanceMessages = perInstanceConcurrency * dataverseIdentities',
          'var perInstanceMessages = perInstanceConcurrency',
        ),
      ),
      infraDir,
      { dataverseIdentityCount: 3 },
    );
    expect(underQueue).toContain(
      '[DATAVERSE_AUTH=managedIdentity] queue newBatchThreshold 13 < DATAVERSE_MAX_CONCURRENCY 13 x 3 identities: request slots idle while the next batch is fetched',
    );
    const overBatch = checkInfra(
      withInfraEdit('main.bicep', (t) =>
        t.replace(
          'var queueBatchSize = min(32, max(1, perInstanceMessages / 2))',
          'var queueBatchSize = min(32, perInstanceMessages)',
        ),
      ),
      infraDir,
      { dataverseIdentityCount: 3 },
    );
    expect(overBatch).toContain(
      '[DATAVERSE_AUTH=managedIdentity] queue batchSize 32 > half of DATAVERSE_MAX_CONCURRENCY 13 x 3 identities: that many messages wait for a request slot',
    );
  });

  test("the host's body limit below the app's upload limit", () => {
    const problems = checkInfra(
      withInfraEdit('main.bicep', (t) =>
        t.replace(
          'FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: string(max(loadMaxFileBytes, 104857600))',
          "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: '104857600'",
        ),
      ),
      infraDir,
    );
    expect(problems).toContain(
      '[DATAVERSE_AUTH=managedIdentity] LOAD_MAX_FILE_BYTES 1073741824 > FUNCTIONS_REQUEST_BODY_SIZE_LIMIT 104857600: the host refuses uploads the app accepts',
    );
  });

  test('shared keys left on and a storage role missing', () => {
    const sources = withInfraEdit('app/storage.bicep', (t) =>
      t.replace('allowSharedKeyAccess: false', 'allowSharedKeyAccess: true'),
    );
    const problems = checkInfra(
      withInfraEdit('app/rbac.bicep', (t) => t.replace('roles.storageBlobDataOwner, ', ''), sources),
      infraDir,
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        '[DATAVERSE_AUTH=managedIdentity] the storage account must set allowSharedKeyAccess: false',
        '[DATAVERSE_AUTH=managedIdentity] no role assignment of Storage Blob Data Owner (b7e6dc6d-f1e8-4753-8033-0f276bb0955b)',
      ]),
    );
  });

  test('a workbook query naming a metric the app does not emit, or a dimension it does not set', () => {
    const problems = checkInfra(
      withInfraEdit('app/workbook.json', (t) =>
        t
          .replace('name == \\"dataverse_loader.chunk.duration\\"', 'name == \\"dataverse_loader.chunk.seconds\\"')
          .replace('customDimensions[\\"dataverse_loader.error_code\\"]', 'customDimensions[\\"errorCode\\"]'),
      ),
      infraDir,
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        "[DATAVERSE_AUTH=managedIdentity] workbook query 'slowest' uses dataverse_loader.chunk.seconds, which the app neither records as a metric nor sets as an attribute",
        "[DATAVERSE_AUTH=managedIdentity] workbook query 'slowest' reads customMetrics but names no metric the app records",
        `[DATAVERSE_AUTH=managedIdentity] workbook query 'failed' reads customDimensions["errorCode"], which the app does not set`,
      ]),
    );
  });

  test('no workbook deployed', () => {
    const problems = checkInfra(
      withInfraEdit('main.bicep', (t) => t.replace("module workbook 'app/workbook.bicep'", "module workbook 'app/workbook.bicep' = if (false)").replace("= if (false) = {", "= if (false) {")),
      infraDir,
    );
    expect(problems).toContain('[DATAVERSE_AUTH=managedIdentity] expected one Microsoft.Insights/workbooks resource, found 0');
  });
});
