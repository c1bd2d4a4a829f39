/**
 * exceljs's streaming WorkbookReader, loaded on first use and corrected for zip part order (below). Kept apart from
 * the reader so that what depends on exceljs internals (4.4.0) is in one small place.
 */
import type ExcelJSModule from 'exceljs';

interface ReaderInternals {
  model?: unknown;
  workbookRels?: unknown;
  _parseRels(entry: unknown): Promise<void>;
  _parseWorkbook(entry: unknown): Promise<void>;
}

// exceljs costs ~30 MB of heap once loaded: it is loaded with the first workbook, not by every load's worker.
let orderedReaderClass:
  | (new (
      ...args: ConstructorParameters<typeof ExcelJSModule.stream.xlsx.WorkbookReader>
    ) => ExcelJSModule.stream.xlsx.WorkbookReader)
  | undefined;

/**
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
  class OrderedWorkbookReader extends ExcelJS.stream.xlsx.WorkbookReader {
    private heldRels: unknown;

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
