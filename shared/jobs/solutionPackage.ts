/**
 * Checks a solution zip is safe to open before anything is inflated: size, entry count and total uncompressed size
 * against the compressed size (zip-bomb ratio), all from the central directory. release/solutionContents.ts reads it.
 */
import { unzipSync } from 'fflate';
import { InvalidRequestError } from '../errors';

export interface SolutionPackageLimits {
  /** Largest zip accepted (default 200 MB; Dataverse's own limit for solution files is 95 MB by default). */
  maxZipBytes: number;
  maxEntries: number;
  /** Largest total uncompressed size (default 1 GB). */
  maxUncompressedBytes: number;
  /** Largest uncompressed/compressed ratio (default 200). */
  maxRatio: number;
}

export const defaultSolutionPackageLimits: SolutionPackageLimits = {
  maxZipBytes: 200 * 1024 * 1024,
  maxEntries: 20_000,
  maxUncompressedBytes: 1024 * 1024 * 1024,
  maxRatio: 200,
};

/** A solution zip that cannot be imported (too large, a zip bomb, not a solution): 400. */
export class SolutionPackageError extends InvalidRequestError {
  override readonly name = 'SolutionPackageError';
  declare readonly code: 'TooLarge' | 'ZipBomb' | 'NotAZip';
  constructor(code: 'TooLarge' | 'ZipBomb' | 'NotAZip', message: string) {
    super(code, message);
  }
}

interface CentralDirectory {
  entries: number;
  uncompressed: number;
}

/**
 * The entry count and declared uncompressed total, from the central directory: fflate's filter sees each entry's
 * sizes before inflating it, and refusing every entry inflates nothing.
 */
function readCentralDirectory(zip: Uint8Array): CentralDirectory {
  const directory: CentralDirectory = { entries: 0, uncompressed: 0 };
  if (zip.length < 4 || zip[0] !== 0x50 || zip[1] !== 0x4b)
    throw new SolutionPackageError('NotAZip', 'The file is not a zip archive.');
  try {
    unzipSync(zip, {
      filter: (entry) => {
        directory.entries++;
        directory.uncompressed += entry.originalSize;
        return false;
      },
    });
  } catch (error) {
    throw new SolutionPackageError('NotAZip', `The zip cannot be read (${(error as Error).message}).`);
  }
  return directory;
}

export function checkSolutionZip(
  zip: Uint8Array,
  limits: SolutionPackageLimits = defaultSolutionPackageLimits,
): CentralDirectory {
  if (zip.length > limits.maxZipBytes) {
    throw new SolutionPackageError(
      'TooLarge',
      `The solution zip is ${zip.length} bytes, over the limit of ${limits.maxZipBytes}.`,
    );
  }
  const directory = readCentralDirectory(zip);
  if (directory.entries > limits.maxEntries) {
    throw new SolutionPackageError(
      'ZipBomb',
      `The solution zip has ${directory.entries} entries, over the limit of ${limits.maxEntries}.`,
    );
  }
  if (
    directory.uncompressed > limits.maxUncompressedBytes ||
    directory.uncompressed > Math.max(1, zip.length) * limits.maxRatio
  ) {
    throw new SolutionPackageError(
      'ZipBomb',
      `The solution zip expands to ${directory.uncompressed} bytes from ${zip.length} (limits: ${limits.maxUncompressedBytes} bytes, ratio ${limits.maxRatio}).`,
    );
  }
  return directory;
}
