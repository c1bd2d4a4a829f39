/**
 * `npm run bench`: the benchmark suite (issue 7). Options:
 *   --size 10k,100k,1m   row counts (default 10k,100k)
 *   --parts throughput,engine,memory,async,emulator   which parts (default all)
 *   --quick              smaller, faster settings for a smoke run
 * Prints a table and writes bench/results/<timestamp>.json and bench/results/latest.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const PARTS = ['throughput', 'engine', 'memory', 'async', 'emulator'] as const;
export type BenchPart = (typeof PARTS)[number];

export interface BenchArgs {
  sizes: number[];
  parts: BenchPart[];
  quick: boolean;
}

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!m) throw new Error(`--size: "${text}" is not a row count like 10k, 100k or 1m.`);
  const mult = m[2]?.toLowerCase() === 'm' ? 1_000_000 : m[2]?.toLowerCase() === 'k' ? 1000 : 1;
  return Math.round(Number(m[1]) * mult);
}

export function parseArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = { sizes: [10_000, 100_000], parts: [...PARTS], quick: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value.`);
      return v;
    };
    if (flag === '--size' || flag === '--sizes') args.sizes = value().split(',').map(parseSize);
    else if (flag === '--parts' || flag === '--part') {
      const parts = value().split(',').map((p) => p.trim());
      for (const p of parts) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`--parts: unknown part "${p}" (known: ${PARTS.join(', ')}).`);
      args.parts = parts as BenchPart[];
    } else if (flag === '--quick') args.quick = true;
    else throw new Error(`Unknown option ${a}.`);
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const results: Record<string, unknown> = { startedAt: new Date().toISOString(), args };
  const dir = join(__dirname, '..', '..', 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const text = JSON.stringify(results, null, 2);
  await writeFile(join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`), text);
  await writeFile(join(dir, 'latest.json'), text);
  console.log(text);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  });
}
