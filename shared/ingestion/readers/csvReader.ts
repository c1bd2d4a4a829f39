import { Parser, type CsvError } from 'csv-parse';
import { csvLine } from '../failedRowsWriter';
import { IngestionError, formatBytes } from '../ingestionError';
import type { ReaderLimits, SourceRowResult, CellValue } from './readerTypes';

export type CsvDelimiter = ',' | ';' | '\t' | '|';
const candidates: CsvDelimiter[] = [',', ';', '\t', '|'];

/** The delimiter that occurs most often outside quotes in the first line; `,` when none does. */
export function detectDelimiter(head: Buffer | string): CsvDelimiter {
  const text = typeof head === 'string' ? head : head.toString('utf8');
  const counts = new Map<string, number>();
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) break;
    else if (!quoted && (candidates as string[]).includes(char)) counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  let best: CsvDelimiter = ',';
  let bestCount = 0;
  for (const candidate of candidates) {
    const count = counts.get(candidate) ?? 0;
    if (count > bestCount) [best, bestCount] = [candidate, count];
  }
  return best;
}

export interface CsvHeader {
  /** Column names as written (trimmed), in order. A trailing empty name (a trailing delimiter) is kept as ''. */
  columns: string[];
  delimiter: CsvDelimiter;
  /** Byte offset just after the header record (where data starts). */
  dataStart: number;
}

export interface CsvReadOptions {
  delimiter?: CsvDelimiter;
  limits: ReaderLimits;
  /** For a chunk read: the file's header; the input then holds data records only. */
  header?: CsvHeader;
  /** Offset of the first input byte in the decoded file (BOM length, or a chunk's start). */
  startOffset: number;
  /** Row number and line of the first data record in the input (chunk reads). */
  firstRowNumber?: number;
  firstLine?: number;
  /** Called once the header is known, before the first row. */
  onHeader?: (header: CsvHeader) => void;
}

/**
 * csv-parse's `info.lines` is the line a record ends on, except that a CRLF inside quotes counts as two
 * lines (each of its characters). Line breaks inside a record can only be inside its fields, so counting
 * them in the cells recovers the start line and the correction for later lines.
 */
function lineBreaksInCells(cells: string[]): { counted: number; crlf: number } {
  let counted = 0;
  let crlf = 0;
  for (const text of cells) {
    if (text.indexOf('\n') < 0 && text.indexOf('\r') < 0) continue;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 13) {
        counted++;
        if (c === 13 && text.charCodeAt(i + 1) === 10) crlf++;
      }
    }
  }
  return { counted, crlf };
}

/**
 * A CSV row. `raw` is the record re-serialised from its cells (RFC 4180 quoting), computed only when read:
 * most rows never need it, and keeping csv-parse's raw text would cost a copy of every byte.
 */
class CsvRow {
  readonly ok: boolean;
  readonly rowNumber: number;
  readonly line: number;
  readonly byteStart: number;
  readonly byteEnd: number;
  readonly cells: string[];
  readonly values: Record<string, CellValue> | undefined;
  readonly message: string | undefined;
  private readonly delimiter: string;

  constructor(
    position: { rowNumber: number; line: number; byteStart: number; byteEnd: number },
    cells: string[],
    delimiter: string,
    outcome: { values: Record<string, CellValue> } | { message: string },
  ) {
    this.ok = 'values' in outcome;
    this.rowNumber = position.rowNumber;
    this.line = position.line;
    this.byteStart = position.byteStart;
    this.byteEnd = position.byteEnd;
    this.cells = cells;
    this.values = 'values' in outcome ? outcome.values : undefined;
    this.message = 'message' in outcome ? outcome.message : undefined;
    this.delimiter = delimiter;
  }

  get raw(): string {
    return csvLine(this.cells, { delimiter: this.delimiter, formulaProtection: false }).slice(0, -2);
  }
}

