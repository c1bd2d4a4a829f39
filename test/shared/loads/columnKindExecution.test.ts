/**
 * The requests around rows of the column kinds (shared/loads/columnKindExecution.ts), with the real client against
 * the emulator: owners looked up once per load, a state reached by a second request (task: created Open, then
 * Completed), the size checked before any upload, and pair rows by key. File reading goes through a BlobSource-shaped
 * reader over memory (Azurite is exercised by test/e2e/column-kinds.test.ts).
 */
import { startEmulator } from '../../../dev/emulator';
import { createDataverseClient, type DataverseClient } from '../../../shared/dataverse';
import { planLoad, type LoadPlan } from '../../../shared/ingestion/loadPlan';
import { resolveLoadProfile, type LoadProfileInput } from '../../../shared/ingestion/loadProfile';
import type { CellValue } from '../../../shared/ingestion/readers/readerTypes';
import { convertRow, type ConvertedRow } from '../../../shared/ingestion/rowConversion';
import { executeRows } from '../../../shared/loads/chunkExecution';
import { createTableMetadataSource } from '../../../shared/loads/tableMetadataSource';
import { CountingTokenSource } from '../dataverse/testDataverse';

type Handle = Awaited<ReturnType<typeof startEmulator>>;
let emulator: Handle;
let client: DataverseClient;
beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
  client = createDataverseClient({ webApiUrl: emulator.webApiUrl, accessTokenSource: new CountingTokenSource() });
});
afterAll(() => emulator.close());
beforeEach(() => emulator.reset());

async function plan(table: string, columns: string[], profile: LoadProfileInput = {}): Promise<LoadPlan> {
  const metadata = await createTableMetadataSource(client).get(table);
  return planLoad(metadata, resolveLoadProfile({ folderProfile: { checkRequired: false, ...profile } }), columns);
}
const accountUrl = 'https://acct.blob.core.windows.net';
function rows(p: LoadPlan, values: Record<string, CellValue>[]): ConvertedRow[] {
  return values.map((v, i) => {
    const row = { ok: true as const, rowNumber: i + 1, line: i + 2, byteStart: 0, byteEnd: 0, raw: '', values: v };
    const converted = convertRow(p, row, { accountUrl, fileKey: `test-${Math.random()}` });
    if (!converted.ok) throw new Error(converted.faults.map((f) => f.message).join('; '));
    return converted;
  });
}
const webApi = async (method: string, path: string, body?: unknown) =>
  (await client.send({ method: method as 'GET', path, ...(body ? { body } : {}) })).body as Record<string, unknown>;
const blobsOf = (files: Record<string, Buffer>) => ({
  properties: (container: string, name: string) =>
    Promise.resolve(
      files[`${container}/${name}`]
        ? { container, name, etag: '"1"', contentLength: files[`${container}/${name}`]!.length, metadata: {} }
        : undefined,
    ),
  // eslint-disable-next-line @typescript-eslint/require-await
  read: async function* (file: { container: string; name: string }) {
    yield files[`${file.container}/${file.name}`]!;
  },
});

const userId = '30000000-0000-0000-0000-000000000003';

test('owners are looked up once per load; no match fails the row before it is sent', async () => {
  await webApi('POST', 'systemusers', { systemuserid: userId, domainname: 'alice@contoso.com' });
  const p = await plan('account', ['name', 'ownerid']);
  const run = (values: Record<string, CellValue>[]) =>
    executeRows(
      {
        client,
        plan: p,
        mode: 'batch',
        continueOnError: true,
        callOptions: {},
        batchSize: 100,
        isRetry: false,
        loadId: 'load-1',
      },
      rows(p, values),
    );
  const first = await run([
    { name: 'a1', ownerid: 'alice@contoso.com' },
    { name: 'a2', ownerid: 'Alice@Contoso.com' },
    { name: 'n1', ownerid: 'nobody@contoso.com' },
  ]);
  expect(first.map((o) => o.status)).toEqual(['succeeded', 'succeeded', 'failed']);
  expect(first[2]).toMatchObject({
    code: 'OwnerNotResolved',
    message: "row 3, column 'ownerid': 'nobody@contoso.com' matches no user (domainname or internalemailaddress)",
  });
  const before = emulator.stats().requests;
  const second = await run([{ name: 'a3', ownerid: 'ALICE@contoso.com' }]);
  expect(second[0]!.status).toBe('succeeded');
  expect(emulator.stats().requests - before).toBe(1); // the write only: the owner came from the load's cache
  const a3 = (await webApi('GET', `accounts?$select=_ownerid_value&$filter=name eq 'a3'`)).value as Record<
    string,
    unknown
  >[];
  expect(a3[0]!._ownerid_value).toBe(userId);
});

