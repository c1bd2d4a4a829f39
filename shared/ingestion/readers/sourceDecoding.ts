import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { IngestionError } from '../ingestionError';
import type { TextEncodingName } from './readerTypes';

/**
 * Turns the blob's bytes into validated UTF-8 bytes, as a stream: gunzip (by magic bytes or a `.gz` name),
 * refuse binary content, strip the BOM, transcode UTF-16, and stop at the first invalid UTF-8 sequence
 * naming its byte offset. Readers then work on bytes, so CSV/NDJSON byte offsets are real blob offsets
 * whenever nothing was decompressed or transcoded.
 */
export interface DecodedSource {
  chunks: AsyncIterable<Buffer>;
  encoding: TextEncodingName;
  compressed: boolean;
  /** Bytes of byte-order mark skipped at the start (offsets the readers report already include them). */
  bomLength: number;
  /** True when offsets in the decoded stream are offsets in the blob itself (so a chunk can be re-read with a range read). */
  byteOffsetsAreBlobOffsets: boolean;
  /** The first decoded bytes (up to 64 KB), for format sniffing. */
  head: Buffer;
}

export interface DecodeOptions {
  /** The source is gzip even if the magic bytes say otherwise (e.g. a `.gz` name): a wrong claim gives a clear error. */
  gzip?: boolean;
  /** Offset to add to reported byte positions (a chunk read that starts mid-blob). */
  startOffset?: number;
  /** Skip BOM/binary sniffing: a chunk read from mid-blob has neither. */
  midStream?: boolean;
}

const signatures: { bytes: number[]; what: string }[] = [
  { bytes: [0x89, 0x50, 0x4e, 0x47], what: 'PNG image' },
  { bytes: [0x25, 0x50, 0x44, 0x46], what: 'PDF document' },
  { bytes: [0x50, 0x4b, 0x03, 0x04], what: 'zip archive, e.g. an .xlsx workbook: save it as CSV' },
  { bytes: [0xd0, 0xcf, 0x11, 0xe0], what: 'legacy Office document, e.g. an .xls workbook: save it as CSV' },
  { bytes: [0xff, 0xd8, 0xff], what: 'JPEG image' },
  { bytes: [0x47, 0x49, 0x46, 0x38], what: 'GIF image' },
  { bytes: [0x42, 0x5a, 0x68], what: 'bzip2 archive' },
  { bytes: [0x37, 0x7a, 0xbc, 0xaf], what: '7-zip archive' },
  { bytes: [0x7f, 0x45, 0x4c, 0x46], what: 'ELF executable' },
  { bytes: [0x4d, 0x5a], what: 'Windows executable' },
];

function startsWith(buffer: Buffer, bytes: number[]): boolean {
  return buffer.length >= bytes.length && bytes.every((b, i) => buffer[i] === b);
}

/** Pulls from `source` until at least `size` bytes (or the end) are available, without losing anything. */
async function peek(iterator: AsyncIterator<Buffer>, size: number): Promise<{ head: Buffer; ended: boolean }> {
  const parts: Buffer[] = [];
  let length = 0;
  while (length < size) {
    const next = await iterator.next();
    if (next.done) return { head: Buffer.concat(parts), ended: true };
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    parts.push(chunk);
    length += chunk.length;
  }
  return { head: Buffer.concat(parts), ended: false };
}

async function* replay(head: Buffer, iterator: AsyncIterator<Buffer>, ended: boolean): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  if (ended) return;
  for (;;) {
    const next = await iterator.next();
    if (next.done) return;
    yield Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
  }
}

async function* gunzip(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const gz = createGunzip();
  const input = Readable.from(source);
  input.on('error', (error) => gz.destroy(error));
  input.pipe(gz);
  try {
    for await (const chunk of gz) yield chunk as Buffer;
  } catch (error) {
    if (error instanceof IngestionError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new IngestionError('CompressedDataCorrupt', `gzip data is truncated or corrupt (${detail})`, {
      cause: error,
    });
  } finally {
    input.destroy();
    gz.destroy();
  }
}

/** Index of the first byte of an incomplete UTF-8 sequence at the end of `chunk` (chunk.length when complete). */
function completeUtf8Prefix(chunk: Buffer): number {
  const end = chunk.length;
  for (let back = 1; back <= 3 && back <= end; back++) {
    const byte = chunk[end - back]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? end - back : end;
  }
  return end;
}

/** Offset of the first invalid UTF-8 byte in `bytes` (only called once isUtf8 said false). */
function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const length =
      b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > bytes.length) return i;
    if (!isUtf8(bytes.subarray(i, i + length))) return i;
    i += length;
  }
  return i;
}

function binaryByNul(offset: number): IngestionError {
  return new IngestionError(
    'FileLooksBinary',
    `file looks binary (NUL byte at byte offset ${offset}); expected CSV, JSON or NDJSON text`,
    {
      byteOffset: offset,
    },
  );
}

