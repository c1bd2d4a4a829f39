import { formatBytes } from '../ingestionError';
import { describeJsonValue } from './jsonArrayReader';
import type { CellValue, ReaderLimits, SourceRowResult } from './readerTypes';

/**
 * NDJSON / JSON Lines: one object per line. Blank lines are not rows. A line that isn't a JSON object fails
 * alone (naming its line); a line longer than maxRecordBytes fails alone too and is skipped without buffering it.
 */
export interface NdjsonReadOptions {
  limits: ReaderLimits;
  startOffset: number;
  firstRowNumber?: number;
  firstLine?: number;
}

export async function* readNdjsonRows(
  chunks: AsyncIterable<Buffer>,
  options: NdjsonReadOptions,
): AsyncGenerator<SourceRowResult> {
  const { limits } = options;
  let rowNumber = (options.firstRowNumber ?? 1) - 1;
  let line = (options.firstLine ?? 1) - 1;
  let offset = options.startOffset;
  let lineStart = offset;
  let parts: Buffer[] = [];
  let lineBytes = 0;
  let tooLarge = false;

  function* finishLine(endOffset: number): Generator<SourceRowResult> {
    line++;
    const text = tooLarge ? '' : Buffer.concat(parts).toString('utf8');
    const start = lineStart;
    const size = lineBytes;
    const wasTooLarge = tooLarge;
    parts = [];
    lineBytes = 0;
    tooLarge = false;
    lineStart = endOffset;
    if (!wasTooLarge && text.trim() === '') return;
    rowNumber++;
    const raw = text.replace(/\r$/, '');
    const position = { rowNumber, line, byteStart: start, byteEnd: endOffset, raw };
    if (wasTooLarge) {
      yield {
        ok: false,
        ...position,
        message: `line ${line} is ${formatBytes(size)}, over the ${formatBytes(limits.maxRecordBytes)} row limit (maxRecordBytes)`,
      };
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      yield { ok: false, ...position, message: `line ${line} is not valid JSON: ${detail}` };
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield {
        ok: false,
        ...position,
        message: `line ${line} is ${describeJsonValue(value)}; each line must be a JSON object`,
      };
      return;
    }
    yield { ok: true, ...position, values: value as Record<string, CellValue> };
  }

  const append = (piece: Buffer) => {
    lineBytes += piece.length;
    if (lineBytes > limits.maxRecordBytes) {
      tooLarge = true;
      parts = [];
    } else if (!tooLarge && piece.length > 0) parts.push(Buffer.from(piece));
  };

  for await (const chunk of chunks) {
    let from = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, from);
      if (newline < 0) break;
      append(chunk.subarray(from, newline));
      yield* finishLine(offset + newline + 1);
      from = newline + 1;
    }
    append(chunk.subarray(from));
    offset += chunk.length;
  }
  if (lineBytes > 0 || tooLarge) yield* finishLine(offset);
}
