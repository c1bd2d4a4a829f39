import { IngestionError } from '../ingestionError';
import { readCsvRows, type CsvDelimiter, type CsvHeader } from './csvReader';
import { readJsonArrayRows } from './jsonArrayReader';
import { readNdjsonRows } from './ndjsonReader';
import { decodeSource } from './sourceDecoding';
import { openWorkbookSheet } from './xlsxReader';
import {
  defaultReaderLimits,
  type FileFormat,
  type ReaderLimits,
  type SourceRowResult,
  type TextEncodingName,
} from './readerTypes';

export type ByteSource = AsyncIterable<Buffer | Uint8Array | string>;

export interface OpenFileOptions {
  /** Blob name (its extension picks the format; `.gz` means gzip). */
  fileName?: string;
  contentType?: string;
  /** Wins over name and content type. */
  format?: FileFormat;
  /** CSV only; detected from the header line when absent. */
  delimiter?: CsvDelimiter;
  /** .xlsx only: the sheet to read (case-insensitive); without it the workbook must have one sheet. */
  sheet?: string;
  limits?: Partial<ReaderLimits>;
}

/** What a chunk worker needs to re-read part of the file the same way (small: it travels with the load record). */
export interface FileShape {
  format: FileFormat;
  encoding: TextEncodingName;
  compressed: boolean;
  byteOffsetsAreBlobOffsets: boolean;
  /** CSV: the header; data starts at `header.dataStart`. */
  header?: CsvHeader;
  /** .xlsx: the sheet read. */
  sheet?: string;
}

export interface OpenedFile extends FileShape {
  /** CSV: the header's names; JSON/NDJSON: the keys of the first row (later rows may have others). */
  columns: string[];
  rows: AsyncIterable<SourceRowResult>;
  /** Stops reading and releases the source. */
  close(): Promise<void>;
}

const extensionFormats: Record<string, { format: FileFormat; delimiter?: CsvDelimiter }> = {
  csv: { format: 'csv' },
  txt: { format: 'csv' },
  tsv: { format: 'csv', delimiter: '\t' },
  tab: { format: 'csv', delimiter: '\t' },
  json: { format: 'json' },
  ndjson: { format: 'ndjson' },
  jsonl: { format: 'ndjson' },
  xlsx: { format: 'xlsx' },
};
const unsupportedExtensions = new Set(['xls', 'xlsm', 'xml', 'parquet', 'avro', 'zip', 'pdf', 'docx']);

const contentTypeFormats: Record<string, { format: FileFormat; delimiter?: CsvDelimiter }> = {
  'text/csv': { format: 'csv' },
  'application/csv': { format: 'csv' },
  'text/tab-separated-values': { format: 'csv', delimiter: '\t' },
  'application/json': { format: 'json' },
  'text/json': { format: 'json' },
  'application/x-ndjson': { format: 'ndjson' },
  'application/ndjson': { format: 'ndjson' },
  'application/jsonl': { format: 'ndjson' },
  'application/x-jsonlines': { format: 'ndjson' },
  'application/jsonlines': { format: 'ndjson' },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { format: 'xlsx' },
};

export interface DeclaredFormat {
  format?: FileFormat;
  delimiter?: CsvDelimiter;
  gzip: boolean;
  /** What declared it, for messages. */
  source?: string;
}

