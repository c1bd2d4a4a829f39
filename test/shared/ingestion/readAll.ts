import { Readable } from 'node:stream';
import { openFile, type OpenFileOptions, type OpenedFile } from '../../../shared/ingestion/readers/fileReader';
import type { SourceRowResult } from '../../../shared/ingestion/readers/readerTypes';

/** Splits bytes into pieces of `pieceSize` so chunk boundaries fall everywhere (multi-byte characters, CRLF, quotes). */
export function streamOf(content: Buffer | string, pieceSize = 7): Readable {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += pieceSize) pieces.push(bytes.subarray(i, i + pieceSize));
  return Readable.from(pieces);
}

export async function readAll(
  content: Buffer | string,
  options: OpenFileOptions = {},
  pieceSize = 7,
): Promise<{ file: OpenedFile; rows: SourceRowResult[] }> {
  const file = await openFile(streamOf(content, pieceSize), options);
  const rows: SourceRowResult[] = [];
  for await (const row of file.rows) rows.push(row);
  return { file, rows };
}
