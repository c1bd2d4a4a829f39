/**
 * Checks a solution zip is safe to open before anything is inflated: size, entry count and total uncompressed size
 * against the compressed size (zip-bomb ratio), all from the central directory. release/solutionContents.ts reads it.
 */
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

/** Reads the end-of-central-directory record and sums the entries' uncompressed sizes. */
export function readCentralDirectory(zip: Uint8Array): CentralDirectory {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  // The EOCD record is 22 bytes plus a comment of up to 65535 bytes at the end.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0)
    throw new SolutionPackageError('NotAZip', 'The file is not a zip archive (no end of central directory).');
  const entries = view.getUint16(eocd + 10, true);
  let offset = view.getUint32(eocd + 16, true);
  if (entries === 0xffff || offset === 0xffffffff)
    throw new SolutionPackageError('NotAZip', 'ZIP64 archives are not accepted for solutions.');
  let uncompressed = 0;
  for (let n = 0; n < entries; n++) {
    if (offset + 46 > zip.length || view.getUint32(offset, true) !== 0x02014b50) {
      throw new SolutionPackageError('NotAZip', 'The zip central directory is damaged.');
    }
    uncompressed += view.getUint32(offset + 24, true);
    offset +=
      46 + view.getUint16(offset + 28, true) + view.getUint16(offset + 30, true) + view.getUint16(offset + 32, true);
  }
  return { entries, uncompressed };
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
