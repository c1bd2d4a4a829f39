/**
 * Two instances' sweepers on one storage account (issue 13 point 6): a stalled load is resumed by exactly one of
 * them. Its claim is an ETag-guarded write of the record; the sweeper whose write loses (412, or the record moved
 * since it was listed) re-enqueues nothing. Azurite and the emulator are real; the only seam is a barrier that
 * holds each sweeper's conditional write until both have read the record, so the race is the one Azure sees.
 */
import type { TableClient } from '@azure/data-tables';
import type { LoadContext } from '../../../shared/loads/loadContext';
import { decodeLoadQueueMessage } from '../../../shared/loads/loadTriggers';
import { getLoad } from '../../../shared/loads/loadApi';
import type { LoadRecord } from '../../../shared/loads/loadRecord';
import { startLoad } from '../../../shared/loads/loadScan';
import { createLoadStore } from '../../../shared/loads/loadStore';
import { sweepLoads, type SweepReport } from '../../../shared/loads/loadSweeper';
import { names, startLoadFixture, type LoadFixture } from './loadFixture';

jest.setTimeout(120_000);

let f: LoadFixture;
beforeAll(async () => {
  f = await startLoadFixture({ chunkSize: 2 });
});
afterAll(async () => {
  await f?.close();
});

const chunkQueue = () => f.storage.queueService.getQueueClient(names.chunkQueue);

/** The chunk messages on the queue for one load, by chunk index (peeked: up to 32). */
async function queuedChunks(loadId: string): Promise<number[]> {
  const { peekedMessageItems } = await chunkQueue().peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems
    .map((m) => decodeLoadQueueMessage(m.messageText))
    .flatMap((d) => (d.ok && 'chunkIndex' in d.message && d.message.loadId === loadId ? [d.message.chunkIndex] : []))
    .sort((a, b) => a - b);
}

/** A planned 3-chunk load whose chunk messages were lost (a killed host holds them invisible). */
async function stalledLoad(name: string): Promise<string> {
  await chunkQueue().clearMessages();
  await f.drop(name, 'name\r\nA\r\nB\r\nC\r\nD\r\nE\r\nF\r\n');
  const started = await startLoad(f.ctx, { container: 'incoming', name });
  if (!('record' in started)) throw new Error(`load not started: ${JSON.stringify(started)}`);
  expect(await queuedChunks(started.record.id)).toEqual([0, 1, 2]);
  await chunkQueue().clearMessages();
  return started.record.id;
}

/** Resolves once `parties` callers have arrived. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++arrived >= parties) open();
    return opened;
  };
}

/** Another instance's view of the same storage: its own store, whose first record write waits at `gate`. */
function instance(gate: () => Promise<void>): LoadContext {
  const loads = f.storage.table(names.loadsTable);
  let held = false;
  const gated = new Proxy(loads, {
    get(target, property, receiver) {
      if (property === 'updateEntity')
        return async (...args: Parameters<TableClient['updateEntity']>) => {
          if (!held) {
            held = true;
            await gate();
          }
          return target.updateEntity(...args);
        };
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const store = createLoadStore({ loads: gated, loadRows: f.storage.table(names.loadRowsTable) });
  // Past the stall period (300 s in the fixture), as a sweep after a host died would be.
  return { ...f.ctx, store, now: () => Date.now() + 10 * 60_000 };
}

const requeued = (report: SweepReport, loadId: string) =>
  report.requeuedChunks.filter((c) => c.loadId === loadId).map((c) => c.chunkIndex);

it('two sweepers racing on one stalled load: both write with the same ETag, one gets 412, only the winner re-enqueues', async () => {
  const id = await stalledLoad('account/two-sweepers.csv');
  const gate = barrier(2);
  const [a, b] = await Promise.all([sweepLoads(instance(gate)), sweepLoads(instance(gate))]);
  const winners = [requeued(a, id), requeued(b, id)].filter((chunks) => chunks.length > 0);
  expect(winners).toEqual([[0, 1, 2]]);
  expect(await queuedChunks(id)).toEqual([0, 1, 2]);
  await f.drain();
  expect(await getLoad(f.ctx, id)).toMatchObject({ status: 'succeeded', counts: { total: 6, succeeded: 6 } });
});

it('a sweeper whose listing is stale (another claimed the load since) re-enqueues nothing', async () => {
  const id = await stalledLoad('account/stale-listing.csv');
  const late = instance(() => Promise.resolve());
  const listed: LoadRecord[] = [];
  for await (const record of late.store.listUnfinished()) listed.push(record);
  expect(listed.map((r) => r.id)).toContain(id);

  const first = await sweepLoads(instance(() => Promise.resolve()));
  expect(requeued(first, id)).toEqual([0, 1, 2]);
  // The second sweeper acts on what it listed before the first one claimed the load.
  const second = await sweepLoads({
    ...late,
    store: {
      ...late.store,
      listUnfinished: () =>
        (async function* () {
          for (const record of listed) yield await Promise.resolve(record);
        })(),
    },
  });
  expect(requeued(second, id)).toEqual([]);
  expect(await queuedChunks(id)).toEqual([0, 1, 2]);
  await f.drain();
  expect(await getLoad(f.ctx, id)).toMatchObject({ status: 'succeeded', counts: { total: 6, succeeded: 6 } });
});
