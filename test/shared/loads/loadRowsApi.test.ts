/**
 * The failed-rows routes' engine over Azurite (loadFixture): while a load runs, the failed-rows file is written
 * from `loadrows` as rows fail (no stored file yet); query checks name what was wrong.
 */
import { expect } from '@jest/globals';
import { resolveLoadProfile } from '../../../shared/ingestion/loadProfile';
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
