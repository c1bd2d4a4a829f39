/**
 * The load engine over Azurite and the emulator: the ExecuteMultiple settings table of the seeds on a
 * six-row file, conversion failures, idempotency (a blob delivered twice, a chunk processed twice), and the
 * bad inputs of issue 5 point 7 ending as failed loads with a message a user understands.
 */
import { expect } from '@jest/globals';
import { gzipSync } from 'node:zlib';
import { acceptLoad, scanLoad, startLoad } from '../../../shared/loads/loadScan';
import { decodeLoadQueueMessage, receiveDroppedFile } from '../../../shared/loads/loadTriggers';
import { processChunk } from '../../../shared/loads/chunkWorker';
import { recordIdFor } from '../../../shared/ingestion/recordId';
import { getLoad } from '../../../shared/loads/loadApi';
import { sweepLoads } from '../../../shared/loads/loadSweeper';
import { startLoadFixture, type LoadFixture } from './loadFixture';
import type { FailedRowRecord } from '../../../shared/loads/loadRecord';

jest.setTimeout(120_000);

let f: LoadFixture;
beforeAll(async () => {
  f = await startLoadFixture({ maxFileBytes: 200_000 });
});
afterAll(async () => {
  await f?.close();
});

const missing = '00000000-0000-0000-0000-0000000000ff';
/** Rows 3 and 5 bind a parent account that doesn't exist: Dataverse faults them (404), as in the seeds' example. */
function sixRows(tag: string): string {
  const rows = [1, 2, 3, 4, 5, 6].map((n) => `${tag} ${n},${n === 3 || n === 5 ? missing : ''}`);
  return `name,parentaccountid\r\n${rows.join('\r\n')}\r\n`;
}

async function load(name: string, content: string | Buffer, metadata?: Record<string, string>) {
  await f.drop(name, content, metadata ? { metadata } : {});
  // As the blob trigger does: record and check, queue a scan message; drain() runs the scan, then the chunks.
  const started = await acceptLoad(f.ctx, { container: 'incoming', name });
  await f.drain();
  const id = 'record' in started ? started.record.id : '';
  const view = id ? await getLoad(f.ctx, id) : undefined;
  if (process.env.DEBUG_LOADS) console.log(JSON.stringify(view));
  return { started, id, view };
}

async function resultItems(loadId: string) {
  const container = f.storage.blobService.getContainerClient('load-results');
  const items: { requestIndex: number; rowNumber: number; id?: string; fault?: { code: string; message: string } }[] =
    [];
  for await (const blob of container.listBlobsFlat({ prefix: `${loadId}/results/` })) {
    items.push(...(JSON.parse(await f.resultsText(blob.name)) as { items: typeof items }).items);
  }
  return items;
}

describe('six requests, the third and fifth faulting (executemultiple seeds table)', () => {
  const table = [
    { continueOnError: true, returnResponses: true, items: 6, faults: 2, succeeded: 4, failed: 2, notProcessed: 0 },
    { continueOnError: false, returnResponses: true, items: 3, faults: 1, succeeded: 2, failed: 1, notProcessed: 3 },
    { continueOnError: true, returnResponses: false, items: 2, faults: 2, succeeded: 4, failed: 2, notProcessed: 0 },
    { continueOnError: false, returnResponses: false, items: 1, faults: 1, succeeded: 2, failed: 1, notProcessed: 3 },
  ];
  it.each(table)(
    'ContinueOnError=$continueOnError ReturnResponses=$returnResponses → $items response items, $faults faults',
    async (row) => {
      const tag = `six-${row.continueOnError}-${row.returnResponses}`;
      const before = f.emulator.stats().recordsPerTable.account ?? 0;
      const { id, view } = await load(`account/${tag}.csv`, sixRows(tag), {
        operation: 'create',
        continueonerror: String(row.continueOnError),
        returnresponses: String(row.returnResponses),
      });
      expect(view).toMatchObject({
        status: 'partiallySucceeded',
        counts: { total: 6, succeeded: row.succeeded, failed: row.failed, notProcessed: row.notProcessed },
      });
      expect((f.emulator.stats().recordsPerTable.account ?? 0) - before).toBe(row.succeeded);
      const items = await resultItems(id);
      expect(items).toHaveLength(row.items);
      expect(items.filter((i) => i.fault)).toHaveLength(row.faults);
      expect(items.find((i) => i.fault)).toMatchObject({ requestIndex: 2, rowNumber: 3 });
      if (row.returnResponses)
        expect(items.filter((i) => i.id).map((i) => i.requestIndex)).toEqual(
          row.continueOnError ? [0, 1, 3, 5] : [0, 1],
        );
      // The failed-rows file: the faulted rows with their reason, and (ContinueOnError=false) the rows never sent.
      const failedFile = await f.resultsText(view!.links.failedRows!.name);
      const lines = failedFile.trim().split('\r\n');
      expect(lines[0]).toBe('name,parentaccountid,_error');
      expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(
        row.continueOnError ? [`${tag} 3`, `${tag} 5`] : [`${tag} 3`, `${tag} 4`, `${tag} 5`, `${tag} 6`],
      );
      // Dataverse's answer names neither column nor value; the message does, and the entity keeps Dataverse's own.
      const missingId = '00000000-0000-0000-0000-0000000000ff';
      expect(lines[1]).toContain(
        `row 3, column 'parentaccountid' (parentaccountid → account by id): no account with id '${missingId}'`,
      );
      const stored: FailedRowRecord[] = [];
      for await (const r of f.ctx.store.listFailedRows(id)) stored.push(r);
      expect(stored[0]).toMatchObject({
        rowNumber: 3,
        column: 'parentaccountid',
        value: missingId,
        dataverseCode: '0x80040217',
        dataverseMessage: `account With Id = ${missingId} Does Not Exist`,
      });
      if (!row.continueOnError) expect(lines[2]).toMatch(/not processed: the load stopped at the fault of row 3/);
      // The source moved, exactly one event.
      expect(view!.links.source).toBe(`incoming/processed/account/${tag}.csv`);
      expect((await f.events()).filter((e) => e.id === id)).toHaveLength(1);
    },
  );
});

