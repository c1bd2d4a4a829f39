import { Readable } from 'node:stream';
import { csvLine } from '../failedRowsWriter';
import { IngestionError, formatBytes } from '../ingestionError';
import type { CellValue, ReaderLimits, SourceRowResult } from './readerTypes';
import { cellText, cellValueOf, columnLetters, excelDateText } from './xlsxCells';
import { orderedWorkbookReader, type ExcelRow, type SheetReader, type WorkbookModel } from './xlsxWorkbookReader';

export { cellValueOf, excelDateText };

/**
 * .xlsx workbooks, streamed with exceljs's WorkbookReader: a sheet is a table, its first non-empty row the
 * header. Rows are yielded one at a time, so memory stays flat in the number of rows (the shared-strings table,
 * Excel's dictionary of distinct texts, is held while reading). Cell types are kept: numbers and booleans as
 * such, dates as ISO 8601 text without an offset (Excel dates are wall-clock times; the profile's timeZone
 * applies), formulas as their cached result.
 */
export interface WorkbookSheet {
  /** The sheet's name as shown on its tab. */
  name: string;
  /** 1-based position among the sheets read. */
  position: number;
  /** Header names (empty trailing header cells dropped). */
  columns: string[];
  /** Every sheet's name, in tab order, when the workbook part came before the sheets (it does in files Excel writes). */
  sheetNames?: string[];
  rows: AsyncGenerator<SourceRowResult>;
}

export interface WorkbookReadOptions {
  limits: ReaderLimits;
  /** For messages: the blob or zip entry name. */
  fileName?: string;
}

const zipMagic = [0x50, 0x4b, 0x03, 0x04];
const compoundFileMagic = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

function startsWith(buffer: Buffer, bytes: number[]): boolean {
  return buffer.length >= bytes.length && bytes.every((b, i) => buffer[i] === b);
}

/** What the first bytes say about a file that should be a workbook; undefined when it may be one. */
export function workbookSignatureProblem(head: Buffer, file: string): string | undefined {
  if (startsWith(head, zipMagic)) return undefined;
  if (startsWith(head, compoundFileMagic))
    return `${file} is not an .xlsx workbook: it is a password-protected (encrypted) workbook or an old .xls file; remove the password or save it as .xlsx`;
  if (head.length === 0) return `${file} is empty: expected an .xlsx workbook`;
  return `${file} is not an .xlsx workbook (it is not a zip package)`;
}

