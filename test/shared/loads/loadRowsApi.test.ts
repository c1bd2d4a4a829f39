/**
 * The failed-rows routes' engine over Azurite and the emulator (loadFixture): while a load runs, the failed-rows
 * file is written from `loadrows` as rows fail (no stored file yet); query checks name what was wrong; a retry of
 * a stopped load keeps the record ids of the first file's rows.
 */
import { expect } from '@jest/globals';
import { recordIdFor } from '../../../shared/ingestion/recordId';
import { resolveLoadProfile } from '../../../shared/ingestion/loadProfile';
import { getLoad } from '../../../shared/loads/loadApi';
import { retryLoad } from '../../../shared/loads/loadRetry';
import { acceptLoad } from '../../../shared/loads/loadScan';
import { newLoadRecord, type FailedRowRecord } from '../../../shared/loads/loadRecord';
import { downloadFailedRows, listLoadRows, loadErrors } from '../../../shared/loads/loadRowsApi';
import { startLoadFixture, type LoadFixture } from './loadFixture';

jest.setTimeout(60_000);

let f: LoadFixture;
beforeAll(async () => {
  f = await startLoadFixture();
});
afterAll(() => f?.close());

const failed = (rowNumber: number, cells: string[], message: string, column?: string): FailedRowRecord => ({
  rowNumber,
  line: rowNumber + 1,
  chunkIndex: 0,
  code: 'ConversionFailed',
  message,
  ...(column ? { column, value: cells[1]! } : {}),
  rowJson: JSON.stringify({ raw: cells.join(';'), cells }),
});

async function runningLoad(id: string, rows: FailedRowRecord[]) {
  const at = new Date().toISOString();
  await f.ctx.store.createIfAbsent(
    newLoadRecord(
      {
        id,
        status: 'running',
        table: 'account',
        container: 'incoming',
        blobName: 'account/q1 sales.csv',
        source: 'blob',
      },
      at,
    ),
  );
  await f.ctx.store.mutate(id, () => ({
    plan: {
      shape: {
        format: 'csv',
        encoding: 'utf-8',
        compressed: false,
        byteOffsetsAreBlobOffsets: true,
        header: { columns: ['name', 'numberofemployees'], delimiter: ';', dataStart: 0 },
      },
      profile: resolveLoadProfile({}),
      blobEtag: '"0x1"',
      fileKey: 'incoming/account/q1 sales.csv@"0x1"',
      chunkSize: 1000,
    },
  }));
  await f.ctx.store.putFailedRows(id, rows);
}

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  const pieces: Buffer[] = [];
  for await (const piece of body) pieces.push(Buffer.from(piece));
  return Buffer.concat(pieces).toString('utf8');
}

test('while a load runs, the failed-rows file is written from loadrows in its format (delimiter kept)', async () => {
  await runningLoad('running-1', [
    failed(2, ['B', 'many'], "row 2, column 'numberofemployees': 'many' is not a number", 'numberofemployees'),
    failed(5, ['E', '=1+1'], "row 5, column 'numberofemployees': '=1+1' is not a number", 'numberofemployees'),
  ]);
  const file = await downloadFailedRows(f.ctx, 'running-1');
  expect(file.contentType).toBe('text/csv; charset=utf-8');
  expect(file.fileName).toBe('q1_sales.failed-rows.csv');
  expect(await text(file.body)).toBe(
    "name;numberofemployees;_error\r\nB;many;row 2, column 'numberofemployees': 'many' is not a number\r\n" +
      "E;'=1+1;row 5, column 'numberofemployees': '=1+1' is not a number\r\n",
  );
  expect(await loadErrors(f.ctx, 'running-1')).toMatchObject({
    total: 2,
    groups: [
      { code: 'ConversionFailed', column: 'numberofemployees', count: 2, sample: { rowNumber: 2, value: 'many' } },
    ],
  });
});

test('rows: only the failed state exists; the page size and the token are checked before any read', async () => {
  await runningLoad('running-2', [failed(1, ['A', 'x'], 'row 1: x')]);
  const url = 'http://localhost/api/loads/running-2/rows';
  await expect(listLoadRows(f.ctx, 'running-2', { state: 'succeeded' }, url)).rejects.toMatchObject({
    statusCode: 400,
    code: 'InvalidQuery',
    message: expect.stringMatching(/^state: /),
  });
  await expect(listLoadRows(f.ctx, 'running-2', { continuationToken: 'a b' }, url)).rejects.toMatchObject({
    statusCode: 400,
    message: expect.stringMatching(/continuationToken/),
  });
  await expect(listLoadRows(f.ctx, 'no/such', {}, url)).rejects.toMatchObject({
    statusCode: 400,
    code: 'InvalidLoadId',
  });
  const page = await listLoadRows(f.ctx, 'running-2', { state: 'failed', pageSize: '1000' }, url);
  expect(page).toEqual({
    items: [expect.objectContaining({ rowNumber: 1, key: null, row: { name: 'A', numberofemployees: 'x' } })],
  });
});

test('a retry of a continueOnError=false load loads the failed row and every row after the stop, under their first ids', async () => {
  const parent = '00000000-0000-0000-0000-0000000000a7';
  const name = `account/stop-${Date.now()}.csv`;
  const csv = `name,parentaccountid\r\nS1,\r\nS2,${parent}\r\nS3,\r\nS4,\r\n`;
  await f.drop(name, csv, { metadata: { operation: 'create', continueonerror: 'false' } });
  const accepted = await acceptLoad(f.ctx, { container: 'incoming', name });
  await f.drain();
  const firstId = 'record' in accepted ? accepted.record.id : '';
  const first = await getLoad(f.ctx, firstId);
  expect(first).toMatchObject({ status: 'partiallySucceeded', counts: { succeeded: 1, failed: 1, notProcessed: 2 } });
  await fetch(`${f.emulator.webApiUrl}accounts`, {
    method: 'POST',
    headers: { authorization: 'Bearer test', 'content-type': 'application/json' },
    body: JSON.stringify({ accountid: parent, name: 'Parent' }),
  });
  const retried = await retryLoad(f.ctx, firstId, {});
  await acceptLoad(f.ctx, { container: 'incoming', name: `account/${retried.id}.csv` });
  await f.drain();
  expect(await getLoad(f.ctx, retried.id)).toMatchObject({
    status: 'succeeded',
    retryOf: firstId,
    continueOnError: false,
    counts: { total: 3, succeeded: 3 },
  });
  const fileKey = (await f.ctx.store.get(firstId))!.plan!.fileKey;
  for (const row of [2, 3, 4]) {
    const answer = await fetch(`${f.emulator.webApiUrl}accounts(${recordIdFor(fileKey, row)})?$select=name`, {
      headers: { authorization: 'Bearer test' },
    });
    expect({ row, body: await answer.json() }).toMatchObject({ row, body: { name: `S${row}` } });
  }
});
