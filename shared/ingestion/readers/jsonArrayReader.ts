import { IngestionError, formatBytes } from '../ingestionError';
import type { CellValue, ReaderLimits, SourceRowResult } from './readerTypes';

/**
 * Streams the elements of a top-level JSON array without holding the array: a byte-level splitter finds each
 * element's extent (tracking strings, escapes and nesting depth with a counter, so 10,000 levels of nesting
 * cost nothing), then each element alone goes through JSON.parse. A syntax error inside an element fails that
 * row; a broken array structure (no '[', missing ',' between elements, text after ']') fails the load.
 */
export interface JsonReadOptions {
  limits: ReaderLimits;
  startOffset: number;
  /** Chunk reads: the input is a run of elements separated by commas, without the enclosing brackets. */
  sequence?: boolean;
  firstRowNumber?: number;
  firstLine?: number;
}

// Plain constants rather than an enum: the sources stay erasable TypeScript (node --experimental-strip-types).
const State = { BeforeArray: 0, BeforeElement: 1, InElement: 2, AfterElement: 3, AfterArray: 4 } as const;
type State = (typeof State)[keyof typeof State];

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function describeValueStart(byte: number): string {
  const char = String.fromCharCode(byte);
  if (char === '{') return 'an object';
  if (char === '"') return 'a string';
  if (char === 't' || char === 'f') return 'a boolean';
  if (char === 'n') return 'null';
  if (char === '-' || (char >= '0' && char <= '9')) return 'a number';
  return `'${char}'`;
}

