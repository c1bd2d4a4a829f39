/** Cells of a workbook as row values: exceljs's cell values → text, numbers, booleans, ISO dates; cell names. */

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Excel dates carry no zone: exceljs gives them as UTC instants holding the wall-clock time. */
export function excelDateText(date: Date): string {
  const rounded = new Date(Math.round(date.getTime() / 1000) * 1000);
  const day = `${pad(rounded.getUTCFullYear(), 4)}-${pad(rounded.getUTCMonth() + 1)}-${pad(rounded.getUTCDate())}`;
  const h = rounded.getUTCHours();
  const m = rounded.getUTCMinutes();
  const s = rounded.getUTCSeconds();
  return h === 0 && m === 0 && s === 0 ? day : `${day}T${pad(h)}:${pad(m)}:${pad(s)}`;
}

export type SheetValue = string | number | boolean;
export type CellOutcome = { ok: true; value: SheetValue } | { ok: false; message: string };

/** One exceljs cell value as a row value; Excel error cells (#N/A…) fail their row. */
export function cellValueOf(value: unknown): CellOutcome {
  if (value === null || value === undefined) return { ok: true, value: '' };
  if (typeof value === 'string' || typeof value === 'boolean') return { ok: true, value };
  if (typeof value === 'number')
    return Number.isFinite(value) ? { ok: true, value } : { ok: false, message: `holds ${value}` };
  if (value instanceof Date) {
    return Number.isNaN(value.getTime())
      ? { ok: false, message: 'holds an invalid date' }
      : { ok: true, value: excelDateText(value) };
  }
  if (typeof value === 'object') {
    if ('error' in value)
      return { ok: false, message: `holds the Excel error ${typeof value.error === 'string' ? value.error : 'value'}` };
    if ('richText' in value && Array.isArray(value.richText))
      return {
        ok: true,
        value: value.richText.map((run: { text?: unknown }) => (typeof run.text === 'string' ? run.text : '')).join(''),
      };
    if ('formula' in value || 'sharedFormula' in value)
      return 'result' in value ? cellValueOf(value.result) : { ok: true, value: '' };
    if ('text' in value) return cellValueOf(value.text);
  }
  return { ok: false, message: `holds a value that is not text, a number, a boolean or a date` };
}

export function cellText(value: SheetValue): string {
  return typeof value === 'string' ? value : String(value);
}

export function columnLetters(column: number): string {
  let letters = '';
  for (let n = column; n > 0; n = Math.floor((n - 1) / 26))
    letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  return letters;
}
