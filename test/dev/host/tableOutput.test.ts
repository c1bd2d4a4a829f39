/** The local host's table output binding on Azurite: keys as text, and a key that is no text refused by name. */
import { TableClient } from '@azure/data-tables';
import { startAzurite, type AzuriteHandle } from '../../../dev/azurite';
import type { RegisteredFunction } from '../../../dev/host/coreApi';
import { applyOutputs, OutputBindingError } from '../../../dev/host/outputs';

let azurite: AzuriteHandle;

beforeAll(async () => {
  azurite = await startAzurite();
  // The binding names its connection as an app setting, as function.json does.
  process.env.TABLE_OUTPUT_TEST_STORAGE = azurite.connectionString;
});
afterAll(async () => {
  delete process.env.TABLE_OUTPUT_TEST_STORAGE;
  await azurite?.stop();
});

const fn: RegisteredFunction = {
  metadata: {
    name: 'tableWriter',
    bindings: {
      row: { type: 'table', direction: 'out', tableName: 'outputs', connection: 'TABLE_OUTPUT_TEST_STORAGE' },
    },
  },
  callback: () => undefined,
};

const write = (entity: unknown) =>
  applyOutputs(
    fn,
    { invocationId: 'i-1', outputData: [{ name: 'row', data: { json: JSON.stringify(entity) } }] },
    { messageEncoding: 'none', bindingData: {} },
  );

test('string and number keys are written as text', async () => {
  await write({ PartitionKey: 'p', RowKey: 7, name: 'seven' });
  const table = TableClient.fromConnectionString(azurite.connectionString, 'outputs', {
    allowInsecureConnection: true,
  });
  expect(await table.getEntity('p', '7')).toMatchObject({ partitionKey: 'p', rowKey: '7', name: 'seven' });
});

test('an object as PartitionKey is refused with the table and key named, and nothing is written', async () => {
  const attempt = write({ PartitionKey: { nested: true }, RowKey: 'r1' });
  await expect(attempt).rejects.toThrow(OutputBindingError);
  await expect(attempt).rejects.toThrow(
    "Table output 'outputs': the entity's PartitionKey must be a string, not object.",
  );
  const table = TableClient.fromConnectionString(azurite.connectionString, 'outputs', {
    allowInsecureConnection: true,
  });
  const rows: unknown[] = [];
  for await (const row of table.listEntities({ queryOptions: { filter: "RowKey eq 'r1'" } })) rows.push(row);
  expect(rows).toEqual([]);
});
