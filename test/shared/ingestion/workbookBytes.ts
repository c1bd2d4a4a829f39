import ExcelJS from 'exceljs';

export type Sheet = { name: string; rows: unknown[][]; dateColumns?: number[] };

/** A real .xlsx written by exceljs (the same library Excel-compatible tools use), as bytes. */
export async function workbookBytes(sheets: Sheet[]): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  for (const sheet of sheets) {
    const worksheet = workbook.addWorksheet(sheet.name);
    for (const row of sheet.rows) worksheet.addRow(row);
    for (const column of sheet.dateColumns ?? []) worksheet.getColumn(column).numFmt = 'yyyy-mm-dd hh:mm:ss';
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
