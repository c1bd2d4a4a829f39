import fc from 'fast-check';
import { createDataverseClient, type DataverseClient } from '../../../shared/dataverse';
import { bulkPieces, minParallelPartRows } from '../../../shared/dataverse/bulkMessages';
import {
  batchAnswer,
  CountingTokenSource,
  errorAnswer,
  dataverseFixture,
  MemoryTable,
  replayFixture,
  startTestDataverse,
  VirtualClock,
  type TestDataverse,
} from './testDataverse';

let server: TestDataverse;
let table: MemoryTable;
let n = 0;

function client(): DataverseClient {
  return createDataverseClient({
    webApiUrl: server.webApiUrl,
    accessTokenSource: new CountingTokenSource(),
    clock: new VirtualClock(),
    newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  });
}

const bulkBodies = () =>
  server.requests
    .filter((r) => r.path.includes('Microsoft.Dynamics.CRM.'))
    .map((r) => JSON.parse(r.body) as { Targets: Record<string, unknown>[] });

beforeEach(async () => {
  n = 0;
  table = new MemoryTable('sample_examples', 'sample_exampleid', (row) =>
    row['sample_name'] === 'bad'
      ? errorAnswer(400, '0x80044331', "A validation error occurred.  The value 'bad' is not allowed.")
      : undefined,
  );
  server = await startTestDataverse((request) =>
    request.path === '$batch'
      ? batchAnswer(request, (part) => table.applyPart(part))
      : errorAnswer(404, '', 'unexpected'),
  );
});
afterEach(() => server.close());

describe('CreateMultiple', () => {
  test('sends Targets with @odata.type and client ids, maps the documented response (createmultiple fixture) to per-row ids', async () => {
    server.handle = () => replayFixture('createmultiple.response.http');
    const result = await client().createMultiple(
      'sample_examples',
      'sample_example',
      [1, 2, 3].map((i) => ({ sample_name: `sample record 000000${i}` })),
    );
    expect(server.requests[0]!.path).toBe('sample_examples/Microsoft.Dynamics.CRM.CreateMultiple');
    expect(bulkBodies()[0]!.Targets[0]).toEqual({
      '@odata.type': 'Microsoft.Dynamics.CRM.sample_example',
      sample_name: 'sample record 0000001',
      sample_exampleid: '00000000-0000-4000-8000-000000000001',
    });
    expect(result.isFaulted).toBe(false);
    // Client-generated ids win (they are what was sent); the response's Ids are used when rows had none.
    expect(result.results.map((row) => [row.index, row.id, row.via])).toEqual([
      [0, '00000000-0000-4000-8000-000000000001', 'bulk'],
      [1, '00000000-0000-4000-8000-000000000002', 'bulk'],
      [2, '00000000-0000-4000-8000-000000000003', 'bulk'],
    ]);
  });

  test('a failed bulk request is rerun as $batch with continue-on-error: good rows land, each bad row gets its own fault', async () => {
    server.handle = (request) => {
      if (request.path === '$batch') return batchAnswer(request, (part) => table.applyPart(part));
      return errorAnswer(400, '0x80044331', "A validation error occurred.  The value 'bad' is not allowed.");
    };
    const result = await client().createMultiple('sample_examples', 'sample_example', [
      { sample_name: 'a' },
      { sample_name: 'bad' },
      { sample_name: 'c' },
      { sample_name: 'bad' },
    ]);
    expect(result.isFaulted).toBe(true);
    expect(result.results.map((row) => [row.index, row.via, row.fault?.code ?? 'ok'])).toEqual([
      [0, 'batch', 'ok'],
      [1, 'batch', '0x80044331'],
      [2, 'batch', 'ok'],
      [3, 'batch', '0x80044331'],
    ]);
    expect([...table.rows.keys()]).toEqual([
      '00000000-0000-4000-8000-000000000001',
      '00000000-0000-4000-8000-000000000003',
    ]);
    const batch = server.requests.find((r) => r.path === '$batch')!;
    expect(batch.headers['prefer']).toBe('odata.continue-on-error');
  });

  test('a table without CreateMultiple falls back to $batch, and the client remembers it', async () => {
    server.handle = (request) => {
      if (request.path === '$batch') return batchAnswer(request, (part) => table.applyPart(part));
      return errorAnswer(
        400,
        '0x80040203',
        "The 'CreateMultiple' method does not support entities of type 'sample_example'. MessageProcessorCache returned MessageProcessor.Empty.",
      );
    };
    const c = client();
    const first = await c.createMultiple('sample_examples', 'sample_example', [
      { sample_name: 'a' },
      { sample_name: 'b' },
    ]);
    const second = await c.createMultiple('sample_examples', 'sample_example', [{ sample_name: 'c' }]);
    expect([...first.results, ...second.results].every((row) => row.via === 'batch' && !row.fault && row.id)).toBe(
      true,
    );
    expect(server.requests.map((r) => r.path)).toEqual([
      'sample_examples/Microsoft.Dynamics.CRM.CreateMultiple',
      '$batch',
      '$batch',
    ]);
    expect(c.metrics().bulkUnsupported).toEqual(['sample_examples/CreateMultiple']);
    expect(table.rows.size).toBe(3);
  });

  test('chunks by chunkSize and records bulk sizes', async () => {
    server.handle = () => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"Ids":[]}' });
    const c = client();
    await c.createMultiple(
      'sample_examples',
      'sample_example',
      Array.from({ length: 5 }, (_, i) => ({ sample_name: `r${i}` })),
      { chunkSize: 2 },
    );
    expect(bulkBodies().map((body) => body.Targets.length)).toEqual([2, 2, 1]);
    expect(c.metrics().bulkSizes).toEqual({ 2: 2, 1: 1 });
  });

  test('maxBatchSize (DATAVERSE_MAX_BATCH_SIZE) caps bulk requests too, whatever chunkSize asks for', async () => {
    server.handle = () => ({ status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"Ids":[]}' });
    const c = createDataverseClient({
      webApiUrl: server.webApiUrl,
      accessTokenSource: new CountingTokenSource(),
      clock: new VirtualClock(),
      maxBatchSize: 3,
    });
    await c.createMultiple(
      'sample_examples',
      'sample_example',
      Array.from({ length: 7 }, (_, i) => ({ sample_name: `r${i}` })),
      { chunkSize: 1000 },
    );
    expect(bulkBodies().map((body) => body.Targets.length)).toEqual([3, 3, 1]);
  });
});