test('an owner by Entra object id (a GUID) or by team name', async () => {
  const objectId = '0f8fad5b-d9cb-469f-a165-70867728950e';
  const teamId = '40000000-0000-0000-0000-000000000006';
  await webApi('POST', 'systemusers', { systemuserid: userId, azureactivedirectoryobjectid: objectId });
  await webApi('POST', 'teams', { teamid: teamId, name: "O'Brien Team" });
  const p = await plan('account', ['name', 'ownerid']);
  const converted = rows(p, [
    { name: 'e1', ownerid: objectId.toUpperCase() },
    { name: 't1', ownerid: "team:o'brien team" },
  ]);
  const outcomes = await executeRows(
    { client, plan: p, mode: 'batch', continueOnError: true, callOptions: {}, batchSize: 100, isRetry: false },
    converted,
  );
  expect(outcomes.map((o) => o.status)).toEqual(['succeeded', 'succeeded']);
  const owner = async (id: string) => (await webApi('GET', `accounts(${id})?$select=_ownerid_value`))._ownerid_value;
  expect(await owner(converted[0]!.recordId!)).toBe(userId);
  expect(await owner(converted[1]!.recordId!)).toBe(teamId);
});

test('a state the table does not take on create is set by a second request; the row is reported once', async () => {
  const p = await plan('task', ['subject', 'statecode', 'statuscode']);
  const states = (await webApi(
    'GET',
    "EntityDefinitions(LogicalName='task')/Attributes/Microsoft.Dynamics.CRM.StatusAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)",
  )) as {
    value: { OptionSet: { Options: { Value: number; State: number }[] } }[];
  };
  const completed = states.value[0]!.OptionSet.Options.find((o) => o.State === 1)!;
  const converted = rows(p, [{ subject: 'done task', statecode: '1', statuscode: String(completed.Value) }]);
  expect(converted[0]!.stateUpdate).toEqual({ statecode: 1, statuscode: completed.Value });
  const outcomes = await executeRows(
    { client, plan: p, mode: 'bulk', continueOnError: true, callOptions: {}, batchSize: 100, isRetry: false },
    converted,
  );
  expect(outcomes).toEqual([{ status: 'succeeded', id: converted[0]!.recordId }]);
  expect(await webApi('GET', `tasks(${converted[0]!.recordId})?$select=statecode,statuscode`)).toMatchObject({
    statecode: 1,
    statuscode: completed.Value,
  });
});

test('files: the size is checked before any upload; a missing blob fails the row; a good one is committed', async () => {
  const p = await plan('new_document', ['new_name', 'new_file']);
  const blobs = blobsOf({ 'docs/ok.txt': Buffer.from('hello'), 'docs/big.bin': Buffer.alloc(1025) });
  const converted = rows(p, [
    { new_name: 'ok', new_file: 'docs/ok.txt' },
    { new_name: 'big', new_file: 'docs/big.bin' },
    { new_name: 'gone', new_file: 'docs/gone.txt' },
  ]);
  const before = emulator.stats().requests;
  const outcomes = await executeRows(
    { client, plan: p, mode: 'batch', continueOnError: true, callOptions: {}, batchSize: 100, isRetry: false, blobs },
    converted,
  );
  // One $batch of creates, then Initialize + UploadBlock + Commit for the one good file.
  expect(emulator.stats().requests - before).toBe(4);
  expect(outcomes.map((o) => o.status)).toEqual(['succeeded', 'failed', 'failed']);
  expect(outcomes[1]).toMatchObject({ code: 'FileUploadFailed' });
  expect((outcomes[1] as { message: string }).message).toMatch(
    /^row 2, column 'new_file': .+ is over the .+ new_file takes \(MaxSizeInKB 1\)$/,
  );
  expect(outcomes[2]).toMatchObject({ message: "row 3, column 'new_file': no blob 'gone.txt' in container 'docs'" });
  const download = await fetch(`${emulator.webApiUrl}new_documents(${converted[0]!.recordId})/new_file/$value`, {
    headers: { authorization: 'Bearer x' },
  });
  expect(await download.text()).toBe('hello');
});

test('a file over one block is streamed in 4 MB blocks, in order, byte for byte', async () => {
  const p = await plan('account', ['name', 'sample_filecolumn']);
  const data = Buffer.alloc(9 * 1024 * 1024 + 123);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 12)) & 0xff;
  const piece = 1_500_000; // pieces that do not line up with blocks
  const blobs = {
    properties: (container: string, name: string) =>
      Promise.resolve({ container, name, etag: '"1"', contentLength: data.length, metadata: {} }),
    // eslint-disable-next-line @typescript-eslint/require-await
    read: async function* () {
      for (let at = 0; at < data.length; at += piece) yield data.subarray(at, at + piece);
    },
  };
  const converted = rows(p, [{ name: 'big file', sample_filecolumn: 'docs/big.bin' }]);
  const before = emulator.stats().requests;
  const outcomes = await executeRows(
    { client, plan: p, mode: 'batch', continueOnError: true, callOptions: {}, batchSize: 100, isRetry: false, blobs },
    converted,
  );
  expect(outcomes[0]!.status).toBe('succeeded');
  expect(emulator.stats().requests - before).toBe(1 + 1 + 3 + 1); // create, initialize, 3 blocks, commit
  const download = await fetch(`${emulator.webApiUrl}accounts(${converted[0]!.recordId})/sample_filecolumn/$value`, {
    headers: { authorization: 'Bearer x' },
  });
  expect(Buffer.from(await download.arrayBuffer()).equals(data)).toBe(true);
});