function csvRow(
  position: { rowNumber: number; line: number; byteStart: number; byteEnd: number },
  cells: string[],
  delimiter: string,
  outcome: { values: Record<string, CellValue> } | { message: string },
): SourceRowResult {
  return new CsvRow(position, cells, delimiter, outcome) as unknown as SourceRowResult;
}

function validateHeader(columns: string[], limits: ReaderLimits): void {
  if (columns.length > limits.maxColumns) {
    throw new IngestionError(
      'TooManyColumns',
      `the header has ${columns.length} columns; at most ${limits.maxColumns} are allowed (maxColumns)`,
    );
  }
  const seen = new Map<string, number>();
  columns.forEach((name, index) => {
    const trailing = index === columns.length - 1 && index > 0;
    if (name === '' && !trailing) {
      throw new IngestionError(
        'HeaderInvalid',
        `column ${index + 1} of the header has an empty name; every column needs a name`,
        { line: 1 },
      );
    }
    if (name === '') return;
    const key = name.toLowerCase();
    const previous = seen.get(key);
    if (previous !== undefined) {
      throw new IngestionError(
        'HeaderInvalid',
        `duplicate column name '${name}' in the header (columns ${previous + 1} and ${index + 1})`,
        { line: 1 },
      );
    }
    seen.set(key, index);
  });
}

function csvErrorToIngestion(error: CsvError, headerKnown: boolean, limits: ReaderLimits): IngestionError {
  const line = (error as unknown as { lines?: number }).lines;
  const at = line !== undefined ? ` on line ${line}` : '';
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new IngestionError(
        'InvalidCsv',
        `unbalanced quotes: a quoted field is never closed (the file ends inside quotes${at}); close the quote or double the quote characters inside the field`,
        { line, cause: error },
      );
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return new IngestionError(
        'InvalidCsv',
        `invalid quoting${at}: a closing quote must be followed by the delimiter or a line break (quote the whole field and double the quotes inside it)`,
        { line, cause: error },
      );
    case 'CSV_MAX_RECORD_SIZE':
      return new IngestionError(
        'RecordTooLarge',
        headerKnown
          ? `a row${at} is larger than ${formatBytes(limits.maxRecordBytes)} (maxRecordBytes): a field may be missing its closing quote`
          : `the header row is larger than ${formatBytes(limits.maxRecordBytes)} (maxRecordBytes): is this a CSV file with a header row?`,
        { line, cause: error },
      );
    default:
      return new IngestionError('InvalidCsv', `the file is not valid CSV${at}: ${error.message}`, {
        line,
        cause: error,
      });
  }
}