describe('rows and files', () => {
  it('a value that cannot be converted fails its row alone, naming row, column and value', async () => {
    const csv =
      'name,numberofemployees,accountcategorycode\r\nA,10,Standard\r\nB,many,Standard\r\nC,3,Gold\r\nD,4,1\r\n';
    const { id, view } = await load('account/convert.csv', csv, { operation: 'create' });
    expect(view).toMatchObject({
      status: 'partiallySucceeded',
      counts: { total: 4, succeeded: 2, failed: 2, notProcessed: 0 },
    });
    const rows: { rowNumber: number; code: string; message: string }[] = [];
    for await (const r of f.ctx.store.listFailedRows(id)) rows.push(r);
    expect(rows.map((r) => [r.rowNumber, r.code])).toEqual([
      [2, 'ConversionFailed'],
      [3, 'ConversionFailed'],
    ]);
    expect(rows[0]!.message).toMatch(/row 2, column 'numberofemployees'/);
    expect(rows[0]!.message).toMatch(/many/);
    expect(rows[1]!.message).toMatch(/row 3, column 'accountcategorycode'.*Gold/);
  });

  it('a blob delivered twice and chunks processed twice create nothing twice', async () => {
    const csv = `name\r\n${Array.from({ length: 25 }, (_, i) => `twice ${i}`).join('\r\n')}\r\n`;
    const before = f.emulator.stats().recordsPerTable.account ?? 0;
    await f.drop('account/twice.csv', csv);
    const first = await startLoad(f.ctx, { container: 'incoming', name: 'account/twice.csv' });
    const again = await startLoad(f.ctx, { container: 'incoming', name: 'account/twice.csv' });
    expect('record' in again && 'record' in first && again.record.id).toBe('record' in first && first.record.id);
    const id = 'record' in first ? first.record.id : '';
    const plan = await f.ctx.store.listPlan(id);
    // The chunk message delivered twice too: process every copy, then once more as a late retry.
    await f.ctx.chunkQueue.send(plan[0]!);
    expect(await f.drain()).toBe(2);
    expect(await processChunk(f.ctx, plan[0]!, { attempt: 2, maxAttempts: 5 })).toEqual({
      kind: 'skipped',
      reason: 'load is succeeded',
    });
    expect((f.emulator.stats().recordsPerTable.account ?? 0) - before).toBe(25);
    expect(await getLoad(f.ctx, id)).toMatchObject({
      status: 'succeeded',
      counts: { total: 25, succeeded: 25, failed: 0 },
    });
  });

  it('a chunk re-run after its rows were written (crash before its completion) counts each row once', async () => {
    const csv = `name\r\n${Array.from({ length: 10 }, (_, i) => `rerun ${i}`).join('\r\n')}\r\n`;
    const before = f.emulator.stats().recordsPerTable.account ?? 0;
    await f.drop('account/rerun.csv', csv, { metadata: { operation: 'create', executionmode: 'batch' } });
    const started = await startLoad(f.ctx, { container: 'incoming', name: 'account/rerun.csv' });
    const id = 'record' in started ? started.record.id : '';
    // Simulate the crash: the rows reach Dataverse, the completion never does (write them with the same ids).
    const plan = (await f.ctx.store.listPlan(id))[0]!;
    const record = (await f.ctx.store.get(id))!;
    for (let row = 1; row <= 5; row++) {
      await f.ctx.client.send({
        method: 'POST',
        path: 'accounts',
        body: { name: `rerun ${row - 1}`, accountid: recordIdFor(record.plan!.fileKey, row) },
      });
    }
    expect(await processChunk(f.ctx, plan, { attempt: 2, maxAttempts: 5 })).toMatchObject({
      kind: 'completed',
      succeeded: 10,
      failed: 0,
    });
    await f.drain();
    expect((f.emulator.stats().recordsPerTable.account ?? 0) - before).toBe(10);
  });

  it('upserts by alternate key: dropping the same rows again updates, never duplicates', async () => {
    const csv = 'accountnumber,name\r\nUP-1,One\r\nUP-2,Two\r\n';
    const before = f.emulator.stats().recordsPerTable.account ?? 0;
    expect((await load('account/upsert-1.csv', csv)).view).toMatchObject({ status: 'succeeded', operation: 'upsert' });
    expect((await load('account/upsert-2.csv', csv.replace('Two', 'Deux'))).view).toMatchObject({
      status: 'succeeded',
      counts: { succeeded: 2 },
    });
    expect((f.emulator.stats().recordsPerTable.account ?? 0) - before).toBe(2);
  });

  it('JSON and gzipped NDJSON files load too', async () => {
    expect(
      (await load('contact/people.json', JSON.stringify([{ lastname: 'Ng' }, { lastname: 'Li', firstname: 'Jo' }])))
        .view,
    ).toMatchObject({ status: 'succeeded', counts: { succeeded: 2 } });
    const ndjson = gzipSync(Buffer.from('{"lastname":"A"}\n{"lastname":"B"}\n{"lastname":"C"}\n'));
    expect((await load('contact/people.ndjson.gz', ndjson)).view).toMatchObject({
      status: 'succeeded',
      format: 'ndjson',
      counts: { succeeded: 3 },
    });
  });
});