async function* validateUtf8(source: AsyncIterable<Buffer>, startOffset: number): AsyncGenerator<Buffer> {
  let carry: Buffer | undefined;
  let offset = startOffset; // offset of carry/chunk start in the decoded stream
  for await (const piece of source) {
    const chunk = carry ? Buffer.concat([carry, piece]) : piece;
    const nul = chunk.indexOf(0);
    if (nul >= 0) throw binaryByNul(offset + nul);
    const complete = completeUtf8Prefix(chunk);
    const body = chunk.subarray(0, complete);
    if (!isUtf8(body)) {
      const at = offset + firstInvalidUtf8(body);
      throw new IngestionError(
        'InvalidUtf8',
        `file is not valid UTF-8: invalid byte sequence at byte offset ${at} (save the file as UTF-8, or UTF-16 with a byte-order mark)`,
        { byteOffset: at },
      );
    }
    if (body.length > 0) yield body;
    offset += complete;
    carry = complete < chunk.length ? Buffer.from(chunk.subarray(complete)) : undefined;
  }
  if (carry && carry.length > 0) {
    throw new IngestionError(
      'InvalidUtf8',
      `file is not valid UTF-8: truncated byte sequence at byte offset ${offset} (end of file)`,
      {
        byteOffset: offset,
      },
    );
  }
}

async function* transcodeUtf16(
  source: AsyncIterable<Buffer>,
  encoding: 'utf-16le' | 'utf-16be',
): AsyncGenerator<Buffer> {
  const decoder = new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
  let units = 0;
  try {
    for await (const chunk of source) {
      const text = decoder.decode(chunk, { stream: true });
      const nul = text.indexOf('\u0000');
      if (nul >= 0) throw binaryByNul((units + nul) * 2);
      units += text.length;
      if (text.length > 0) yield Buffer.from(text, 'utf8');
    }
    const rest = decoder.decode();
    if (rest.length > 0) yield Buffer.from(rest, 'utf8');
  } catch (error) {
    if (error instanceof IngestionError) throw error;
    throw new IngestionError(
      'InvalidUtf16',
      `file is not valid ${encoding.toUpperCase()}: it has an unpaired surrogate or an odd number of bytes`,
      {
        cause: error,
      },
    );
  }
}

export async function decodeSource(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  options: DecodeOptions = {},
): Promise<DecodedSource> {
  const startOffset = options.startOffset ?? 0;
  const raw = (async function* () {
    for await (const chunk of source)
      yield typeof chunk === 'string'
        ? Buffer.from(chunk, 'utf8')
        : Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk);
  })();
  let iterator: AsyncIterator<Buffer> = raw[Symbol.asyncIterator]();
  let first = await peek(iterator, 4);
  if (first.head.length === 0 && first.ended) {
    throw new IngestionError('EmptyFile', 'file is empty (0 bytes)');
  }
  let compressed = false;
  if (!options.midStream && (startsWith(first.head, [0x1f, 0x8b]) || options.gzip)) {
    if (!startsWith(first.head, [0x1f, 0x8b])) {
      throw new IngestionError('CompressedDataCorrupt', 'file is named .gz but is not gzip data (no gzip header)');
    }
    compressed = true;
    iterator = gunzip(replay(first.head, iterator, first.ended))[Symbol.asyncIterator]();
    first = await peek(iterator, 4);
    if (first.head.length === 0 && first.ended)
      throw new IngestionError('EmptyFile', 'file is empty (the gzip content is 0 bytes)');
  }
  const head4 = first.head;
  if (!options.midStream) {
    for (const signature of signatures) {
      if (startsWith(head4, signature.bytes)) {
        throw new IngestionError(
          'FileLooksBinary',
          `file looks binary (${signature.what}); expected CSV, JSON or NDJSON text`,
        );
      }
    }
  }
  let encoding: TextEncodingName = 'utf-8';
  let bomLength = 0;
  if (!options.midStream) {
    if (startsWith(head4, [0xef, 0xbb, 0xbf])) bomLength = 3;
    else if (startsWith(head4, [0xff, 0xfe])) [encoding, bomLength] = ['utf-16le', 2];
    else if (startsWith(head4, [0xfe, 0xff])) [encoding, bomLength] = ['utf-16be', 2];
  }
  const afterBom = replay(head4.subarray(bomLength), iterator, first.ended);
  let chunks: AsyncIterable<Buffer>;
  if (encoding === 'utf-8') {
    chunks = validateUtf8(afterBom, startOffset + bomLength);
  } else {
    chunks = transcodeUtf16(afterBom, encoding);
  }
  // Keep the first 64 KB for sniffing without consuming it.
  const decodedIterator = chunks[Symbol.asyncIterator]();
  const decodedHead = await peek(decodedIterator, 64 * 1024);
  if (!options.midStream && decodedHead.ended && decodedHead.head.toString('utf8').trim() === '') {
    throw new IngestionError(
      'EmptyFile',
      bomLength > 0 ? 'file is empty (only a byte-order mark and whitespace)' : 'file is empty (only whitespace)',
    );
  }
  return {
    chunks: replay(decodedHead.head, decodedIterator, decodedHead.ended),
    encoding,
    compressed,
    bomLength,
    byteOffsetsAreBlobOffsets: !compressed && encoding === 'utf-8',
    head: decodedHead.head,
  };
}
