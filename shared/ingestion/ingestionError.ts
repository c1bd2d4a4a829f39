/**
 * Why a whole file can't be loaded. Thrown by the readers (while streaming) and by `planLoad`; the load
 * orchestration turns it into a failed load whose message is `message` as written here, meant for the user.
 */
import { InvalidRequestError } from '../errors';

export type IngestionErrorCode =
  | 'EmptyFile'
  | 'FileLooksBinary'
  | 'InvalidUtf8'
  | 'InvalidUtf16'
  | 'CompressedDataCorrupt'
  | 'UnsupportedFormat'
  | 'FormatMismatch'
  | 'NotAnArray'
  | 'InvalidJson'
  | 'InvalidCsv'
  | 'RecordTooLarge'
  | 'HeaderInvalid'
  | 'TooManyColumns'
  | 'ProfileInvalid'
  | 'PlanInvalid'
  | 'ChunkMismatch'
  | 'WorkbookInvalid'
  | 'SheetNotFound';

/** A problem with the file or its profile (400 when it answers an HTTP request). */
export class IngestionError extends InvalidRequestError {
  override readonly name = 'IngestionError';
  declare readonly code: IngestionErrorCode;
  declare readonly details: { byteOffset?: number; line?: number; rowNumber?: number; cause?: unknown } | undefined;

  constructor(
    code: IngestionErrorCode,
    message: string,
    details?: { byteOffset?: number; line?: number; rowNumber?: number; cause?: unknown },
  ) {
    super(code, message, details ? { details } : {});
  }
}

export function isIngestionError(error: unknown): error is IngestionError {
  return error instanceof IngestionError;
}

/** Sizes in messages: users read "1.5 MB", not 1572864. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes % 1024 === 0 ? 0 : 1)} KB`;
  const mb = bytes / (1024 * 1024);
  return `${Number.isInteger(mb) ? mb.toFixed(0) : mb.toFixed(1)} MB`;
}

/** Cell values quoted back to the user are cut so a 10 MB cell doesn't become a 10 MB message. */
export function truncateForMessage(value: string, max = 80): string {
  return value.length <= max ? value : `${value.slice(0, max)}… (${value.length} characters)`;
}