describe('the blob trigger scans a small file itself and queues the scan of a larger one', () => {
  // Files over inlineScanMaxBytes get a scan message; 0 makes these small test files count as large.
  const largeFiles = () => ({ ...f.ctx, inlineScanMaxBytes: 0 });
  const queue = () => f.storage.queueService.getQueueClient('load-chunks');
  const queued = async () =>
    (await queue().peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map((m) =>
      decodeLoadQueueMessage(m.messageText),
    );

  it('a file up to inlineScanMaxBytes is planned by the trigger: chunk messages queued, no scan message', async () => {
    await queue().clearMessages();
    const text = `name\r\n${Array.from({ length: 30 }, (_, i) => `inline ${i}`).join('\r\n')}\r\n`;
    await f.drop('account/inline.csv', text);
    const scanned = await receiveDroppedFile(
      { ...f.ctx, chunkSize: 10, inlineScanMaxBytes: Buffer.byteLength(text) },
      { container: 'incoming', table: 'account', name: 'inline.csv' },
    );
    expect(scanned).toMatchObject({
      kind: 'scanned',
      record: { status: 'running', scanComplete: true, total: 30, chunkCount: 3 },
    });
    const id = 'record' in scanned ? scanned.record.id : '';
    expect((await queued()).map((m) => (m.ok && !('kind' in m.message) ? m.message.chunkIndex : m))).toEqual([0, 1, 2]);
    expect(await f.drain()).toBe(3);
    expect(await getLoad(f.ctx, id)).toMatchObject({ status: 'succeeded', counts: { total: 30, succeeded: 30 } });
  });

  it('a drop one byte over inlineScanMaxBytes is recorded and checked, and leaves one scan message; the scan then plans the chunks', async () => {
    await queue().clearMessages();
    const text = `name\r\n${Array.from({ length: 30 }, (_, i) => `accepted ${i}`).join('\r\n')}\r\n`;
    await f.drop('account/accepted.csv', text);
    const accepted = await receiveDroppedFile(
      { ...f.ctx, inlineScanMaxBytes: Buffer.byteLength(text) - 1 },
      { container: 'incoming', table: 'account', name: 'accepted.csv' },
    );
    expect(accepted).toMatchObject({
      kind: 'accepted',
      record: { status: 'running', scanComplete: false, operation: 'create' },
    });
    const id = 'record' in accepted ? accepted.record.id : '';
    expect(await queued()).toEqual([{ ok: true, message: { kind: 'scan', loadId: id } }]);
    expect(await f.ctx.store.listPlan(id)).toEqual([]);
    expect(await f.drain()).toBe(2);
    expect(await getLoad(f.ctx, id)).toMatchObject({ status: 'succeeded', counts: { total: 30, succeeded: 30 } });
  });

  it("given queueScan (the trigger's output binding), the scan message goes there instead of the queue", async () => {
    await queue().clearMessages();
    await f.drop('account/output-binding.csv', 'name\r\nO1\r\nO2\r\n');
    const handed: unknown[] = [];
    const accepted = await receiveDroppedFile(
      largeFiles(),
      { container: 'incoming', table: 'account', name: 'output-binding.csv' },
      { queueScan: (m) => handed.push(m) },
    );
    const id = 'record' in accepted ? accepted.record.id : '';
    expect(accepted).toMatchObject({ kind: 'accepted' });
    expect(handed).toEqual([{ kind: 'scan', loadId: id }]);
    expect(await queued()).toEqual([]);
    // What the host then writes to the queue is processed like any scan message.
    await queue().sendMessage(Buffer.from(JSON.stringify(handed[0])).toString('base64'));
    await f.drain();
    expect(await getLoad(f.ctx, id)).toMatchObject({ status: 'succeeded', counts: { total: 2, succeeded: 2 } });
  });

  it('a blob and its scan message delivered twice create nothing twice', async () => {
    await queue().clearMessages();
    const before = f.emulator.stats().recordsPerTable.account ?? 0;
    await f.drop(
      'account/scan-twice.csv',
      `name\r\n${Array.from({ length: 12 }, (_, i) => `scan twice ${i}`).join('\r\n')}\r\n`,
    );
    const first = await acceptLoad(largeFiles(), { container: 'incoming', name: 'account/scan-twice.csv' });
    const again = await acceptLoad(largeFiles(), { container: 'incoming', name: 'account/scan-twice.csv' });
    const id = 'record' in first ? first.record.id : '';
    expect(again).toMatchObject({ kind: 'accepted', record: { id } });
    // Both scans run before any chunk: the plan is written twice, the chunk message sent twice.
    expect(await scanLoad(f.ctx, id)).toMatchObject({ kind: 'scanned', record: { total: 12, scanComplete: true } });
    expect(await scanLoad(f.ctx, id)).toMatchObject({ kind: 'scanned' });
    await f.drain();
    expect((f.emulator.stats().recordsPerTable.account ?? 0) - before).toBe(12);
    expect(await getLoad(f.ctx, id)).toMatchObject({ status: 'succeeded', counts: { total: 12, succeeded: 12 } });
    expect(await scanLoad(f.ctx, id)).toMatchObject({ kind: 'finished' });
  });

  it('a bad header fails at the drop, with no scan message', async () => {
    await queue().clearMessages();
    await f.drop('account/bad-header.csv', 'nmae\r\nx\r\n');
    const result = await acceptLoad(largeFiles(), { container: 'incoming', name: 'account/bad-header.csv' });
    expect(result).toMatchObject({
      kind: 'failed',
      record: { status: 'failed', message: expect.stringMatching(/column 'nmae'/) },
    });
    expect(await queued()).toEqual([]);
  });

  it('a file replaced between the drop and its scan ends the load as failed, saying so', async () => {
    await queue().clearMessages();
    await f.drop('account/replaced.csv', 'name\r\nfirst\r\n');
    const accepted = await acceptLoad(largeFiles(), { container: 'incoming', name: 'account/replaced.csv' });
    const id = 'record' in accepted ? accepted.record.id : '';
    await f.drop('account/replaced.csv', 'name\r\nsecond\r\n');
    expect(await scanLoad(f.ctx, id)).toMatchObject({
      kind: 'failed',
      record: {
        status: 'failed',
        errorCode: 'BlobChanged',
        message: expect.stringMatching(/replaced before it was read/),
      },
    });
    await queue().clearMessages();
  });

  it('a lost scan message: the sweeper queues another, and the load completes', async () => {
    await queue().clearMessages();
    await f.drop('account/lost-scan.csv', 'name\r\nL1\r\nL2\r\nL3\r\n');
    const accepted = await acceptLoad(largeFiles(), { container: 'incoming', name: 'account/lost-scan.csv' });
    const id = 'record' in accepted ? accepted.record.id : '';
    await queue().clearMessages();
    const report = await sweepLoads({ ...largeFiles(), now: () => Date.now() + 10 * 60_000 });
    expect(report.resumedScans).toContain(id);
    expect((await queued()).filter((m) => m.ok && 'kind' in m.message && m.message.loadId === id)).toEqual([
      { ok: true, message: { kind: 'scan', loadId: id } },
    ]);
    await f.drain();
    expect(await getLoad(f.ctx, id)).toMatchObject({ status: 'succeeded', counts: { total: 3, succeeded: 3 } });
  });

  it('scan messages are checked like chunk messages', () => {
    expect(decodeLoadQueueMessage({ kind: 'scan', loadId: 'abc-1' })).toEqual({
      ok: true,
      message: { kind: 'scan', loadId: 'abc-1' },
    });
    expect(decodeLoadQueueMessage({ kind: 'scan', loadId: '../x' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('loadId'),
    });
    expect(decodeLoadQueueMessage({ kind: 'scan', loadId: 'abc', chunkIndex: 0 })).toMatchObject({ ok: false });
    expect(decodeLoadQueueMessage({ kind: 'other', loadId: 'abc' })).toMatchObject({ ok: false });
    expect(
      decodeLoadQueueMessage({ loadId: 'abc', chunkIndex: 0, firstRow: 1, rowCount: 1, firstLine: 2 }),
    ).toMatchObject({ ok: true, message: { chunkIndex: 0 } });
  });
});

describe('bad input ends as a failed load with a message a user understands (issue 5 point 7)', () => {
  const cases: [string, string, string | Buffer, RegExp][] = [
    ['an empty file', 'account/empty.csv', '', /empty/i],
    [
      'a binary file',
      'account/binary.csv',
      Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0xff, 0xfe, 0, 1, 2, 3, 0, 0, 0, 0]),
      /binary/i,
    ],
    [
      'a header that matches no attribute',
      'account/header.csv',
      'nmae,acountnumber\r\nx,y\r\n',
      /column 'nmae' matches no attribute of table 'account'/,
    ],
    ['an unknown table', 'nosuchtable/file.csv', 'name\r\nx\r\n', /table 'nosuchtable' does not exist/],
    ['a file over the size limit', 'account/big.csv', `name\r\n${'x'.repeat(210_000)}\r\n`, /over the .* limit/],
    [
      'invalid UTF-8',
      'account/latin1.csv',
      Buffer.concat([Buffer.from('name\r\nCaf'), Buffer.from([0xe9]), Buffer.from('\r\n')]),
      /UTF-8/,
    ],
  ];
  it.each(cases)('%s', async (_what, name, content, message) => {
    const { view } = await load(name, content);
    expect(view).toMatchObject({ status: 'failed' });
    expect(view!.message).toMatch(message);
    expect(view!.links.source).toBe(`incoming/failed/${name}`);
    expect(await f.storage.blobService.getContainerClient('incoming').getBlobClient(name).exists()).toBe(false);
  });

  it('ragged rows fail alone; the other rows load', async () => {
    const { id, view } = await load('account/ragged.csv', 'name,telephone1\r\nA,1\r\nB,2,extra\r\nC\r\nD,4\r\n');
    expect(view).toMatchObject({ counts: { total: 4, failed: 2 } });
    expect(view!.counts.succeeded + view!.counts.failed).toBe(4);
    const rows: { rowNumber: number; code: string; message: string }[] = [];
    for await (const r of f.ctx.store.listFailedRows(id)) rows.push(r);
    expect(rows.map((r) => r.code)).toEqual(['InvalidRow', 'InvalidRow']);
    expect(rows[0]!.message).toMatch(/row 2/);
  });

  it('the sweeper leaves finished loads alone and resumes a stalled one', async () => {
    await f.drop('account/stalled.csv', 'name\r\nS1\r\nS2\r\n');
    const started = await startLoad(f.ctx, { container: 'incoming', name: 'account/stalled.csv' });
    const id = 'record' in started ? started.record.id : '';
    // The chunk message is lost (a killed host holds it invisible): drop it from the queue.
    await f.storage.queueService.getQueueClient('load-chunks').clearMessages();
    const later = { ...f.ctx, now: () => Date.now() + 10 * 60_000 };
    const report = await sweepLoads(later);
    expect(report.requeuedChunks).toEqual([{ loadId: id, chunkIndex: 0 }]);
    await f.drain();
    expect(await getLoad(f.ctx, id)).toMatchObject({ status: 'succeeded', counts: { succeeded: 2 } });
  });
});
