import { z } from 'zod';
import { IngestionError } from './ingestionError';
import { readCsvRows } from './readers/csvReader';
import { openFile, resolveLimits, type ByteSource, type FileShape, type OpenFileOptions } from './readers/fileReader';
import { readJsonArrayRows } from './readers/jsonArrayReader';
import { readNdjsonRows } from './readers/ndjsonReader';
import type { ReaderLimits, SourceRowResult } from './readers/readerTypes';
import { decodeSource } from './readers/sourceDecoding';

/**
 * Splits a file into ExecuteMultiple-sized chunks that travel as small queue messages. A chunk names its rows
 * and, when offsets in the decoded stream are blob offsets (uncompressed UTF-8), the byte range that holds
 * them, so a chunk worker range-reads just those bytes and parses them with the file's header (`readChunk`).
 * Without a byte range the worker streams the file from the start and keeps rows firstRow..lastRow.
 * Every row in the range is in the chunk, failed-at-read rows included: they are reported by the chunk that
 * holds them, once.
 */

export const chunkDescriptorSchema = z.strictObject({
  loadId: z.string().min(1).max(200),
  chunkIndex: z.number().int().min(0),
  firstRow: z.number().int().min(1),
  lastRow: z.number().int().min(1),
  /** Line of firstRow (messages of a chunk read name lines like a whole-file read). */
  firstLine: z.number().int().min(1),
  /** [start, end) in the blob. */
  byteRange: z.strictObject({ start: z.number().int().min(0), end: z.number().int().min(0) }).optional(),
});
export type ChunkDescriptor = z.infer<typeof chunkDescriptorSchema>;

export interface RowPlacement {
  rowNumber: number;
  line: number;
  byteStart: number;
  byteEnd: number;
}

export const defaultChunkSize = 1000;

/** Groups rows (in file order) into chunks of at most `chunkSize`; feed it while reading, then call finish(). */
export class ChunkPlanner {
  private first: RowPlacement | undefined;
  private last: RowPlacement | undefined;
  private count = 0;
  private index = 0;

  private readonly options: { loadId: string; chunkSize?: number; byteRanges: boolean };

  constructor(options: { loadId: string; chunkSize?: number; byteRanges: boolean }) {
    this.options = options;
    const size = options.chunkSize ?? defaultChunkSize;
    if (!Number.isInteger(size) || size < 1 || size > 1000)
      throw new RangeError(`chunkSize must be 1..1000, got ${size}`);
  }

  add(row: RowPlacement): ChunkDescriptor | undefined {
    if (this.first === undefined) this.first = row;
    this.last = row;
    this.count++;
    return this.count >= (this.options.chunkSize ?? defaultChunkSize) ? this.cut() : undefined;
  }

  finish(): ChunkDescriptor | undefined {
    return this.count > 0 ? this.cut() : undefined;
  }

  private cut(): ChunkDescriptor {
    const first = this.first!;
    const last = this.last!;
    const descriptor: ChunkDescriptor = {
      loadId: this.options.loadId,
      chunkIndex: this.index++,
      firstRow: first.rowNumber,
      lastRow: last.rowNumber,
      firstLine: first.line,
      ...(this.options.byteRanges ? { byteRange: { start: first.byteStart, end: last.byteEnd } } : {}),
    };
    this.first = undefined;
    this.last = undefined;
    this.count = 0;
    return descriptor;
  }
}

/** Convenience: all chunk descriptors of a row stream (the rows are consumed). */
export async function* planChunks(
  rows: AsyncIterable<RowPlacement>,
  options: { loadId: string; chunkSize?: number; byteRanges: boolean },
): AsyncGenerator<ChunkDescriptor> {
  const planner = new ChunkPlanner(options);
  for await (const row of rows) {
    const chunk = planner.add(row);
    if (chunk) yield chunk;
  }
  const rest = planner.finish();
  if (rest) yield rest;
}

export interface ReadChunkOptions {
  limits?: Partial<ReaderLimits>;
  /** Whole-file reads (no byte range) need what openFile needs. */
  open?: OpenFileOptions;
}

/**
 * The rows of one chunk. With `chunk.byteRange`, `source` must be exactly those bytes of the blob (a range
 * read); without, `source` is the whole blob. Throws ChunkMismatch when the rows found aren't exactly
 * firstRow..lastRow (the blob changed since planning).
 */
export async function readChunk(
  source: ByteSource,
  shape: FileShape,
  chunk: ChunkDescriptor,
  options: ReadChunkOptions = {},
): Promise<SourceRowResult[]> {
  const limits = resolveLimits(options.limits);
  const rows: SourceRowResult[] = [];
  if (chunk.byteRange) {
    if (!shape.byteOffsetsAreBlobOffsets)
      throw new IngestionError(
        'ChunkMismatch',
        'a byte range was given for a file whose offsets are not blob offsets (compressed or UTF-16)',
      );
    const decoded = await decodeSource(source, { midStream: true, startOffset: chunk.byteRange.start });
    const common = {
      limits,
      startOffset: chunk.byteRange.start,
      firstRowNumber: chunk.firstRow,
      firstLine: chunk.firstLine,
    };
    const reader =
      shape.format === 'csv'
        ? readCsvRows(decoded.chunks, { ...common, header: shape.header ?? missingHeader() })
        : shape.format === 'json'
          ? readJsonArrayRows(decoded.chunks, { ...common, sequence: true })
          : readNdjsonRows(decoded.chunks, common);
    for await (const row of reader) rows.push(row);
  } else {
    const file = await openFile(source, {
      ...options.open,
      format: shape.format,
      delimiter: shape.header?.delimiter,
      ...(shape.sheet ? { sheet: shape.sheet } : {}),
      limits,
    });
    try {
      for await (const row of file.rows) {
        if (row.rowNumber > chunk.lastRow) break;
        if (row.rowNumber >= chunk.firstRow) rows.push(row);
      }
    } finally {
      await file.close();
    }
  }
  const expected = chunk.lastRow - chunk.firstRow + 1;
  if (rows.length !== expected || rows[0]?.rowNumber !== chunk.firstRow || rows.at(-1)?.rowNumber !== chunk.lastRow) {
    throw new IngestionError(
      'ChunkMismatch',
      `chunk ${chunk.chunkIndex} of load ${chunk.loadId} should hold rows ${chunk.firstRow}-${chunk.lastRow} but the file gave ${rows.length} row(s): has the blob changed since the load was planned?`,
    );
  }
  return rows;
}

function missingHeader(): never {
  throw new IngestionError('ChunkMismatch', 'a CSV chunk read needs the file header (FileShape.header)');
}