/** The format a name / content type declares (the content may still be sniffed when nothing does). */
export function declaredFormat(options: Pick<OpenFileOptions, 'fileName' | 'contentType' | 'format'>): DeclaredFormat {
  let name = (options.fileName ?? '').split('/').pop()!.toLowerCase();
  const gzip = name.endsWith('.gz') || name.endsWith('.gzip');
  if (gzip) name = name.replace(/\.gz(ip)?$/, '');
  if (options.format) return { format: options.format, gzip, source: `format '${options.format}'` };
  const extension = name.includes('.') ? name.split('.').pop()! : '';
  const byExtension = extensionFormats[extension];
  if (byExtension) return { ...byExtension, gzip, source: `named .${extension}` };
  if (unsupportedExtensions.has(extension)) {
    throw new IngestionError(
      'UnsupportedFormat',
      `.${extension} files are not supported: use CSV (.csv, .tsv), JSON (.json, an array of objects) or NDJSON (.ndjson, .jsonl), optionally gzipped (.gz), or an .xlsx workbook`,
    );
  }
  const mediaType = (options.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const byType = contentTypeFormats[mediaType];
  if (byType) return { ...byType, gzip: gzip || mediaType === 'application/gzip', source: `Content-Type ${mediaType}` };
  return { gzip: gzip || mediaType === 'application/gzip' || mediaType === 'application/x-gzip' };
}

function firstSignificantChar(head: Buffer): string | undefined {
  return head.toString('utf8', 0, Math.min(head.length, 4096)).trimStart()[0];
}

function chooseFormat(declared: DeclaredFormat, head: Buffer): FileFormat {
  const first = firstSignificantChar(head);
  if (!declared.format) return first === '[' ? 'json' : first === '{' ? 'ndjson' : 'csv';
  if (declared.format === 'csv' && (first === '[' || first === '{')) {
    throw new IngestionError(
      'FormatMismatch',
      `file is ${declared.source} but its content looks like JSON (it starts with '${first}'): name it .json (array) or .ndjson (one object per line)`,
    );
  }
  if (declared.format === 'ndjson' && first === '[') {
    throw new IngestionError(
      'FormatMismatch',
      `file is ${declared.source} but its content starts with '[' (a JSON array?): name it .json, or write one object per line`,
    );
  }
  return declared.format;
}

export function resolveLimits(limits?: Partial<ReaderLimits>): ReaderLimits {
  return { ...defaultReaderLimits, ...limits };
}

/**
 * Opens a file for streaming: decodes, picks the format, reads the CSV header, and returns the rows still to
 * read. Fails (IngestionError) before returning for an empty, binary, wrongly encoded file or a file with no
 * data rows; later structural errors surface while iterating `rows`.
 */
export async function openFile(source: ByteSource, options: OpenFileOptions = {}): Promise<OpenedFile> {
  const limits = resolveLimits(options.limits);
  const declared = declaredFormat(options);
  if (declared.format === 'xlsx') return openWorkbook(source, options, limits);
  const decoded = await decodeSource(source, { gzip: declared.gzip });
  const format = chooseFormat(declared, decoded.head);
  let header: CsvHeader | undefined;
  const generator =
    format === 'csv'
      ? readCsvRows(
          decoded.chunks,
          {
            delimiter: options.delimiter ?? declared.delimiter,
            limits,
            startOffset: decoded.bomLength,
            onHeader: (h) => (header = h),
          },
          decoded.head,
        )
      : format === 'json'
        ? readJsonArrayRows(decoded.chunks, { limits, startOffset: decoded.bomLength })
        : readNdjsonRows(decoded.chunks, { limits, startOffset: decoded.bomLength });
  const first = await generator.next();
  if (first.done) {
    throw new IngestionError(
      'EmptyFile',
      format === 'csv'
        ? 'file has a header row but no data rows'
        : format === 'json'
          ? 'the JSON array is empty: no rows to load'
          : 'file has no rows (only blank lines)',
    );
  }
  const firstRow = first.value;
  const columns =
    format === 'csv' ? header!.columns.filter((c) => c !== '') : firstRow.ok ? Object.keys(firstRow.values) : [];
  async function* rows(): AsyncGenerator<SourceRowResult> {
    yield firstRow;
    yield* generator;
  }
  return {
    format,
    encoding: decoded.encoding,
    compressed: decoded.compressed,
    byteOffsetsAreBlobOffsets: decoded.byteOffsetsAreBlobOffsets,
    header,
    columns,
    rows: rows(),
    close: async () => {
      await generator.return(undefined);
    },
  };
}

async function openWorkbook(source: ByteSource, options: OpenFileOptions, limits: ReaderLimits): Promise<OpenedFile> {
  const opened = await openWorkbookSheet(source, {
    limits,
    ...(options.fileName ? { fileName: options.fileName.split('/').pop()! } : {}),
    ...(options.sheet ? { sheet: options.sheet } : {}),
  });
  return {
    format: 'xlsx',
    encoding: 'utf-8',
    compressed: true,
    byteOffsetsAreBlobOffsets: false,
    sheet: opened.sheet,
    columns: opened.columns,
    rows: opened.rows,
    close: () => opened.close(),
  };
}
