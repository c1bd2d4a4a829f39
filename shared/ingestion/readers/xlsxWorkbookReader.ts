/**
 * exceljs's streaming WorkbookReader, loaded on first use and corrected for zip part order (below). Kept apart from
 * the reader so that what depends on exceljs internals (4.4.0) is in one small place.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import type ExcelJSModule from 'exceljs';

interface ZipEntry {
  path: string;
  pipe(to: NodeJS.WritableStream): void;
  autodrain(): unknown;
}

interface ReaderInternals {
  model?: unknown;
  workbookRels?: unknown;
  sharedStrings?: unknown;
  input?: unknown;
  options?: unknown;
  stream?: unknown;
  _getStream(input: unknown): NodeJS.ReadableStream;
  _parseRels(entry: unknown): Promise<void>;
  _parseWorkbook(entry: unknown): Promise<void>;
  _parseSharedStrings(entry: unknown): AsyncGenerator<unknown>;
  _parseStyles(entry: unknown): Promise<void>;
  _parseWorksheet(iterator: unknown, sheetNo: string): Generator<unknown>;
  _parseHyperlinks(iterator: unknown, sheetNo: string): Generator<unknown>;
}

// exceljs costs ~30 MB of heap once loaded: it is loaded with the first workbook, not by every load's worker.
let orderedReaderClass:
  | (new (
      ...args: ConstructorParameters<typeof ExcelJSModule.stream.xlsx.WorkbookReader>
    ) => ExcelJSModule.stream.xlsx.WorkbookReader)
  | undefined;

/**
 * exceljs (4.4.0) reads the zip's entries through its `iterateStream`, which puts the unzipper stream in flowing
 * mode: under load the next entries are parsed while one is still being read, and a sheet comes out unnamed
 * ('Sheet1') with shared-string indexes instead of text (exceljs issue #683, fixed upstream by PR #2915, not
 * released). `parse` below is exceljs's own with that fix: the unzipper stream's own async iterator, which waits
 * for each entry. Reproduced here under CPU load (test/shared/planLoads/planEngine.test.ts, "a workbook").
 *
 * exceljs (4.4.0) parses a sheet as soon as the shared strings and the workbook's relationships have been read,
 * and names it from `xl/workbook.xml`: when that part comes later in the zip (zip order is up to the writer) the
 * sheet is misnamed or exceljs fails on the missing model. Holding the relationships back until the workbook part
 * is read makes such sheets wait (exceljs then buffers them to temporary files) until they can be named.
 */
export function orderedWorkbookReader(): NonNullable<typeof orderedReaderClass> {
  if (orderedReaderClass) return orderedReaderClass;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (see above)
  const ExcelJS = require('exceljs') as typeof ExcelJSModule;
  const baseReader = ExcelJS.stream.xlsx.WorkbookReader.prototype as unknown as ReaderInternals;
  // exceljs's own dependencies, resolved from exceljs so the versions it was built with are the ones used.
  const fromExcelJS = createRequire(require.resolve('exceljs'));
  const unzip = fromExcelJS('unzipper') as { Parse(options: { forceStream: boolean }): NodeJS.ReadWriteStream };
  const tmp = fromExcelJS('tmp') as {
    file(callback: (error: Error | null, path: string, fd: number, cleanup: () => void) => void): void;
  };
  const iterateStream = fromExcelJS('./lib/utils/iterate-stream') as (stream: unknown) => AsyncIterable<unknown>;
  class OrderedWorkbookReader extends ExcelJS.stream.xlsx.WorkbookReader {
    private heldRels: unknown;

    /** exceljs 4.4.0's parse, iterating the zip with its own async iterator (see above). */
    override async *parse(input?: unknown, options?: unknown): AsyncGenerator<unknown> {
      const self = this as unknown as ReaderInternals;
      if (options) self.options = options;
      const stream = self._getStream(input ?? self.input);
      self.stream = stream;
      const zip = stream.pipe(unzip.Parse({ forceStream: true })) as unknown as AsyncIterable<ZipEntry>;
      // Sheets that come before the shared strings or the workbook part wait in temporary files.
      const waiting: { sheetNo: string; path: string; cleanup: () => void }[] = [];
      for await (const entry of zip) {
        const sheet = /^xl\/worksheets\/sheet(\d+)[.]xml$/.exec(entry.path);
        const hyperlinks = /^xl\/worksheets\/_rels\/sheet(\d+)[.]xml.rels$/.exec(entry.path);
        if (entry.path === 'xl/_rels/workbook.xml.rels') await self._parseRels(entry);
        else if (entry.path === 'xl/workbook.xml') await self._parseWorkbook(entry);
        else if (entry.path === 'xl/sharedStrings.xml') yield* self._parseSharedStrings(entry);
        else if (entry.path === 'xl/styles.xml') await self._parseStyles(entry);
        else if (sheet && self.sharedStrings && self.workbookRels)
          yield* self._parseWorksheet(iterateStream(entry), sheet[1]!);
        else if (sheet)
          await new Promise<void>((resolve, reject) => {
            tmp.file((error, path, _fd, cleanup) => {
              if (error) return reject(error);
              waiting.push({ sheetNo: sheet[1]!, path, cleanup });
              const file = createWriteStream(path);
              file.on('error', reject);
              file.on('finish', () => resolve());
              entry.pipe(file);
            });
          });
        else if (hyperlinks) yield* self._parseHyperlinks(iterateStream(entry), hyperlinks[1]!);
        entry.autodrain();
      }
      for (const { sheetNo, path, cleanup } of waiting) {
        yield* self._parseWorksheet(createReadStream(path), sheetNo);
        cleanup();
      }
    }

    async _parseRels(entry: unknown): Promise<void> {
      await baseReader._parseRels.call(this, entry);
      const self = this as unknown as ReaderInternals;
      if (self.model === undefined) {
        this.heldRels = self.workbookRels;
        self.workbookRels = undefined;
      }
    }

    async _parseWorkbook(entry: unknown): Promise<void> {
      await baseReader._parseWorkbook.call(this, entry);
      const self = this as unknown as ReaderInternals;
      if (this.heldRels !== undefined) {
        self.workbookRels = this.heldRels;
        this.heldRels = undefined;
      }
    }
  }
  orderedReaderClass = OrderedWorkbookReader;
  return OrderedWorkbookReader;
}

/** One row as exceljs streams it: its sheet row number and its cells (1-based array). */
export interface ExcelRow {
  number: number;
  values: unknown;
}

export interface WorkbookModel {
  model?: { sheets?: { name?: string }[] };
}

export interface SheetReader {
  name?: string;
  [Symbol.asyncIterator](): AsyncIterator<ExcelRow>;
}
