import fc from 'fast-check';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import {
  ChunkPlanner,
  chunkDescriptorSchema,
  planChunks,
  readChunk,
  type ChunkDescriptor,
} from '../../../shared/ingestion/chunkPlanning';
import { csvLine } from '../../../shared/ingestion/failedRowsWriter';
import type { FileShape } from '../../../shared/ingestion/readers/fileReader';
import type { SourceRowResult } from '../../../shared/ingestion/readers/readerTypes';
import { csvTable, trickyCell } from './csvArbitraries';
import { readAll, streamOf } from './readAll';

const comparable = (rows: SourceRowResult[]) =>
  rows.map((r) => ({
    ok: r.ok,
    rowNumber: r.rowNumber,
    line: r.line,
    byteStart: r.byteStart,
    byteEnd: r.byteEnd,
    raw: r.raw,
    values: r.ok ? r.values : undefined,
    cells: r.cells,
    message: r.ok ? undefined : r.message,
  }));

async function chunksOf(content: Buffer, fileName: string, chunkSize: number, delimiter?: ',' | ';' | '\t') {
  const { file, rows } = await readAll(content, { fileName, delimiter }, 13);
  const planner = new ChunkPlanner({ loadId: 'load-1', chunkSize, byteRanges: file.byteOffsetsAreBlobOffsets });
  const chunks: ChunkDescriptor[] = [];
  for (const row of rows) {
    const chunk = planner.add(row);
    if (chunk) chunks.push(chunk);
  }
  const last = planner.finish();
  if (last) chunks.push(last);
  const shape: FileShape = {
    format: file.format,
    encoding: file.encoding,
    compressed: file.compressed,
    byteOffsetsAreBlobOffsets: file.byteOffsetsAreBlobOffsets,
    header: file.header,
  };
  return { rows, chunks, shape };
}

async function rereadAll(content: Buffer, shape: FileShape, chunks: ChunkDescriptor[], fileName: string) {
  const reread: SourceRowResult[] = [];
  for (const chunk of chunks) {
    const source = chunk.byteRange
      ? streamOf(content.subarray(chunk.byteRange.start, chunk.byteRange.end), 11)
      : streamOf(content, 11);
    reread.push(...(await readChunk(source, shape, chunk, { open: { fileName } })));
  }
  return reread;
}

