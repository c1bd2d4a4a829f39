/**
 * The workbook part of `npm run bench` (issue 15): peak RSS and read rate of a 200k-row .xlsx read through the
 * streaming reader, next to the same rows as CSV. The workbook is written the way Excel writes one (shared
 * strings, a date-formatted column), each file is read in its own child process (bench/workbookReadChild.ts).
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ExcelJS from 'exceljs';

export interface WorkbookReadRun {
  rows: number;
  failed: number;
  seconds: number;
  rowsPerSecond: number;
  baselineRssMB: number;
  peakRssMB: number;
  fileMB: number;
}

export interface WorkbookMemory {
  rows: number;
  xlsx: WorkbookReadRun;
  csv: WorkbookReadRun;
}

const row = (i: number) => [
  `Contoso ${i}`,
  `ACC-${String(i).padStart(7, '0')}`,
  'Some description text that takes space',
  Math.round(i * 1.37 * 100) / 100,
  new Date(Date.UTC(2000, 0, 1) + (i % 9000) * 86_400_000),
];

async function writeWorkbook(path: string, rows: number): Promise<void> {
  const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useSharedStrings: true, useStyles: true });
  const sheet = writer.addWorksheet('account');
  sheet.getColumn(5).numFmt = 'yyyy-mm-dd';
  sheet.addRow(['name', 'accountnumber', 'description', 'revenue', 'opendeals_date']).commit();
  for (let i = 0; i < rows; i++) sheet.addRow(row(i)).commit();
  sheet.commit();
  await writer.commit();
}

async function writeCsv(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  out.write('name,accountnumber,description,revenue,opendeals_date\n');
  for (let i = 0; i < rows; i++) {
    const [name, number, description, revenue, date] = row(i) as [string, string, string, number, Date];
    if (!out.write(`${name},${number},${description},${revenue},${date.toISOString().slice(0, 10)}\n`))
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

async function readInChild(repoRoot: string, path: string): Promise<WorkbookReadRun> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    join(repoRoot, 'dist', 'bench', 'workbookReadChild.js'),
    path,
  ]);
  const run = JSON.parse(stdout.trim()) as Omit<WorkbookReadRun, 'fileMB'>;
  return { ...run, fileMB: Math.round(((await stat(path)).size / 1024 / 1024) * 10) / 10 };
}

export async function measureWorkbookMemory(options: {
  repoRoot: string;
  dir: string;
  rows: number;
  log?: (line: string) => void;
}): Promise<WorkbookMemory> {
  const xlsxPath = join(options.dir, `accounts-${options.rows}.xlsx`);
  const csvPath = join(options.dir, `accounts-${options.rows}.csv`);
  options.log?.(`workbook: writing ${options.rows} rows as .xlsx and .csv…`);
  await writeWorkbook(xlsxPath, options.rows);
  await writeCsv(csvPath, options.rows);
  const xlsx = await readInChild(options.repoRoot, xlsxPath);
  const csv = await readInChild(options.repoRoot, csvPath);
  return { rows: options.rows, xlsx, csv };
}

export function formatWorkbookMemory(m: WorkbookMemory): string {
  const line = (what: string, r: WorkbookReadRun) =>
    `  ${what.padEnd(5)} ${String(r.fileMB).padStart(6)} MB file  ${String(r.rowsPerSecond).padStart(8)} rows/s  peak RSS ${r.peakRssMB} MB (baseline ${r.baselineRssMB} MB)`;
  return [`workbook read, ${m.rows} rows:`, line('xlsx', m.xlsx), line('csv', m.csv)].join('\n');
}
