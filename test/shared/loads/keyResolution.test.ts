/**
 * The route for keys no URL can carry (shared/loads/keyResolution.ts), with the real client against the emulator:
 * resolve the id with a `$filter` query, then write by id. Exactly once under retries (a crash between the query
 * and the write, a chunk sent twice), with two rows of the same key in one chunk, and in ContinueOnError=false order.
 */
import { startEmulator } from '../../../dev/emulator';
import { createDataverseClient, type DataverseClient } from '../../../shared/dataverse';
import { planLoad, type LoadPlan } from '../../../shared/ingestion/loadPlan';
import { resolveLoadProfile, type LoadProfileInput } from '../../../shared/ingestion/loadProfile';
import type { CellValue } from '../../../shared/ingestion/readers/readerTypes';
import { convertRow, type ConvertedRow } from '../../../shared/ingestion/rowConversion';
import { executeRows, type ExecutionMode } from '../../../shared/loads/chunkExecution';
import { idForKey, resolveUnaddressableKeys } from '../../../shared/loads/keyResolution';
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

function rows(p: LoadPlan, values: Record<string, CellValue>[]): ConvertedRow[] {
  return values.map((v, i) => {
    const converted = convertRow(p, {
      ok: true,
      rowNumber: i + 1,
      line: i + 2,
      byteStart: 0,
      byteEnd: 0,
      raw: '',
      values: v,
    });
    if (!converted.ok) throw new Error(converted.faults.map((f) => f.message).join('; '));
    return converted;
  });
}

const run = (
  p: LoadPlan,
  r: ConvertedRow[],
  mode: ExecutionMode,
  extra: { isRetry?: boolean; continueOnError?: boolean } = {},
) =>
  executeRows(
    {
      client,
      plan: p,
      mode,
      continueOnError: extra.continueOnError ?? true,
      callOptions: {},
      batchSize: 100,
      isRetry: extra.isRetry ?? false,
    },
    r,
  );

async function contacts(): Promise<{ contactid: string; emailaddress1: string; lastname: string }[]> {
  const answer = await client.send({ method: 'GET', path: 'contacts?$select=emailaddress1,lastname' });
  return (answer.body as { value: { contactid: string; emailaddress1: string; lastname: string }[] }).value;
}

describe.each(['batch', 'bulk'] as const)('unaddressable keys in %s mode', (mode) => {
  test('upsert: created by a deterministic id, then updated in place; twice in one chunk and resent: one record', async () => {
    const p = await plan('contact', ['lastname', 'emailaddress1']);
    expect(p.operation).toBe('upsert');
    const batch = rows(p, [
      { lastname: 'One', emailaddress1: 'a+b@example.com' },
      { lastname: 'Two', emailaddress1: 'a+b@example.com' },
      { lastname: 'Plain', emailaddress1: 'plain@example.com' },
    ]);
    expect((await run(p, batch, mode)).map((o) => o.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // The same chunk again (a retry after the write): still one record per key.
    expect((await run(p, batch, mode, { isRetry: true })).map((o) => o.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    const stored = await contacts();
    expect(stored.map((c) => c.emailaddress1).sort()).toEqual(['a+b@example.com', 'plain@example.com']);
    const plus = stored.find((c) => c.emailaddress1 === 'a+b@example.com')!;
    expect(plus.contactid).toBe(idForKey('contacts', { emailaddress1: 'a+b@example.com' }));
    expect(plus.lastname).toBe('Two');
  });

  test('a record created by someone else is found by the query and updated, not duplicated', async () => {
    await client.send({
      method: 'POST',
      path: 'contacts',
      body: { lastname: 'Theirs', emailaddress1: 'x/y@example.com' },
    });
    const p = await plan('contact', ['lastname', 'emailaddress1']);
    await run(p, rows(p, [{ lastname: 'Ours', emailaddress1: 'x/y@example.com' }]), mode);
    const stored = await contacts();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ lastname: 'Ours', emailaddress1: 'x/y@example.com' });
    expect(stored[0]!.contactid).not.toBe(idForKey('contacts', { emailaddress1: 'x/y@example.com' }));
  });
});

test('a crash between the query and the write: the retry queries again and writes once', async () => {
  const p = await plan('contact', ['lastname', 'emailaddress1']);
  const chunk = rows(p, [{ lastname: 'L', emailaddress1: '50%off&more@example.com' }]);
  await resolveUnaddressableKeys({ client, plan: p, callOptions: {}, isRetry: false }, chunk); // then "crash"
  expect(await contacts()).toHaveLength(0);
  expect((await run(p, chunk, 'batch', { isRetry: true }))[0]).toMatchObject({ status: 'succeeded' });
  expect((await contacts()).map((c) => c.emailaddress1)).toEqual(['50%off&more@example.com']);
});

test('delete by such a key: deleted by id; a retry finds it gone and counts it done; a first try reports it missing', async () => {
  const upsert = await plan('contact', ['lastname', 'emailaddress1']);
  await run(upsert, rows(upsert, [{ lastname: 'L', emailaddress1: 'q?r#s@example.com' }]), 'batch');
  const del = await plan('contact', ['emailaddress1'], { operation: 'delete' });
  const chunk = rows(del, [{ emailaddress1: 'q?r#s@example.com' }]);
  expect((await run(del, chunk, 'batch'))[0]).toMatchObject({ status: 'succeeded' });
  expect(await contacts()).toHaveLength(0);
  expect((await run(del, chunk, 'batch', { isRetry: true }))[0]).toMatchObject({
    status: 'succeeded',
    recovered: true,
  });
  expect((await run(del, chunk, 'batch'))[0]).toMatchObject({
    status: 'failed',
    httpStatus: 404,
    message: "row 1: contact With emailaddress1 = 'q?r#s@example.com' Does Not Exist",
  });
});

test('a lookup bound by such a key: bound by id when found; a row whose key matches nothing fails naming its column', async () => {
  const c = await plan('contact', ['lastname', 'emailaddress1']);
  await run(c, rows(c, [{ lastname: 'L', emailaddress1: 'a:b\\c@example.com' }]), 'batch');
  const [contact] = await contacts();
  const p = await plan('account', ['name', 'Contact'], {
    operation: 'create',
    lookups: { Contact: { attribute: 'primarycontactid', by: 'emailaddress1' } },
  });
  const outcomes = await run(
    p,
    rows(p, [
      { name: 'Bound', Contact: 'a:b\\c@example.com' },
      { name: 'Missing', Contact: 'no+one@example.com' },
      { name: 'After', Contact: 'a:b\\c@example.com' },
    ]),
    'batch',
    { continueOnError: false },
  );
  expect(outcomes.map((o) => o.status)).toEqual(['succeeded', 'failed', 'notProcessed']);
  expect(outcomes[1]).toMatchObject({
    message: "row 2, column 'Contact': no contact records have emailaddress1 = 'no+one@example.com'",
  });
  const accounts = (
    (await client.send({ method: 'GET', path: 'accounts?$select=name,_primarycontactid_value' })).body as {
      value: { name: string; _primarycontactid_value: string }[];
    }
  ).value;
  expect(accounts).toEqual([expect.objectContaining({ name: 'Bound', _primarycontactid_value: contact!.contactid })]);
});