describe('chunk planning', () => {
  test('property: re-reading each chunk from its byte range gives exactly the rows of the whole parse (CSV, ragged rows included)', async () => {
    await fc.assert(
      fc.asyncProperty(
        csvTable,
        fc.integer({ min: 1, max: 7 }),
        fc.boolean(),
        fc.boolean(),
        async ({ columns, rows, delimiter }, chunkSize, bom, ragged) => {
          const lines = rows.map((cells, i) =>
            csvLine(ragged && i % 3 === 1 ? [...cells, 'extra'] : cells, { delimiter, formulaProtection: false }),
          );
          const content = Buffer.concat([
            bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0),
            Buffer.from(csvLine(columns, { delimiter }) + lines.join('')),
          ]);
          const { rows: whole, chunks, shape } = await chunksOf(content, 'f.csv', chunkSize, delimiter);
          expect(chunks.every((c) => c.byteRange !== undefined)).toBe(true);
          expect(chunks.map((c) => c.lastRow - c.firstRow + 1).reduce((a, b) => a + b, 0)).toBe(whole.length);
          expect(comparable(await rereadAll(content, shape, chunks, 'f.csv'))).toEqual(comparable(whole));
        },
      ),
      { numRuns: 120 },
    );
  });

  test('property: the same for NDJSON and JSON arrays', async () => {
    const objects = fc.array(
      fc.dictionary(
        fc.stringMatching(/^[a-z]{1,4}$/),
        fc.oneof(trickyCell, fc.integer(), fc.boolean(), fc.constant(null)),
        { maxKeys: 4 },
      ),
      { minLength: 1, maxLength: 20 },
    );
    await fc.assert(
      fc.asyncProperty(objects, fc.integer({ min: 1, max: 6 }), fc.boolean(), async (values, chunkSize, withBadRow) => {
        const texts = values.map((v) => JSON.stringify(v));
        if (withBadRow) texts.splice(1, 0, '{"broken": ');
        for (const [fileName, content] of [
          ['f.ndjson', Buffer.from(texts.join('\n') + '\n')],
          [
            'f.json',
            Buffer.from(`[\n  ${texts.map((t) => (t === '{"broken": ' ? '"not an object"' : t)).join(',\n  ')}\n]\n`),
          ],
        ] as const) {
          const { rows: whole, chunks, shape } = await chunksOf(content, fileName, chunkSize);
          expect(whole.length).toBe(texts.length);
          expect(comparable(await rereadAll(content, shape, chunks, fileName))).toEqual(comparable(whole));
        }
      }),
      { numRuns: 80 },
    );
  });

  test('without byte ranges (gzip) a chunk is re-read by streaming the whole file and keeping its rows', async () => {
    const content = gzipSync(Buffer.from('a,b\n' + Array.from({ length: 25 }, (_, i) => `${i},x${i}\n`).join('')));
    const { rows, chunks, shape } = await chunksOf(content, 'f.csv.gz', 10);
    expect(chunks.map((c) => [c.firstRow, c.lastRow, c.byteRange])).toEqual([
      [1, 10, undefined],
      [11, 20, undefined],
      [21, 25, undefined],
    ]);
    expect(comparable(await rereadAll(content, shape, chunks, 'f.csv.gz'))).toEqual(comparable(rows));
  });

  test('a changed blob is detected instead of returning other rows', async () => {
    const content = Buffer.from('a\n1\n2\n3\n');
    const { chunks, shape } = await chunksOf(content, 'f.csv', 2);
    const changed = Buffer.from('a\n\n\n1\n2\n3\n');
    await expect(
      readChunk(streamOf(changed.subarray(chunks[0]!.byteRange!.start, chunks[0]!.byteRange!.end)), shape, chunks[0]!),
    ).rejects.toMatchObject({
      code: 'ChunkMismatch',
      message:
        'chunk 0 of load load-1 should hold rows 1-2 but the file gave 1 row(s): has the blob changed since the load was planned?',
    });
  });

  test('descriptors are small queue messages validated by zod', async () => {
    // eslint-disable-next-line @typescript-eslint/require-await -- planChunks takes an AsyncIterable; this makes one
    async function* placements() {
      for (let i = 1; i <= 2500; i++) yield { rowNumber: i, line: i + 1, byteStart: i * 100, byteEnd: i * 100 + 100 };
    }
    const chunks: ChunkDescriptor[] = [];
    for await (const c of planChunks(placements(), {
      loadId: '7d0c3f2e-1d6c-4f55-9a51-5f1b0c8a9e21',
      byteRanges: true,
    }))
      chunks.push(chunk(c));
    expect(chunks.map((c) => [c.chunkIndex, c.firstRow, c.lastRow, c.byteRange?.start, c.byteRange?.end])).toEqual([
      [0, 1, 1000, 100, 100100],
      [1, 1001, 2000, 100100, 200100],
      [2, 2001, 2500, 200100, 250100],
    ]);
    expect(JSON.stringify(chunks[0]).length).toBeLessThan(300);
    expect(() => chunkDescriptorSchema.parse({ ...chunks[0], extra: 1 })).toThrow();
    expect(() => new ChunkPlanner({ loadId: 'x', chunkSize: 1001, byteRanges: false })).toThrow(RangeError);
  });
});

function chunk(c: ChunkDescriptor): ChunkDescriptor {
  return chunkDescriptorSchema.parse(JSON.parse(JSON.stringify(c)));
}

void Readable;
