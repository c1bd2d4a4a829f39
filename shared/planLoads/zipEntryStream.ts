/**
 * The files of a plan zip one after the other, each inflated as it is read (fflate's streaming Unzip), so staging
 * a file holds a few pieces of it, never the whole file. The zip's central directory is read first (fflate's
 * filter sees each entry's declared sizes without inflating anything): the streaming reader finds entries by their
 * local headers, so an entry inflating to more than its directory says (a lying header, a zip bomb) or to less (a
 * damaged zip, or a data-descriptor entry whose compressed bytes happen to hold a signature) is an error, thrown
 * before its last piece so nothing half-written is committed.
 */
import { Unzip, UnzipInflate, unzipSync } from 'fflate';
import { setImmediate } from 'node:timers/promises';
import { ignoredEntry, type PlanArchiveLimits } from '../plans/planArchive';
import { PlanError } from '../plans/planError';

export interface ZipEntryStream {
  /** The entry's file name without folders (`account.csv`), as readPlanArchive names it. */
  name: string;
  /** Its inflated bytes, in pieces; read it to the end before asking for the next entry. */
  pieces: AsyncIterable<Uint8Array>;
}

/** Compressed bytes pushed at a time: deflate inflates at most ~1032×, so one push yields at most ~16 MB. */
const sliceBytes = 16 * 1024;

interface FoundEntry {
  name: string;
  path: string;
  declared: number;
  queue: Uint8Array[];
  inflated: number;
  done: boolean;
  /** The caller is done with it: pieces still inflating are dropped. */
  dropped?: boolean;
  error?: Error;
}

/** Declared (central directory) uncompressed sizes by entry path; nothing is inflated. */
function declaredSizes(zip: Uint8Array, limits: PlanArchiveLimits): Map<string, number> {
  const sizes = new Map<string, number>();
  let total = 0;
  try {
    unzipSync(zip, {
      filter: (entry) => {
        if (ignoredEntry(entry.name)) return false;
        total += entry.originalSize;
        if (total > limits.maxUncompressedBytes)
          throw new PlanError(
            'ZipBomb',
            `the plan zip would inflate to more than ${limits.maxUncompressedBytes} bytes (at '${entry.name}')`,
          );
        sizes.set(entry.name, entry.originalSize);
        return false;
      },
    });
  } catch (error) {
    if (error instanceof PlanError) throw error;
    throw new PlanError('NotAZip', `the plan zip cannot be read (${(error as Error).message})`);
  }
  return sizes;
}

/**
 * The entries of `zip` whose file name `wanted` accepts, in zip order. Entries not wanted (plan.json, folders,
 * `__MACOSX/`, dot files) are never inflated.
 */
export function* zipEntryStreams(
  zip: Uint8Array,
  wanted: (name: string) => boolean,
  limits: PlanArchiveLimits,
): Generator<ZipEntryStream> {
  const sizes = declaredSizes(zip, limits);
  const found: (FoundEntry | undefined)[] = [];
  const unzip = new Unzip((file) => {
    if (ignoredEntry(file.name)) return;
    const name = file.name.split('/').pop()!;
    const declared = sizes.get(file.name);
    if (!wanted(name)) return; // never started: its compressed bytes are skipped, not inflated
    const entry: FoundEntry = { name, path: file.name, declared: declared ?? 0, queue: [], inflated: 0, done: false };
    if (declared === undefined)
      entry.error = new PlanError('NotAZip', `'${file.name}' of the plan zip is not in the zip's directory`);
    file.ondata = (error, data, final) => {
      if (entry.error) return;
      if (error) {
        entry.error = new PlanError('NotAZip', `'${file.name}' of the plan zip cannot be inflated (${error.message})`);
        return;
      }
      entry.inflated += data.length;
      if (entry.inflated > entry.declared) {
        entry.error = new PlanError(
          'ZipBomb',
          `'${file.name}' of the plan zip inflates to more than the ${entry.declared} bytes its directory declares: refused`,
        );
        return;
      }
      if (data.length > 0 && !entry.dropped) entry.queue.push(data);
      if (final) entry.done = true;
    };
    found.push(entry);
    if (!entry.error) file.start();
  });
  unzip.register(UnzipInflate);

  let offset = 0;
  /** Pushes the next slice of the zip; false when the whole zip was pushed. */
  const pump = (): boolean => {
    if (offset >= zip.length) return false;
    const end = Math.min(zip.length, offset + sliceBytes);
    try {
      unzip.push(zip.subarray(offset, end), end === zip.length);
    } catch (error) {
      throw new PlanError('NotAZip', `the plan zip cannot be read (${(error as Error).message})`);
    }
    offset = end;
    return true;
  };

  async function* piecesOf(entry: FoundEntry): AsyncGenerator<Uint8Array> {
    let next = 0;
    for (;;) {
      if (entry.error) throw entry.error;
      if (next < entry.queue.length) {
        const piece = entry.queue[next]!;
        entry.queue[next++] = new Uint8Array(0); // let the piece go once read
        if (next === entry.queue.length) {
          entry.queue = [];
          next = 0;
        }
        yield piece;
        continue;
      }
      if (entry.done) {
        if (entry.inflated !== entry.declared)
          throw new PlanError(
            'NotAZip',
            `'${entry.path}' of the plan zip inflates to ${entry.inflated} bytes but its directory declares ${entry.declared}: the zip is damaged`,
          );
        return;
      }
      if (!pump()) throw new PlanError('NotAZip', `'${entry.path}' of the plan zip ends before its data does`);
      await setImmediate(); // inflating is CPU work: let the host's other invocations run between slices
    }
  }

  for (let index = 0; ; index++) {
    while (found.length <= index) if (!pump()) return;
    const entry = found[index]!;
    const pieces = piecesOf(entry);
    yield { name: entry.name, pieces };
    entry.dropped = true; // the caller may have stopped early: the rest of the entry is inflated and dropped
    entry.queue = [];
    found[index] = undefined;
  }
}
