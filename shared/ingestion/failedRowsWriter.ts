import type { FileFormat, SourceRowResult } from './readers/readerTypes';

/**
 * The failed-rows file: the failed rows in the input's format plus the reason, ready to fix and drop again
 * (CSV gets a last column `_error`, JSON/NDJSON objects an `_error` field; load planning ignores both).
 */

export interface FailedRowEntry {
  /** The row as read (its cells / values / raw text are written back). */
  row: SourceRowResult;
  error: string;
}

export const errorColumn = '_error';

/** Characters that make a spreadsheet treat a cell as a formula (OWASP "CSV injection"). */
const formulaStart = /^[=+\-@\t\r]/;

export interface CsvCellOptions {
  delimiter?: string;
  /** Prefix formula-looking cells with ' so a spreadsheet shows them as text. Default true. */
  formulaProtection?: boolean;
}

/** One CSV cell: quoted when it holds the delimiter, a quote, a line break or edge spaces (RFC 4180, quotes doubled). */
export function escapeCsvCell(value: string, options: CsvCellOptions = {}): string {
  const delimiter = options.delimiter ?? ',';
  const text = options.formulaProtection !== false && formulaStart.test(value) ? `'${value}` : value;
  const needsQuotes = text.includes(delimiter) || /["\r\n]/.test(text) || text !== text.trim() || text === '';
  return needsQuotes && text !== '' ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(cells: string[], options: CsvCellOptions = {}): string {
  // a lone empty cell would be a blank line, which readers skip
  if (cells.length === 1 && cells[0] === '') return '""\r\n';
  return `${cells.map((c) => escapeCsvCell(c, options)).join(options.delimiter ?? ',')}\r\n`;
}

export interface FailedRowsFileOptions {
  format: FileFormat;
  /** CSV: the file's header columns (a trailing empty name is kept, to keep cells aligned). */
  columns?: string[];
  delimiter?: string;
  formulaProtection?: boolean;
}

/** Streams the failed-rows file as text pieces (write them to a blob as they come). */
export async function* writeFailedRows(
  entries: AsyncIterable<FailedRowEntry> | Iterable<FailedRowEntry>,
  options: FailedRowsFileOptions,
): AsyncGenerator<string> {
  // a workbook's failed rows come back as CSV: the cells as text, ready to paste back or load as they are
  if (options.format === 'csv' || options.format === 'xlsx') {
    const columns = options.columns ?? [];
    const cellOptions = { delimiter: options.delimiter ?? ',', formulaProtection: options.formulaProtection };
    // A file that is itself a failed-rows file (a retry, a corrected file) has an `_error` column already: its old
    // reason gives way to the new one, so a failed-rows file always has one `_error`, last, and loads as it is.
    const dataColumns = columns.filter((c) => c !== errorColumn);
    yield csvLine([...dataColumns, errorColumn], cellOptions);
    for await (const { row, error } of entries) {
      let cells: string[];
      if (row.cells) {
        // ragged rows keep all their cells, padded so `_error` stays last when the row is short
        const kept = row.cells.filter((_, i) => columns[i] !== errorColumn);
        cells =
          kept.length < dataColumns.length
            ? [...kept, ...Array<string>(dataColumns.length - kept.length).fill('')]
            : kept;
      } else {
        cells = dataColumns.map((c) => cellText(row.values?.[c]));
      }
      yield csvLine([...cells, error], cellOptions);
    }
    return;
  }
  if (options.format === 'json') yield '[\n';
  let first = true;
  for await (const { row, error } of entries) {
    const text = jsonWithError(row, error);
    if (options.format === 'json') {
      yield `${first ? '' : ',\n'}${text}`;
      first = false;
    } else yield `${text}\n`;
  }
  if (options.format === 'json') yield '\n]\n';
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

/**
 * The row's own text with `_error` added before its closing brace, so numbers keep their digits and a deeply
 * nested value is not re-serialised (JSON.stringify recurses). Rows that weren't objects keep their text in `_raw`.
 */
function jsonWithError(row: SourceRowResult, error: string): string {
  const raw = row.raw.trim();
  const isObject = row.values !== undefined && raw.startsWith('{') && raw.endsWith('}');
  if (!isObject) return JSON.stringify({ [errorColumn]: error, _raw: row.raw });
  const body = raw.slice(0, -1).trimEnd();
  const flat = row.raw.includes('\n') || row.raw.includes('\r') ? body.replace(/[\r\n]+\s*/g, ' ') : body;
  return `${flat}${body === '{' ? '' : ','}"${errorColumn}":${JSON.stringify(error)}}`;
}
