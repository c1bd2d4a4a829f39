/**
 * Deterministic account rows for the benchmarks, written as CSV into a temp dir on the fly (nothing large is
 * committed). Same size → byte-identical file, so runs compare.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom as random } from '../dev/seededRandom';

export const accountColumns = [
  'name',
  'accountnumber',
  'telephone1',
  'emailaddress1',
  'address1_city',
  'revenue',
  'numberofemployees',
  'creditonhold',
  'address1_latitude',
  'description',
] as const;

const cities = ['Seattle', 'Redmond', 'Paris', 'München', 'São Paulo', 'Osaka', 'Lagos', 'Toronto', 'Sydney', 'Zürich'];
const words = [
  'alpha',
  'bravo',
  'charlie',
  'delta',
  'echo',
  'foxtrot',
  'golf',
  'hotel',
  'india',
  'juliett',
  'kilo',
  'lima',
];

export function accountRow(n: number): string[] {
  const r = random(n + 1);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
  const account = `ACC-${String(n).padStart(8, '0')}`;
  const description = `${pick(words)} ${pick(words)}, "${pick(words)}" ${pick(words)}`;
  return [
    `Account ${n} ${pick(words)}`,
    account,
    `+1 425 ${String(Math.floor(r() * 9_000_000) + 1_000_000)}`,
    `contact${n}@example.com`,
    pick(cities),
    (Math.floor(r() * 100_000_000) / 100).toFixed(2),
    String(Math.floor(r() * 5000)),
    r() < 0.1 ? 'true' : 'false',
    (r() * 180 - 90).toFixed(5),
    description,
  ];
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export interface GeneratedCsv {
  path: string;
  rows: number;
  bytes: number;
}

export async function writeAccountsCsv(rows: number, dir?: string): Promise<GeneratedCsv> {
  const folder = dir ?? (await mkdtemp(join(tmpdir(), 'bench-')));
  const path = join(folder, `accounts-${rows}.csv`);
  const out = createWriteStream(path, { encoding: 'utf8' });
  let buffer = `${accountColumns.join(',')}\r\n`;
  for (let n = 1; n <= rows; n++) {
    buffer += `${accountRow(n).map(csvCell).join(',')}\r\n`;
    if (buffer.length > 1 << 16) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  }
  out.end(buffer);
  await once(out, 'finish');
  return { path, rows, bytes: (await stat(path)).size };
}

/** What a hand-written script makes of a parsed row (numbers and booleans by hand, no metadata). */
export function scriptAttributes(record: Record<string, string>): Record<string, unknown> {
  return {
    name: record['name'],
    accountnumber: record['accountnumber'],
    telephone1: record['telephone1'],
    emailaddress1: record['emailaddress1'],
    address1_city: record['address1_city'],
    revenue: Number(record['revenue']),
    numberofemployees: Number(record['numberofemployees']),
    creditonhold: record['creditonhold'] === 'true',
    address1_latitude: Number(record['address1_latitude']),
    description: record['description'],
  };
}
