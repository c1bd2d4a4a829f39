/**
 * A single-sheet .xlsx dropped under incoming/{table}/ is an ordinary load (Azurite + the emulator): typed cells
 * reach Dataverse as written, a bad row fails alone and comes back in a CSV failed-rows file, and a workbook of
 * several sheets fails the load naming its sheets.
 */
import { expect } from '@jest/globals';
import { acceptLoad } from '../../../shared/loads/loadScan';
import { getLoad, submitLoad } from '../../../shared/loads/loadApi';
import { workbookBytes } from '../ingestion/workbookBytes';
import { startLoadFixture, type LoadFixture } from './loadFixture';

jest.setTimeout(120_000);

let f: LoadFixture;
beforeAll(async () => {
  f = await startLoadFixture({ maxFileBytes: 200_000 });
});
afterAll(async () => {
  await f?.close();
});

async function load(name: string, content: Buffer, metadata?: Record<string, string>) {
  await f.drop(name, content, metadata ? { metadata } : {});
  const started = await acceptLoad(f.ctx, { container: 'incoming', name });
  await f.drain();
  const id = 'record' in started ? started.record.id : '';
  return { id, view: id ? await getLoad(f.ctx, id) : undefined };
}

it('a single-sheet workbook loads like a CSV: numbers as numbers, a bad row fails alone into a CSV failed-rows file', async () => {
  const bytes = await workbookBytes([
    {
      name: 'Sheet1',
      rows: [
        ['name', 'numberofemployees', 'accountnumber'],
        ['Workbook A', 12, 'WB-A'],
        ['Workbook B', 'many', 'WB-B'],
        ['Workbook C', 7, 'WB-C'],
      ],
    },
  ]);
  const before = f.emulator.stats().recordsPerTable.account ?? 0;
  const { id, view } = await load('account/workbook.xlsx', bytes, { operation: 'create' });
  expect(view).toMatchObject({
    status: 'partiallySucceeded',
    counts: { total: 3, succeeded: 2, failed: 1, notProcessed: 0 },
  });
  expect((f.emulator.stats().recordsPerTable.account ?? 0) - before).toBe(2);
  const failed: { rowNumber: number; message: string }[] = [];
  for await (const r of f.ctx.store.listFailedRows(id)) failed.push(r);
  expect(failed).toMatchObject([{ rowNumber: 2, message: expect.stringMatching(/column 'numberofemployees'.*many/) }]);
  expect(view!.links.failedRows!.name).toMatch(/failed-rows\.csv$/);
  const lines = (await f.resultsText(view!.links.failedRows!.name)).trim().split('\r\n');
  expect(lines[0]).toBe('name,numberofemployees,accountnumber,_error');
  expect(lines[1]).toMatch(/^Workbook B,many,WB-B,/);
});

it('a workbook of several sheets under incoming/{table}/ fails the load naming its sheets', async () => {
  const bytes = await workbookBytes([
    { name: 'account', rows: [['name'], ['X']] },
    { name: 'contact', rows: [['lastname'], ['Y']] },
  ]);
  const { view } = await load('account/two-sheets.xlsx', bytes);
  expect(view).toMatchObject({ status: 'failed' });
  expect(JSON.stringify(view)).toMatch(/has 2 sheets \(account, contact\)/);
});

it('POST /api/loads/{table} takes a workbook by its Content-Type, as an ordinary load', async () => {
  const bytes = await workbookBytes([
    {
      name: 'Sheet1',
      rows: [
        ['name', 'accountnumber'],
        ['Posted workbook', 'WB-POST'],
      ],
    },
  ]);
  const { id } = await submitLoad(f.ctx, {
    table: 'account',
    query: { operation: 'create' },
    contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    body: new Uint8Array(bytes),
  });
  await acceptLoad(f.ctx, { container: 'incoming', name: `account/${id}.xlsx` });
  await f.drain();
  expect(await getLoad(f.ctx, id)).toMatchObject({
    status: 'succeeded',
    counts: { total: 1, succeeded: 1, failed: 0, notProcessed: 0 },
  });
});
