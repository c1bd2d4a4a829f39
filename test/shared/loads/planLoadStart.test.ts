/**
 * Starting a plan's table load (shared/loads/planLoadStart.ts) over Azurite and the emulator: a small staged file is
 * scanned in the call (its chunk messages queued, no scan message), a large one gets a scan message, a scan that
 * fails on something other than the file falls back to a scan message, and a load started twice is one load.
 */
import { startPlanLoad, type PlanLoadStart } from '../../../shared/loads/planLoadStart';
import { decodeLoadQueueMessage } from '../../../shared/loads/loadTriggers';
import type { LoadContext } from '../../../shared/loads/loadContext';
import { startLoadFixture, type LoadFixture } from './loadFixture';

jest.setTimeout(120_000);

let f: LoadFixture;
beforeAll(async () => {
  f = await startLoadFixture({ chunkSize: 10 });
});
afterAll(async () => {
  await f?.close();
});

const queue = () => f.storage.queueService.getQueueClient('load-chunks');
/** The queued messages: `scan` for a scan message, the chunk index for a chunk message. */
async function queued(): Promise<(string | number)[]> {
  const { peekedMessageItems } = await queue().peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((m) => {
    const decoded = decodeLoadQueueMessage(m.messageText);
    if (!decoded.ok) throw new Error(`undecodable message ${m.messageText}`);
    return 'kind' in decoded.message ? decoded.message.kind : decoded.message.chunkIndex;
  });
}

const text = `name\r\n${Array.from({ length: 25 }, (_, i) => `Staged ${i}`).join('\r\n')}\r\n`;
async function staged(name: string): Promise<PlanLoadStart> {
  const blobName = `_plans/plan-${name}/account/${name}.csv`;
  await f.drop(blobName, text);
  return { loadId: `load-${name}`, planId: `plan-${name}`, table: 'account', container: 'incoming', blobName };
}

beforeEach(async () => {
  await queue().clearMessages();
});

test('a staged file up to inlineScanMaxBytes is scanned in the call: its chunks are queued, no scan message', async () => {
  const start = await staged('small');
  const { created, record } = await startPlanLoad({ ...f.ctx, inlineScanMaxBytes: Buffer.byteLength(text) }, start);
  expect(created).toBe(true);
  expect(record).toMatchObject({ planId: 'plan-small', scanComplete: true, total: 25, chunkCount: 3 });
  expect(await queued()).toEqual([0, 1, 2]);

  // Started again (another advance of the plan, a sweep): the same load, nothing scanned or queued twice.
  const again = await startPlanLoad(f.ctx, start);
  expect(again.created).toBe(false);
  expect(await queued()).toEqual([0, 1, 2]);
  expect(await f.drain()).toBe(3);
  expect(await f.ctx.store.get(start.loadId)).toMatchObject({ status: 'succeeded', succeeded: 25 });
});

test('a staged file over inlineScanMaxBytes gets a scan message, which then plans the chunks', async () => {
  const start = await staged('large');
  const { record } = await startPlanLoad({ ...f.ctx, inlineScanMaxBytes: Buffer.byteLength(text) - 1 }, start);
  expect(record.scanComplete).toBeFalsy();
  expect(await queued()).toEqual(['scan']);
  expect(await f.drain()).toBe(4);
  expect(await f.ctx.store.get(start.loadId)).toMatchObject({ status: 'succeeded', succeeded: 25 });
});

test('a scan that fails on something other than the file leaves a scan message, and the load is not failed', async () => {
  const start = await staged('flaky');
  const warnings: string[] = [];
  const ctx: LoadContext = {
    ...f.ctx,
    metadata: { get: () => Promise.reject(new Error('socket hang up')) },
    log: { info: () => undefined, warn: (message) => void warnings.push(message) },
  };
  const { record } = await startPlanLoad(ctx, start);
  expect(record).toMatchObject({ status: 'running' });
  expect(warnings).toEqual(['Plan load not scanned here; queued for a scan']);
  expect(await queued()).toEqual(['scan']);
  expect(await f.drain()).toBe(4);
  expect(await f.ctx.store.get(start.loadId)).toMatchObject({ status: 'succeeded', succeeded: 25 });
});
