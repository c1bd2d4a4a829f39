/**
 * The ETag-guarded record store over Azurite: concurrent read-modify-writes all land (none lost to a stale write),
 * a second create finds the first record, a change of nothing writes nothing, a missing record fails by name.
 */
import { startAzurite, type AzuriteFixture } from '../jobs/azurite';
import { createEtagRecordStore, type EtagRecordStore } from '../../../shared/storage/etagRecordStore';

interface Counter {
  id: string;
  count: number;
  owner?: string;
}
type CounterPatch = Partial<Omit<Counter, 'id'>>;

let azurite: AzuriteFixture;
let store: EtagRecordStore<Counter, CounterPatch>;

beforeAll(async () => {
  azurite = await startAzurite();
  const table = azurite.clients.table('etagrecordtest');
  await table.createTable();
  store = createEtagRecordStore<Counter, CounterPatch>({
    table,
    rowKey: 'counter',
    toEntity: ({ count, owner }) => ({
      ...(count !== undefined ? { count } : {}),
      ...(owner !== undefined ? { owner } : {}),
    }),
    fromEntity: (e) => ({
      id: String(e.partitionKey),
      count: Number(e.count),
      ...(typeof e.owner === 'string' ? { owner: e.owner } : {}),
    }),
    fail: (message) => new Error(`counter store: ${message}`),
    what: 'Counter',
  });
});
afterAll(async () => azurite?.close());

test('twenty concurrent increments all land', async () => {
  await store.createIfAbsent({ id: 'c1', count: 0 });
  await Promise.all(Array.from({ length: 20 }, () => store.mutate('c1', (r) => ({ count: r.count + 1 }))));
  expect(await store.get('c1')).toEqual({ id: 'c1', count: 20 });
});

test('one claim wins among racers; the others see it and change nothing', async () => {
  await store.createIfAbsent({ id: 'c2', count: 0 });
  const results = await Promise.all(
    ['a', 'b', 'c', 'd'].map((owner) => store.mutate('c2', (r) => (r.owner ? undefined : { owner }))),
  );
  expect(results.filter((r) => r.changed)).toHaveLength(1);
  const winner = results.find((r) => r.changed)!.record.owner;
  expect(results.every((r) => r.record.owner === winner)).toBe(true);
  expect((await store.get('c2'))?.owner).toBe(winner);
});

test('a second create returns the stored record; a missing one is undefined or fails by name', async () => {
  expect(await store.createIfAbsent({ id: 'c3', count: 5 })).toEqual({ created: true, record: { id: 'c3', count: 5 } });
  expect(await store.createIfAbsent({ id: 'c3', count: 9 })).toEqual({
    created: false,
    record: { id: 'c3', count: 5 },
  });
  expect(await store.get('nope')).toBeUndefined();
  await expect(store.mutate('nope', () => ({ count: 1 }))).rejects.toThrow(
    'counter store: Counter nope does not exist',
  );
});
