/**
 * The table catalog reads Microsoft's published EntityDefinitions answer (the DisplayName label shape of
 * query-metadata-web-api.md) and the emulator's; tables without an entity set are left out.
 */
import { startEmulator, type EmulatorHandle } from '../../../dev/emulator/index';
import { createDataverseClient, type DataverseClient } from '../../../shared/dataverse/index';
import { readTableCatalog, tableCatalogPath } from '../../../shared/plans/tableCatalogSource';
import { parseResponseFixture } from '../../dev/emulator/conformance/httpFixture';

/** Answers with a published response: the client's transport is not what this checks, the parsing is. */
const answering = (body: unknown): Pick<DataverseClient, 'send'> => ({
  send: (request) => {
    expect(request).toEqual({ method: 'GET', path: tableCatalogPath });
    return Promise.resolve({ status: 200, headers: {}, body });
  },
});

test("Microsoft's published answer: display names from the user's localized label", async () => {
  const published = JSON.parse(parseResponseFixture('entitydefinitions-select-displayname.response.http').body) as {
    value: Record<string, unknown>[];
  };
  // the published $select has no LogicalName; the catalog's query asks for it
  const body = {
    value: [
      { ...published.value[0], LogicalName: 'account' },
      { LogicalName: 'noset', EntitySetName: null },
    ],
  };
  expect(await readTableCatalog(answering(body))).toEqual([
    { logicalName: 'account', entitySetName: 'accounts', displayName: 'Account' },
  ]);
});

test('a body that is not a list of tables fails with zod naming the path', async () => {
  await expect(readTableCatalog(answering({ value: [{ EntitySetName: 'accounts' }] }))).rejects.toThrow(/LogicalName/);
});

describe('against the emulator', () => {
  let emulator: EmulatorHandle;
  beforeAll(async () => {
    emulator = await startEmulator({});
  });
  afterAll(async () => {
    await emulator?.close();
  });

  test('every table of the emulator with its entity set and display names', async () => {
    const client = createDataverseClient({
      webApiUrl: emulator.webApiUrl,
      accessTokenSource: { getAccessToken: () => Promise.resolve('emulator-token') },
    });
    const catalog = await readTableCatalog(client);
    expect(catalog).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ logicalName: 'account', entitySetName: 'accounts' }),
        expect.objectContaining({ logicalName: 'contact', entitySetName: 'contacts' }),
        expect.objectContaining({ logicalName: 'task', entitySetName: 'tasks' }),
      ]),
    );
    expect(catalog.every((t) => typeof t.displayName === 'string')).toBe(true);
  });
});
