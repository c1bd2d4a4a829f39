/** The client against the project's Dataverse emulator (dev/emulator) over real HTTP. */
import { startEmulator } from '../../../dev/emulator';
import { createDataverseClient } from '../../../shared/dataverse';
import { createTableMetadataSource } from '../../../shared/loads/tableMetadataSource';
import { CountingTokenSource, numberedTaskCreates, settingsTableCreates } from './testDataverse';

type Handle = Awaited<ReturnType<typeof startEmulator>>;
let emulator: Handle;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

const client = (options: { maxBatchSize?: number } = {}) =>
  createDataverseClient({ webApiUrl: emulator.webApiUrl, accessTokenSource: new CountingTokenSource(), ...options });

test.each([
  [true, true, 6],
  [false, true, 3],
  [true, false, 2],
  [false, false, 1],
])(
  'ExecuteMultiple table on the emulator: continueOnError=%s returnResponses=%s → %i items',
  async (continueOnError, returnResponses, items) => {
    const result = await client().executeMultiple(settingsTableCreates(), { continueOnError, returnResponses });
    expect(result.responses).toHaveLength(items);
    expect(result.responses.filter((item) => item.fault).map((item) => item.requestIndex)).toEqual(
      continueOnError ? [2, 4] : [2],
    );
    expect(result.responses.find((item) => item.fault)!.fault!.code).toBe('0x80044331');
  },
);

test('batch-size rejection from the emulator is re-chunked to its limit', async () => {
  emulator.configure({ maxBatchSize: 3 });
  const c = client();
  const requests = numberedTaskCreates(7);
  const result = await c.executeMultiple(requests, { continueOnError: false, returnResponses: true });
  expect(result.isFaulted).toBe(false);
  expect(result.responses).toHaveLength(7);
  expect(c.metrics().maxBatchSize).toBe(3);
});

test('metadata reader parses the emulator answers; dop-hint sets concurrency', async () => {
  const c = client();
  const metadata = await createTableMetadataSource(c).get('account');
  expect(metadata).toMatchObject({ entitySetName: 'accounts', primaryIdAttribute: 'accountid' });
  expect(c.metrics().concurrency.dopHint).toBeGreaterThan(0);
});