export function describeJsonValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export async function* readJsonArrayRows(
  chunks: AsyncIterable<Buffer>,
  options: JsonReadOptions,
): AsyncGenerator<SourceRowResult> {
  const { limits } = options;
  let state: State = options.sequence ? State.BeforeElement : State.BeforeArray;
  let offset = options.startOffset; // absolute offset of the current chunk's first byte
  let line = options.firstLine ?? 1;
  let rowNumber = (options.firstRowNumber ?? 1) - 1;

  // Current element
  let depth = 0;
  let inString = false;
  let escaped = false;
  let elementStart = 0;
  let elementLine = 0;
  let elementBytes = 0;
  let parts: Buffer[] = [];
  let tooLarge = false;
  let scalar = false;
  let elementsSeen = 0;

  function finishElement(endOffset: number): SourceRowResult {
    rowNumber++;
    elementsSeen++;
    const position = { rowNumber, line: elementLine, byteStart: elementStart, byteEnd: endOffset };
    if (tooLarge) {
      return {
        ok: false,
        ...position,
        raw: '',
        message: `row ${rowNumber} (line ${elementLine}) is ${formatBytes(elementBytes)}, over the ${formatBytes(limits.maxRecordBytes)} row limit (maxRecordBytes)`,
      };
    }
    const raw = Buffer.concat(parts).toString('utf8').trimEnd();
    parts = [];
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        ...position,
        raw,
        message: `row ${rowNumber} (line ${elementLine}) is not valid JSON: ${detail}`,
      };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return {
        ok: false,
        ...position,
        raw,
        message: `row ${rowNumber} (line ${elementLine}) is ${describeJsonValue(value)}; each element of the array must be an object`,
      };
    }
    return { ok: true, ...position, raw, values: value as Record<string, CellValue> };
  }

  for await (const chunk of chunks) {
    let segmentStart = -1; // where the current element's bytes start in this chunk
    const take = (end: number) => {
      if (segmentStart < 0) return;
      const length = end - segmentStart;
      elementBytes += length;
      if (elementBytes > limits.maxRecordBytes) {
        tooLarge = true;
        parts = [];
      } else if (length > 0) parts.push(Buffer.from(chunk.subarray(segmentStart, end)));
      segmentStart = -1;
    };
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === 0x0a) line++;
      switch (state) {
        case State.BeforeArray:
          if (isWhitespace(byte)) continue;
          if (byte !== 0x5b) {
            throw new IngestionError(
              'NotAnArray',
              `the JSON file's top-level value is ${describeValueStart(byte)}, not an array: a JSON file must be an array of objects ([{...}, {...}]); use NDJSON (.ndjson) for one object per line`,
              { byteOffset: offset + i },
            );
          }
          state = State.BeforeElement;
          continue;
        case State.BeforeElement:
          if (isWhitespace(byte) || (options.sequence && byte === 0x2c && elementsSeen === 0)) continue;
          if (byte === 0x5d && !options.sequence) {
            if (elementsSeen > 0)
              throw new IngestionError(
                'InvalidJson',
                `invalid JSON at byte offset ${offset + i} (line ${line}): a ',' is followed by ']' (trailing comma after row ${rowNumber})`,
                { byteOffset: offset + i },
              );
            state = State.AfterArray;
            continue;
          }
          if (byte === 0x2c)
            throw new IngestionError(
              'InvalidJson',
              `invalid JSON at byte offset ${offset + i} (line ${line}): an empty element (',,') after row ${rowNumber}`,
              { byteOffset: offset + i },
            );
          state = State.InElement;
          elementStart = offset + i;
          elementLine = line;
          elementBytes = 0;
          tooLarge = false;
          parts = [];
          depth = 0;
          inString = false;
          escaped = false;
          scalar = byte !== 0x7b && byte !== 0x5b;
          segmentStart = i;
          // fall through to InElement handling of this byte
          i--;
          if (byte === 0x0a) line--;
          continue;
        case State.InElement: {
          if (inString) {
            if (escaped) escaped = false;
            else if (byte === 0x5c) escaped = true;
            else if (byte === 0x22) {
              inString = false;
              if (scalar && depth === 0) {
                // a top-level string element ends here
              }
            }
            continue;
          }
          if (byte === 0x22) {
            inString = true;
            continue;
          }
          if (byte === 0x7b || byte === 0x5b) {
            depth++;
            continue;
          }
          if (byte === 0x7d || byte === 0x5d) {
            if (depth === 0) {
              // ']' closing the top-level array right after a scalar element
              take(i);
              yield finishElement(offset + i);
              state = State.AfterElement;
              i--;
              continue;
            }
            depth--;
            if (depth === 0 && !scalar) {
              take(i + 1);
              yield finishElement(offset + i + 1);
              state = State.AfterElement;
            }
            continue;
          }
          if (byte === 0x2c && depth === 0) {
            take(i);
            yield finishElement(offset + i);
            state = State.AfterElement;
            i--;
            continue;
          }
          continue;
        }
        case State.AfterElement:
          if (isWhitespace(byte)) continue;
          if (byte === 0x2c) {
            state = State.BeforeElement;
            continue;
          }
          if (byte === 0x5d && !options.sequence) {
            state = State.AfterArray;
            continue;
          }
          throw new IngestionError(
            'InvalidJson',
            `invalid JSON at byte offset ${offset + i} (line ${line}): expected ',' or ']' after row ${rowNumber}, found '${String.fromCharCode(byte)}'`,
            { byteOffset: offset + i },
          );
        case State.AfterArray:
          if (isWhitespace(byte)) continue;
          throw new IngestionError(
            'InvalidJson',
            `invalid JSON at byte offset ${offset + i} (line ${line}): unexpected content after the closing ']' of the array`,
            { byteOffset: offset + i },
          );
      }
    }
    if (state === State.InElement) take(chunk.length);
    offset += chunk.length;
  }
  if (state === State.InElement && options.sequence && depth === 0 && !inString) {
    yield finishElement(offset);
    return;
  }
  if (state === State.BeforeArray) throw new IngestionError('EmptyFile', 'file is empty (no JSON value)');
  if (options.sequence) {
    if (state === State.InElement)
      throw new IngestionError('InvalidJson', `invalid JSON: the chunk ends inside row ${rowNumber + 1}`);
    return;
  }
  if ((state as State) !== State.AfterArray) {
    const where =
      state === State.InElement
        ? `inside row ${rowNumber + 1} (starting on line ${elementLine}): an unclosed ${inString ? 'string' : "'{' or '['"}`
        : "before the closing ']'";
    throw new IngestionError('InvalidJson', `invalid JSON: the file ends ${where}; is it truncated?`, {
      byteOffset: offset,
    });
  }
}
