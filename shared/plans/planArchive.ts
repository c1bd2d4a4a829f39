/**
 * The files of a plan zip, checked before anything is inflated: size, entry count, total uncompressed size and
 * the uncompressed/compressed ratio (a zip bomb), all from the central directory (fflate's filter sees each
 * entry's declared sizes first, and inflates into a buffer of the declared size, so a lying header cannot make
 * it allocate more). Folders inside the zip are ignored (the file name alone names the table).
 */
import { unzipSync } from 'fflate';
import { PlanError } from './planError';

export interface PlanArchiveLimits {
  maxZipBytes: number;
  maxEntries: number;
  maxUncompressedBytes: number;
  /** Largest uncompressed/compressed ratio of an entry over 1 MB (text compresses ~10×; a bomb 1000×). */
  maxRatio: number;
}

export const defaultPlanArchiveLimits: PlanArchiveLimits = {
  maxZipBytes: 200 * 1024 * 1024,
  maxEntries: 200,
  maxUncompressedBytes: 1024 * 1024 * 1024,
  maxRatio: 200,
};

export interface ArchiveEntry {
  /** The entry's file name without folders (`account.csv`). */
  name: string;
  bytes: Uint8Array;
}

export interface PlanArchive {
  entries: ArchiveEntry[];
  /** The text of `plan.json` when the zip has one. */
  planFileText?: string;
}

/** Folders, `__MACOSX/` and dot files: not files of the plan. */
export const ignoredEntry = (path: string) =>
  path.endsWith('/') || path.startsWith('__MACOSX/') || (path.split('/').pop() ?? '').startsWith('.');

export function readPlanArchive(zip: Uint8Array, limits: PlanArchiveLimits = defaultPlanArchiveLimits): PlanArchive {
  if (zip.length > limits.maxZipBytes)
    throw new PlanError('TooLarge', `the plan zip is ${zip.length} bytes, over the ${limits.maxZipBytes}-byte limit`);
  if (zip.length < 4 || zip[0] !== 0x50 || zip[1] !== 0x4b)
    throw new PlanError('NotAZip', 'the plan is not a zip archive (nor an .xlsx workbook)');
  let count = 0;
  let total = 0;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, {
      filter: (entry) => {
        if (ignoredEntry(entry.name)) return false;
        count++;
        total += entry.originalSize;
        if (count > limits.maxEntries)
          throw new PlanError('ZipBomb', `the plan zip has more than ${limits.maxEntries} files`);
        if (total > limits.maxUncompressedBytes)
          throw new PlanError(
            'ZipBomb',
            `the plan zip would inflate to more than ${limits.maxUncompressedBytes} bytes (at '${entry.name}')`,
          );
        if (entry.originalSize > 1024 * 1024 && entry.originalSize > limits.maxRatio * Math.max(1, entry.size))
          throw new PlanError(
            'ZipBomb',
            `'${entry.name}' in the plan zip inflates ${Math.round(entry.originalSize / Math.max(1, entry.size))}× (${entry.size} → ${entry.originalSize} bytes), over the ${limits.maxRatio}× limit: refused as a zip bomb`,
          );
        return true;
      },
    });
  } catch (error) {
    if (error instanceof PlanError) throw error;
    throw new PlanError('NotAZip', `the plan zip cannot be read (${(error as Error).message})`);
  }
  const entries: ArchiveEntry[] = [];
  let planFileText: string | undefined;
  const seen = new Map<string, string>();
  for (const [path, bytes] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const name = path.split('/').pop()!;
    const earlier = seen.get(name.toLowerCase());
    if (earlier !== undefined)
      throw new PlanError('DuplicateTable', `the plan zip holds '${earlier}' and '${path}': one name, two files`);
    seen.set(name.toLowerCase(), path);
    if (name.toLowerCase() === 'plan.json') planFileText = Buffer.from(bytes).toString('utf8');
    else entries.push({ name, bytes });
  }
  if (entries.length === 0) throw new PlanError('EmptyPlan', 'the plan zip holds no data files');
  return { entries, ...(planFileText !== undefined ? { planFileText } : {}) };
}
