/** What every reader yields, one entry per data row of the file, in file order. */

export type CellValue = string | number | boolean | null | object;

interface RowPosition {
  /** 1-based ordinal of the data row (the CSV header is not a row; JSON: element index + 1; NDJSON: non-blank line ordinal). */
  rowNumber: number;
  /** 1-based line of the file where the row starts (CSV: the header is line 1; JSON array: the line of the element). */
  line: number;
  /** Byte offsets of the row in the decoded (decompressed, UTF-8) content; equal to blob offsets when `FileShape.byteOffsetsAreBlobOffsets`. */
  byteStart: number;
  byteEnd: number;
  /** The row's source text (CSV record, NDJSON line, JSON element), without the line break. */
  raw: string;
  /** CSV only: the cells as parsed, in column order (also for ragged rows). */
  cells?: string[];
}

export interface SourceRow extends RowPosition {
  ok: true;
  values: Record<string, CellValue>;
}

/** A row the reader could read past but not use: it fails alone. */
export interface SourceRowFault extends RowPosition {
  ok: false;
  message: string;
  values?: Record<string, CellValue>;
}

export type SourceRowResult = SourceRow | SourceRowFault;

export type FileFormat = 'csv' | 'json' | 'ndjson' | 'xlsx';
export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be';

export interface ReaderLimits {
  /** Largest cell (CSV) in bytes; a bigger one fails its row. Default 1 MB. */
  maxFieldBytes: number;
  /** Largest row/record in bytes. CSV: the parser can't resynchronise past it, so the load fails; JSON/NDJSON: the row fails. Default 4 MB. */
  maxRecordBytes: number;
  /** Most columns in a CSV header. Default 1,000 (Dataverse tables hold at most ~1,024 columns). */
  maxColumns: number;
}

export const defaultReaderLimits: ReaderLimits = {
  maxFieldBytes: 1024 * 1024,
  maxRecordBytes: 4 * 1024 * 1024,
  maxColumns: 1000,
};