async function* bytesOf(source: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<Buffer> {
  for await (const piece of source) yield Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
}

/** Reads the first bytes to check the signature, then gives back a stream of everything. */
async function checkedStream(source: AsyncIterable<Buffer | Uint8Array | string>, file: string): Promise<Readable> {
  const iterator = bytesOf(source)[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < 8) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    parts.push(next.value);
    length += next.value.length;
  }
  const head = Buffer.concat(parts);
  const problem = workbookSignatureProblem(head, file);
  if (problem) {
    await iterator.return?.(undefined);
    throw new IngestionError('WorkbookInvalid', problem);
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield head;
    if (ended) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return Readable.from(replay());
}

interface SheetHeader {
  columns: string[];
  /** Sheet column number (1-based) of each header name. */
  positions: number[];
}

function readHeader(cells: unknown[], sheet: string, sheetRow: number, limits: ReaderLimits): SheetHeader {
  const names: { name: string; column: number }[] = [];
  for (let column = 1; column < cells.length; column++) {
    const outcome = cellValueOf(cells[column]);
    const where = `sheet '${sheet}' header cell ${columnLetters(column)}${sheetRow}`;
    if (!outcome.ok) throw new IngestionError('HeaderInvalid', `${where} ${outcome.message}`);
    names.push({ name: cellText(outcome.value).trim(), column });
  }
  while (names.length > 0 && names.at(-1)!.name === '') names.pop();
  if (names.length > limits.maxColumns)
    throw new IngestionError(
      'TooManyColumns',
      `sheet '${sheet}' has ${names.length} header columns, over the ${limits.maxColumns} limit (maxColumns)`,
    );
  const seen = new Map<string, number>();
  for (const { name, column } of names) {
    const where = `sheet '${sheet}' header cell ${columnLetters(column)}${sheetRow}`;
    if (name === '') throw new IngestionError('HeaderInvalid', `${where} is empty: every column needs a name`);
    const earlier = seen.get(name.toLowerCase());
    if (earlier !== undefined)
      throw new IngestionError(
        'HeaderInvalid',
        `${where} repeats the column name '${name}' (also in ${columnLetters(earlier)}${sheetRow})`,
      );
    seen.set(name.toLowerCase(), column);
  }
  return { columns: names.map((n) => n.name), positions: names.map((n) => n.column) };
}

function isBlankRow(cells: unknown[]): boolean {
  return cells.every((c) => c === null || c === undefined || (typeof c === 'string' && c.trim() === ''));
}

/** The data rows of one sheet (after the header), numbered from 1; `line` is the sheet row number. */
async function* sheetRows(
  rows: AsyncIterator<ExcelRow>,
  header: SheetHeader,
  sheet: string,
  limits: ReaderLimits,
  file: string,
): AsyncGenerator<SourceRowResult> {
  let rowNumber = 0;
  for (;;) {
    const next = await workbookStep(() => rows.next(), file);
    if (next.done) return;
    const { number: sheetRow, values } = next.value;
    const cells = Array.isArray(values) ? values : [];
    if (isBlankRow(cells)) continue;
    rowNumber++;
    const record: Record<string, CellValue> = {};
    const texts: string[] = [];
    const problems: string[] = [];
    header.columns.forEach((column, i) => {
      const position = header.positions[i]!;
      const outcome = cellValueOf(cells[position]);
      const cell = `${columnLetters(position)}${sheetRow}`;
      if (!outcome.ok) {
        problems.push(`column '${column}' (cell ${cell}) ${outcome.message}`);
        texts.push('');
        return;
      }
      const text = cellText(outcome.value);
      if (Buffer.byteLength(text) > limits.maxFieldBytes)
        problems.push(
          `column '${column}' (cell ${cell}) is ${formatBytes(Buffer.byteLength(text))}, over the ${formatBytes(limits.maxFieldBytes)} cell limit (maxFieldBytes)`,
        );
      record[column] = outcome.value;
      texts.push(text);
    });
    const lastHeaderColumn = header.positions.at(-1) ?? 0;
    const extra = cells.findIndex((c, column) => column > lastHeaderColumn && !isBlankRow([c]));
    if (extra > 0) problems.push(`cell ${columnLetters(extra)}${sheetRow} holds a value but its column has no header`);
    const position = {
      rowNumber,
      line: sheetRow,
      byteStart: 0,
      byteEnd: 0,
      raw: csvLine(texts).trimEnd(),
      cells: texts,
    };
    if (problems.length > 0)
      yield {
        ok: false,
        ...position,
        values: record,
        message: `sheet '${sheet}' row ${sheetRow}: ${problems.join('; ')}`,
      };
    else yield { ok: true, ...position, values: record };
  }
}

function asWorkbookError(error: unknown, file: string): IngestionError {
  if (error instanceof IngestionError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new IngestionError('WorkbookInvalid', `${file} is not a readable .xlsx workbook (${detail})`, {
    cause: error,
  });
}

async function workbookStep<T>(step: () => Promise<T>, file: string): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw asWorkbookError(error, file);
  }
}

/**
 * The sheets of a workbook in order, each with its header read and its rows still to read. Consume (or skip)
 * a sheet's rows before asking for the next sheet: the workbook is one stream.
 */
