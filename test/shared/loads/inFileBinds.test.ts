/**
 * The second pass of one file over real parts (Azurite, the emulator over HTTP; shared/loads/inFileBinds.ts): a crash
 * after the binds were sent and the failed bind recorded, but before the pass was marked done, re-runs the pass
 * without duplicating a record or a reported row; files without in-file references get no second pass at all; the
 * pending binds are kept packed per chunk, merged when a chunk is delivered again.
 */
import { getLoad } from '../../../shared/loads/loadApi';
import { acceptLoad } from '../../../shared/loads/loadScan';
import { tryFinalize } from '../../../shared/loads/loadEnd';
import { runBindPass } from '../../../shared/loads/bindPass';
import type { FailedRowRecord } from '../../../shared/loads/loadRecord';
import type { PendingBind } from '../../../shared/loads/inFileBinds';
import { odata } from '@azure/data-tables';
import { names, startLoadFixture, type LoadFixture } from './loadFixture';

jest.setTimeout(120_000);

let f: LoadFixture;
beforeAll(async () => {
  f = await startLoadFixture({ chunkSize: 5 });
});
afterAll(async () => {
  await f?.close();
});

interface Account {
  accountid: string;
  accountnumber: string | null;
  _parentaccountid_value: string | null;
}

async function accounts(): Promise<Account[]> {
  const response = await fetch(
    `${f.emulator.webApiUrl}accounts?$select=accountid,accountnumber,_parentaccountid_value`,
    {
      headers: { authorization: 'Bearer test', accept: 'application/json' },
    },
  );
  if (!response.ok) throw new Error(`GET accounts answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { value: Account[] }).value;
}

async function setProfile(profile: Record<string, unknown>) {
  await f.drop('account/_profile.json', JSON.stringify(profile));
}

const rows = 20;
/** Rows 1-14 name the row 6 on (another chunk of 5); row 10 can't be converted, so row 4's bind matches nothing. */
const parentOf = (i: number) => (i <= 14 ? i + 6 : undefined);
function file(): string {
  const lines = ['accountnumber,name,numberofemployees,parentaccountid'];
  for (let i = 1; i <= rows; i++)
    lines.push(`B-${i},Account ${i},${i === 10 ? 'x' : String(i)},${parentOf(i) ? `B-${parentOf(i)}` : ''}`);
  return lines.join('\r\n') + '\r\n';
}

test('a crash before the pass is marked done: the re-run binds again, every row once, the failed bind counted once', async () => {
  f.emulator.reset();
  await setProfile({ lookups: { parentaccountid: { attribute: 'parentaccountid', by: 'accountnumber' } } });
  await f.drop('account/crash.csv', file());
  const store = f.ctx.inFileBinds!;
  const completePass = store.completePass.bind(store);
  let crashes = 1;
  store.completePass = (...args) => (crashes-- > 0 ? Promise.reject(new Error('host killed')) : completePass(...args));
  try {
    const started = await acceptLoad(f.ctx, { container: 'incoming', name: 'account/crash.csv' });
    const id = 'record' in started ? started.record.id : '';
    await expect(f.drain()).rejects.toThrow('host killed');
    expect((await f.ctx.store.get(id))?.status).toBe('running');

    // The sweeper's turn: the pass runs again (same PATCHes, update-only), then the load ends.
    const ended = await tryFinalize(f.ctx, id, { force: true });
    expect(ended).toMatchObject({ status: 'partiallySucceeded', total: rows, succeeded: rows - 2, failed: 2 });
    await runBindPass(f.ctx, ended!);
    expect(await tryFinalize(f.ctx, id)).toBeUndefined();
    expect(await getLoad(f.ctx, id)).toMatchObject({ counts: { total: rows, succeeded: rows - 2, failed: 2 } });

    const failed: FailedRowRecord[] = [];
    for await (const r of f.ctx.store.listFailedRows(id)) failed.push(r);
    expect(failed.map((r) => [r.rowNumber, r.code])).toEqual([
      [4, 'LookupNotBound'],
      [10, 'ConversionFailed'],
    ]);
    expect(failed[0]!.message).toContain("row 4, column 'parentaccountid': 'B-10' matches no row");
    expect(failed[0]).toMatchObject({ column: 'parentaccountid', value: 'B-10' });
    expect(failed[0]!.dataverseMessage).toBeTruthy();

    const stored = await accounts();
    expect(stored).toHaveLength(rows - 1);
    const byNumber = new Map(stored.map((a) => [a.accountnumber, a]));
    expect(byNumber.size).toBe(rows - 1);
    for (let i = 1; i <= rows; i++) {
      if (i === 10) continue;
      const parent = parentOf(i);
      const expected = parent === undefined || parent === 10 ? null : byNumber.get(`B-${parent}`)!.accountid;
      expect([i, byNumber.get(`B-${i}`)!._parentaccountid_value]).toEqual([i, expected]);
    }
  } finally {
    store.completePass = completePass;
  }
});

test('a file whose lookups bind by id has no second pass (the hot path is unchanged)', async () => {
  f.emulator.reset();
  // By id: without the profile, parentaccountid would bind by account's key accountnumber (lookupKeys.ts).
  await setProfile({ lookups: { parentaccountid: { by: 'id' } } });
  await f.drop('account/plain.csv', 'accountnumber,name,parentaccountid\r\nC-1,One,\r\nC-2,Two,\r\n');
  const started = await acceptLoad(f.ctx, { container: 'incoming', name: 'account/plain.csv' });
  await f.drain();
  const record = await f.ctx.store.get('record' in started ? started.record.id : '');
  expect(record).toMatchObject({ status: 'succeeded', succeeded: 2 });
  expect(record?.plan?.inFileBinds).toBeUndefined();
});

test('the binds of upserted rows go by UpdateMultiple once their ids are found by $filter; a bind to nothing is isolated by $batch', async () => {
  const sent: string[] = [];
  const recording: typeof fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    sent.push(`${init?.method ?? 'GET'} ${decodeURIComponent(new URL(url).pathname + new URL(url).search)}`);
    return fetch(input, init);
  };
  const g = await startLoadFixture({ chunkSize: 5, dataverse: { fetch: recording } });
  try {
    await g.drop(
      'account/_profile.json',
      JSON.stringify({ lookups: { parentaccountid: { attribute: 'parentaccountid', by: 'accountnumber' } } }),
    );
    await g.drop('account/bulk-binds.csv', file());
    const started = await acceptLoad(g.ctx, { container: 'incoming', name: 'account/bulk-binds.csv' });
    const id = 'record' in started ? started.record.id : '';
    const before = sent.length;
    await g.drain();
    const pass = sent.slice(before).filter((line) => !line.includes('UpsertMultiple'));
    expect(
      pass.some((line) =>
        line.startsWith('GET /api/data/v9.2/accounts?$select=accountid,accountnumber&$filter=(accountnumber eq'),
      ),
    ).toBe(true);
    expect(
      pass.filter((line) => line.includes('accounts/Microsoft.Dynamics.CRM.UpdateMultiple')).length,
    ).toBeGreaterThan(0);
    expect(await getLoad(g.ctx, id)).toMatchObject({
      status: 'partiallySucceeded',
      counts: { succeeded: rows - 2, failed: 2 },
    });
    const failed: FailedRowRecord[] = [];
    for await (const r of g.ctx.store.listFailedRows(id)) failed.push(r);
    expect(failed.map((r) => [r.rowNumber, r.code])).toEqual([
      [4, 'LookupNotBound'],
      [10, 'ConversionFailed'],
    ]);
  } finally {
    await g.close();
  }
});

describe('pending binds kept per chunk', () => {
  const bind = (rowNumber: number, chunkIndex: number, text = 'x'): PendingBind => ({
    rowNumber,
    line: rowNumber + 1,
    chunkIndex,
    record: { accountnumber: `P-${rowNumber}` },
    binds: { 'parentaccountid@odata.bind': `/accounts(accountnumber='P-${rowNumber + 37}')` },
    references: [{ column: 'parentaccountid', value: `P-${rowNumber + 37}`, property: 'parentaccountid@odata.bind' }],
    rowJson: JSON.stringify({ accountnumber: `P-${rowNumber}`, description: text }),
  });
  const keysOf = async (loadId: string) => {
    const keys: string[] = [];
    for await (const e of f.storage.table(names.loadsTable).listEntities({
      queryOptions: { filter: odata`PartitionKey eq ${loadId}` },
    }))
      keys.push(e.rowKey!);
    return keys;
  };

  test('a chunk of long rows is a few parts, read back whole and in row order; another chunk stays apart', async () => {
    const store = f.ctx.inFileBinds!;
    const loadId = 'packed-binds';
    // 300 rows of ~2,000 characters each: about 20 parts of at most 30,000 characters.
    const chunk = Array.from({ length: 300 }, (_, i) => bind(1300 - i, 1, `é"\\${'y'.repeat(2000)}`));
    await store.putPending(loadId, 1, chunk);
    await store.putPending(loadId, 0, [bind(5, 0)]);
    const keys = await keysOf(loadId);
    expect(keys.length).toBeGreaterThan(15);
    expect(keys.length).toBeLessThan(30);
    expect(await store.listPending(loadId)).toEqual([bind(5, 0), ...[...chunk].reverse()]);
  });

  test('a chunk delivered again merges by row with what it kept; parts a crash left without a count are not read', async () => {
    const store = f.ctx.inFileBinds!;
    const loadId = 'merged-binds';
    await store.putPending(loadId, 2, [bind(11, 2), bind(12, 2, 'first')]);
    await store.putPending(loadId, 2, [bind(12, 2, 'second'), bind(13, 2)]);
    expect(await store.listPending(loadId)).toEqual([bind(11, 2), bind(12, 2, 'second'), bind(13, 2)]);
    // Parts written, then the crash before the count: the count read is still the previous one.
    await f.storage
      .table(names.loadsTable)
      .upsertEntity({ partitionKey: loadId, rowKey: 'bind-chunk-000002-0001', pendingJson: '[not json' });
    expect(await store.listPending(loadId)).toHaveLength(3);
  });

  test('one entity per row, as loads begun before packing kept them, is still bound', async () => {
    const store = f.ctx.inFileBinds!;
    const loadId = 'legacy-binds';
    await f.storage.table(names.loadsTable).upsertEntity({
      partitionKey: loadId,
      rowKey: `bind-row-${String(7).padStart(10, '0')}`,
      pendingJson: JSON.stringify(bind(7, 1)),
    });
    await store.putPending(loadId, 0, [bind(3, 0)]);
    expect(await store.listPending(loadId)).toEqual([bind(3, 0), bind(7, 1)]);
  });
});
