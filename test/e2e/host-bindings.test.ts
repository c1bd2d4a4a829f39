/** Bindings through the local host: table input, retry policies on a timer, and start-up refusal of what it cannot serve. */
import { TableClient } from '@azure/data-tables';
import { startAzurite, type AzuriteHandle } from '../../dev/azurite';
import type { HostProcess } from '../../dev/host/hostProcess';
import { count, peekTexts, startFixtureHost, waitFor } from './hostTestKit';

jest.setTimeout(120_000);

let azurite: AzuriteHandle;
let host: HostProcess;

beforeAll(async () => {
  azurite = await startAzurite();
  const table = TableClient.fromConnectionString(azurite.connectionString, 'rowsin', { allowInsecureConnection: true });
  await table.createTable();
  for (const rowKey of ['a', 'b', "o'brien"])
    await table.createEntity({ partitionKey: 'p', rowKey, name: `name-${rowKey}`, n: 1 });
  await table.createEntity({ partitionKey: 'other', rowKey: 'a', name: 'elsewhere' });
  host = await startFixtureHost(azurite, {
    fixtures: ['bindingsApp'],
    hostId: 'e2e-bindings-host',
    env: { FUNCTIONS_HOST_KEY: '' },
  });
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
});

test('a table input with a rowKey gets the entity (PartitionKey, RowKey and properties), or nothing when it does not exist', async () => {
  expect(await (await fetch(`${host.url}/rows/a`)).json()).toEqual({
    row: { PartitionKey: 'p', RowKey: 'a', name: 'name-a', n: 1 },
  });
  expect(await (await fetch(`${host.url}/rows/missing`)).json()).toEqual({ row: null });
});

test('a table input without a rowKey gets the partition filtered (binding values quoted as OData) and at most take', async () => {
  const body = (await (await fetch(`${host.url}/filtered/${encodeURIComponent("o'brien")}`)).json()) as {
    filtered: unknown[];
    firstTwo: unknown[];
  };
  expect(body.filtered).toEqual([{ PartitionKey: 'p', RowKey: "o'brien", name: "name-o'brien", n: 1 }]);
  expect(body.firstTwo).toHaveLength(2);
  expect(body.firstTwo).toEqual(expect.arrayContaining([expect.objectContaining({ PartitionKey: 'p' })]));
});

test('a fixedDelay retry policy on a timer reruns the failed invocation with the retry context until it passes', async () => {
  const [text] = await waitFor(async () => {
    const texts = await peekTexts(azurite.connectionString, 'retry-attempts');
    return texts.length > 0 ? texts : undefined;
  }, 'retriedFixed success');
  expect(JSON.parse(text!)).toEqual({
    fn: 'retriedFixed',
    runs: 3,
    retryCount: 2,
    maxRetryCount: 3,
    lastError: 'retriedFixed fails on attempt 1',
  });
  expect(host.output()).toContain(
    "Functions.retriedFixed: waiting 1000 ms before retrying function execution. Next attempt: '1'",
  );
});

test('an exponentialBackoff policy stops after maxRetryCount retries, waiting between minimum and maximum', async () => {
  await waitFor(
    () => Promise.resolve(host.output().includes('run 3, retry 2') ? true : undefined),
    'third retriedExponential run',
  );
  await new Promise((r) => setTimeout(r, 2500));
  expect(count(host.output(), "Executed 'Functions.retriedExponential' (Failed")).toBe(3);
  const waits = [...host.output().matchAll(/retriedExponential: waiting (\d+) ms/g)].map((m) => Number(m[1]));
  expect(waits).toHaveLength(2);
  for (const wait of waits) {
    expect(wait).toBeGreaterThanOrEqual(1000);
    expect(wait).toBeLessThanOrEqual(2000);
  }
});

test('bindings the host cannot serve stop it at start-up, naming the function and binding; disabled functions are not checked', async () => {
  const started = startFixtureHost(azurite, {
    fixtures: ['unsupportedApp'],
    hostId: 'e2e-unsupported-host',
    env: { FUNCTIONS_HOST_KEY: '', 'AzureWebJobs.switchedOffCosmos.Disabled': 'true' },
  });
  const error = await started.then(
    (h) => h.kill().then(() => new Error('started')),
    (e: Error) => e,
  );
  expect(error.message).toMatch(/Functions\.readsBlob: binding 'blobInput\w*' \(type 'blob', direction 'in'\)/);
  expect(error.message).toMatch(/Functions\.onBus: binding 'serviceBusTrigger\w*' \(type 'serviceBusTrigger'/);
  expect(error.message).toMatch(/Functions\.onBus: binding 'eventHubOutput\w*' \(type 'eventHub', direction 'out'\)/);
  expect(error.message).not.toContain('switchedOffCosmos');
});
