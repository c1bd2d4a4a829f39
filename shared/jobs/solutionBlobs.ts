/** Reads solution zips and settings files from blob storage, refusing oversized blobs before downloading them. */
import type { BlobServiceClient } from '@azure/storage-blob';
import type { BlobReference } from './asyncOperationMessage';
import { SolutionPackageError } from './solutionPackage';

export interface BlobReader {
  read(ref: BlobReference, options?: { maxBytes?: number; abortSignal?: AbortSignal }): Promise<Uint8Array>;
}

export class BlobNotFoundError extends Error {
  override readonly name = 'BlobNotFoundError';
  readonly code = 'BlobNotFound';
}

export function createBlobReader(blobService: BlobServiceClient, defaultMaxBytes = 200 * 1024 * 1024): BlobReader {
  return {
    async read(ref, options = {}) {
      const blob = blobService.getContainerClient(ref.container).getBlobClient(ref.name);
      const maxBytes = options.maxBytes ?? defaultMaxBytes;
      let size: number;
      try {
        size = (await blob.getProperties({ abortSignal: options.abortSignal })).contentLength ?? 0;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404)
          throw new BlobNotFoundError(`Blob ${ref.container}/${ref.name} does not exist.`);
        throw error;
      }
      if (size > maxBytes)
        throw new SolutionPackageError(
          'TooLarge',
          `Blob ${ref.container}/${ref.name} is ${size} bytes, over the limit of ${maxBytes}.`,
        );
      return new Uint8Array(await blob.downloadToBuffer(0, undefined, { abortSignal: options.abortSignal }));
    },
  };
}