describe('parallel requests (the tail of a load)', () => {
  test('bulkPieces: every row once, in order; chunkSize pieces unless more are asked for, then nearly equal ones of at least minParallelPartRows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 8 }),
        (length, chunkSize, parallel) => {
          const rows = Array.from({ length }, (_, i) => i);
          const pieces = bulkPieces(rows, chunkSize, parallel);
          expect(pieces.flat()).toEqual(rows);
          expect(pieces.every((piece) => piece.length > 0 && piece.length <= chunkSize)).toBe(true);
          const bySize = Math.ceil(length / chunkSize);
          const byParallel = Math.min(parallel, Math.floor(length / minParallelPartRows));
          expect(pieces).toHaveLength(Math.max(bySize, byParallel));
          if (byParallel > bySize) {
            const sizes = pieces.map((piece) => piece.length);
            expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
            expect(Math.min(...sizes)).toBeGreaterThanOrEqual(minParallelPartRows);
          } else expect(pieces.slice(0, -1).every((piece) => piece.length === chunkSize)).toBe(true);
        },
      ),
    );
  });

  test('parallelRequests: the rows go out as that many requests at once, each target once, results in row order', async () => {
    let inFlight = 0;
    let peak = 0;
    const arrived: (() => void)[] = [];
    server.handle = async (request) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      // Answer only once all four are in: they must be sent side by side, not in turn.
      await new Promise<void>((resolve) => {
        arrived.push(resolve);
        if (arrived.length === 4) arrived.forEach((go) => go());
      });
      inFlight--;
      const targets = (JSON.parse(request.body) as { Targets: { sample_exampleid: string }[] }).Targets;
      return {
        status: 200,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ Ids: targets.map((t) => t.sample_exampleid) }),
      };
    };
    const c = client();
    const result = await c.createMultiple(
      'sample_examples',
      'sample_example',
      Array.from({ length: 1000 }, (_, i) => ({ sample_name: `r${i}` })),
      { parallelRequests: 4 },
    );
    expect(peak).toBe(4);
    expect(bulkBodies().map((body) => body.Targets.length)).toEqual([250, 250, 250, 250]);
    const sent = bulkBodies().flatMap((body) => body.Targets.map((t) => t['sample_name']));
    expect(new Set(sent).size).toBe(1000);
    expect(result.results.map((row) => row.index)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(result.results.every((row) => row.via === 'bulk' && row.id)).toBe(true);
  });

  test('a piece that fails for good fails the call only once every piece has settled (none left running for the retry)', async () => {
    let answered = 0;
    let calls = 0;
    server.handle = async () => {
      const mine = ++calls;
      if (mine === 1)
        return errorAnswer(403, '0x80040220', 'Principal user is missing prvCreatesample_example privilege');
      await new Promise((resolve) => setTimeout(resolve, 20));
      answered++;
      return { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"Ids":[]}' };
    };
    const error = await client()
      .createMultiple(
        'sample_examples',
        'sample_example',
        Array.from({ length: 400 }, (_, i) => ({ sample_name: `r${i}` })),
        { parallelRequests: 4 },
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'DataverseError', status: 403 });
    expect(answered).toBe(3);
  });
});