export async function* readWorkbookSheets(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  options: WorkbookReadOptions,
): AsyncGenerator<WorkbookSheet> {
  const file = options.fileName ? `'${options.fileName}'` : 'the file';
  const stream = await checkedStream(source, file);
  // styles are needed to tell a date from a number (the cell's number format)
  const reader = new (orderedWorkbookReader())(stream, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  let position = 0;
  try {
    for await (const worksheet of reader as AsyncIterable<unknown> as AsyncIterable<SheetReader>) {
      position++;
      const name = worksheet.name ?? `Sheet${position}`;
      const listed = (reader as unknown as WorkbookModel).model?.sheets?.map((s) => s.name ?? '');
      const sheetNames = listed && listed.length > 0 ? { sheetNames: listed } : {};
      const rows = worksheet[Symbol.asyncIterator]();
      let first: IteratorResult<ExcelRow>;
      do first = await rows.next();
      while (!first.done && isBlankRow(Array.isArray(first.value.values) ? first.value.values : []));
      if (first.done) {
        yield { name, position, columns: [], rows: (async function* () {})(), ...sheetNames };
        continue;
      }
      const header = readHeader(first.value.values as unknown[], name, first.value.number, options.limits);
      yield {
        name,
        position,
        columns: header.columns,
        rows: sheetRows(rows, header, name, options.limits, file),
        ...sheetNames,
      };
    }
  } catch (error) {
    throw asWorkbookError(error, file);
  } finally {
    stream.destroy();
  }
  if (position === 0) throw new IngestionError('WorkbookInvalid', `${file} is not an .xlsx workbook: it has no sheets`);
}

export interface OpenedSheet {
  sheet: string;
  columns: string[];
  rows: AsyncGenerator<SourceRowResult>;
  close(): Promise<void>;
}

function sameName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/**
 * One sheet of a workbook as a table: the sheet named `sheet` (case-insensitive), or the only sheet. Fails
 * (IngestionError) for a sheet that isn't there, a workbook of several sheets with none named, an empty sheet.
 */
export async function openWorkbookSheet(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  options: WorkbookReadOptions & { sheet?: string },
): Promise<OpenedSheet> {
  const file = options.fileName ? `'${options.fileName}'` : 'the workbook';
  const sheets = readWorkbookSheets(source, options);
  const seen: string[] = [];
  try {
    for (;;) {
      const next = await sheets.next();
      if (next.done) break;
      const found = next.value;
      seen.push(found.name);
      if (options.sheet === undefined && found.sheetNames && found.sheetNames.length > 1)
        throw new IngestionError(
          'WorkbookInvalid',
          `${file} has ${found.sheetNames.length} sheets (${found.sheetNames.join(', ')}): a workbook loaded into one table must have one sheet; load it as a plan (incoming/_plans/ or POST /api/plans) to load each sheet as a table`,
        );
      if (options.sheet !== undefined && !sameName(found.name, options.sheet)) continue;
      if (found.columns.length === 0)
        throw new IngestionError('EmptyFile', `sheet '${found.name}' of ${file} is empty: no header row`);
      const first = await found.rows.next();
      if (first.done)
        throw new IngestionError('EmptyFile', `sheet '${found.name}' of ${file} has a header row but no data rows`);
      const only = options.sheet === undefined;
      async function* rows(): AsyncGenerator<SourceRowResult> {
        yield first.value as SourceRowResult;
        yield* found.rows;
        // a second sheet found only now (no workbook part up front) still makes the load wrong, not partial
        if (only && !(await sheets.next()).done)
          throw new IngestionError(
            'WorkbookInvalid',
            `${file} has more than one sheet: a workbook loaded into one table must have one sheet`,
          );
      }
      return {
        sheet: found.name,
        columns: found.columns,
        rows: rows(),
        close: async () => {
          await sheets.return(undefined);
        },
      };
    }
  } catch (error) {
    await sheets.return(undefined);
    throw error;
  }
  throw new IngestionError(
    'SheetNotFound',
    `${file} has no sheet '${options.sheet ?? ''}' (its sheets: ${seen.join(', ') || 'none'})`,
  );
}