/** Streams CSV records as rows. Offsets count bytes of the UTF-8 input; the header (when read here) is line 1. */
export async function* readCsvRows(
  chunks: AsyncIterable<Buffer>,
  options: CsvReadOptions,
  head?: Buffer,
): AsyncGenerator<SourceRowResult> {
  const limits = options.limits;
  const delimiter = options.header?.delimiter ?? options.delimiter ?? detectDelimiter(head ?? '');
  // csv-parse's state machine driven directly (Parser#api): the records of each input chunk are collected
  // synchronously and yielded, one await per chunk. Pushing each record through the Transform stream costs
  // a stream push per row, ~10x slower.
  // No `info` option: it copies the parser's whole info state into a new object per record. The two numbers a
  // row needs (bytes consumed, lines seen) are read off the parser's running state when it pushes the record,
  // which is the same state that copy would be taken from.
  const api = (
    new Parser({
      delimiter,
      relax_column_count: true, // ragged rows come through and become failed rows below
      skip_empty_lines: true,
      record_delimiter: ['\r\n', '\n', '\r'],
      max_record_size: limits.maxRecordBytes,
    }) as unknown as {
      api: {
        parse(
          buffer: Buffer | undefined,
          end: boolean,
          push: (record: string[]) => void,
          close: () => void,
        ): Error | undefined;
        state: { record: unknown[] };
        info: { lines: number; records: number; bytes: number };
      };
    }
  ).api;
  type Entry = { record: string[]; bytes: number; lines: number };
  let pending: Entry[] = [];
  const push = (record: string[]) => void pending.push({ record, bytes: api.info.bytes, lines: api.info.lines });
  const close = () => undefined;
  const take = () => {
    const taken = pending;
    pending = [];
    return taken;
  };
  // The records of each input chunk come as one array: one await per chunk, not one per record.
  async function* batches(): AsyncGenerator<Entry[]> {
    for await (const chunk of chunks) {
      const error = api.parse(chunk, false, push, close);
      if (error) throw error;
      yield take();
      // max_record_size counts field text only: a line of a million delimiters would grow one record without
      // bound, so the column limit is enforced on the record being parsed too.
      if (api.state.record.length > limits.maxColumns) {
        throw new IngestionError(
          'TooManyColumns',
          `${header ? `a row on line ${api.info.lines}` : 'the header'} has more than ${limits.maxColumns} columns (maxColumns)`,
        );
      }
    }
    const error = api.parse(undefined, true, push, close);
    if (error) throw error;
    yield take();
  }

  let header = options.header;
  let previousEnd = options.startOffset;
  let lineCorrection = 0;
  let rowNumber = (options.firstRowNumber ?? 1) - 1;
  const lineBase = options.header ? (options.firstLine ?? 2) - 1 : 0;
  const trailingEmpty = () => header!.columns.length > 1 && header!.columns[header!.columns.length - 1] === '';
  try {
    for await (const batch of batches())
      for (const entry of batch) {
        const { record } = entry;
        const byteStart = previousEnd;
        const byteEnd = options.startOffset + entry.bytes;
        previousEnd = byteEnd;
        const breaks = lineBreaksInCells(record);
        const line = lineBase + entry.lines - breaks.counted - lineCorrection;
        lineCorrection += breaks.crlf;
        if (!header) {
          const columns = record.map((name) => name.trim());
          validateHeader(columns, limits);
          header = { columns, delimiter, dataStart: byteEnd };
          options.onHeader?.(header);
          continue;
        }
        rowNumber++;
        const expected = header.columns.length;
        if (record.length !== expected && !(trailingEmpty() && record.length === expected - 1)) {
          const message = `row ${rowNumber} (line ${line}) has ${record.length} column${record.length === 1 ? '' : 's'}; the header has ${expected}`;
          yield csvRow({ rowNumber, line, byteStart, byteEnd }, record, delimiter, { message });
          continue;
        }
        const oversized = record.findIndex(
          (cell) => cell.length * 3 > limits.maxFieldBytes && Buffer.byteLength(cell) > limits.maxFieldBytes,
        );
        if (oversized >= 0) {
          const message = `row ${rowNumber} (line ${line}), column '${header.columns[oversized]}': the value is ${formatBytes(Buffer.byteLength(record[oversized]!))}, over the ${formatBytes(limits.maxFieldBytes)} field limit (maxFieldBytes)`;
          yield csvRow({ rowNumber, line, byteStart, byteEnd }, record, delimiter, { message });
          continue;
        }
        const values: Record<string, CellValue> = {};
        const columns = header.columns;
        for (let index = 0; index < columns.length; index++) {
          const name = columns[index]!;
          if (name !== '') values[name] = record[index] ?? '';
        }
        yield csvRow({ rowNumber, line, byteStart, byteEnd }, record, delimiter, { values });
      }
  } catch (error) {
    if (error instanceof IngestionError) throw error;
    if (error && typeof error === 'object' && 'code' in error && String((error as CsvError).code).startsWith('CSV_')) {
      throw csvErrorToIngestion(error as CsvError, header !== undefined, limits);
    }
    throw error;
  }
  if (!header) throw new IngestionError('EmptyFile', 'file has no header row');
}