describe('UpdateMultiple and UpsertMultiple', () => {
  test('UpdateMultiple puts the primary id in each target; the documented 204 NoContent maps to per-row ids', async () => {
    server.handle = () => replayFixture('updatemultiple.response.http');
    const ids = ['8f4c3f92-312b-ee11-bdf4-000d3a993550', '904c3f92-312b-ee11-bdf4-000d3a993550'];
    const result = await client().updateMultiple(
      'sample_examples',
      'sample_example',
      ids.map((id) => ({ id, attributes: { sample_name: 'Updated' } })),
    );
    expect(bulkBodies()[0]!.Targets[1]).toEqual({
      '@odata.type': 'Microsoft.Dynamics.CRM.sample_example',
      sample_name: 'Updated',
      sample_exampleid: ids[1],
    });
    expect(result).toEqual({ isFaulted: false, results: ids.map((id, index) => ({ index, id, via: 'bulk' })) });
  });

  test('UpsertMultiple identifies rows by @odata.id with the alternate key and never repeats key columns in the body', async () => {
    server.handle = () => replayFixture('upsertmultiple.response.http');
    const result = await client().upsertMultiple('sample_examples', 'sample_example', [
      {
        key: { sample_keyattribute: '0000001' },
        attributes: { sample_keyattribute: '0000001', sample_name: 'sample record 0000001' },
      },
      { key: '914c3f92-312b-ee11-bdf4-000d3a993550', attributes: { sample_name: 'by id' } },
    ]);
    expect(bulkBodies()[0]!.Targets).toEqual([
      {
        '@odata.type': 'Microsoft.Dynamics.CRM.sample_example',
        sample_name: 'sample record 0000001',
        '@odata.id': "sample_examples(sample_keyattribute='0000001')",
      },
      {
        '@odata.type': 'Microsoft.Dynamics.CRM.sample_example',
        sample_name: 'by id',
        '@odata.id': 'sample_examples(914c3f92-312b-ee11-bdf4-000d3a993550)',
      },
    ]);
    expect(result.results).toEqual([
      { index: 0, via: 'bulk' },
      { index: 1, id: '914c3f92-312b-ee11-bdf4-000d3a993550', via: 'bulk' },
    ]);
  });

  test('the key-in-body failure (0x80040216, upsertmultiple-key-in-body-create) is isolated to per-row faults via $batch', async () => {
    const [status, body] = dataverseFixture('upsertmultiple-key-in-body-create.response.txt').split(' — ');
    expect(status).toBe('400 Bad Request');
    server.handle = (request) => {
      if (request.path !== '$batch')
        return { status: 400, headers: { 'Content-Type': 'application/json' }, body: body!.trim() };
      return batchAnswer(request, (part) =>
        part.url.includes("'EXT-007'")
          ? { status: 400, headers: { 'Content-Type': 'application/json' }, body: body!.trim() }
          : { status: 204 },
      );
    };
    const result = await client().upsertMultiple('new_altkeydemos', 'new_altkeydemo', [
      { key: { new_externalid: 'EXT-007' }, attributes: { new_productname: 'Widget C', new_price: 29.99 } },
      { key: { new_externalid: 'EXT-008' }, attributes: { new_productname: 'Widget D' } },
    ]);
    expect(
      result.results.map((row) => [
        row.index,
        row.fault ? `${row.fault.status} ${row.fault.code} ${row.fault.message}` : 'ok',
      ]),
    ).toEqual([
      [0, '400 0x80040216 An unexpected error occurred.'],
      [1, 'ok'],
    ]);
  });
});
