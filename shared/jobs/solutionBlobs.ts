/**
 * The job engine's blob storage: reads solution zips and settings files (refusing oversized blobs before
 * downloading them), the metadata and sidecar options of a dropped zip, and stores uploaded zips.
 */
import { isRestError } from '@azure/core-rest-pipeline';
import type { BlobServiceClient } from '@azure/storage-blob';
import { NotFoundError } from '../errors';
import type { BlobReference } from './asyncOperationMessage';
import { SolutionPackageError } from './solutionPackage';

export interface BlobReader {
  read(ref: BlobReference, options?: { maxBytes?: number; abortSignal?: AbortSignal }): Promise<Uint8Array>;
}

/** The solutions container (SOLUTIONS_CONTAINER) as the job functions use it. */
export interface SolutionBlobs extends BlobReader {
  /** Stores a zip uploaded through POST /api/imports. */
  upload(name: string, bytes: Uint8Array): Promise<void>;
  /** The blob's metadata (a dropped zip's options). */
  metadata(name: string): Promise<Record<string, string>>;
  /** The blob's bytes, or undefined when there is no such blob; over `maxBytes` a SolutionPackageError. */
  readIfExists(name: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /** The blob's bytes with its ETag and metadata (a dropped release), or undefined when there is none. */
  readWithProperties(
    name: string,
    maxBytes?: number,
  ): Promise<{ bytes: Uint8Array; etag: string; metadata: Record<string, string> } | undefined>;
}

export class BlobNotFoundError extends NotFoundError {
  override readonly name = 'BlobNotFoundError';
  constructor(message: string) {
    super('BlobNotFound', message);
  }
}

export function createSolutionBlobs(
  blobService: BlobServiceClient,
  container: string,
  defaultMaxBytes = 200 * 1024 * 1024,
): SolutionBlobs {
  const read: BlobReader['read'] = async (ref, options = {}) => {
    const blob = blobService.getContainerClient(ref.container).getBlobClient(ref.name);
    const maxBytes = options.maxBytes ?? defaultMaxBytes;
    let size: number;
    try {
      size = (await blob.getProperties({ abortSignal: options.abortSignal })).contentLength ?? 0;
    } catch (error) {
      if (isRestError(error) && error.statusCode === 404)
        throw new BlobNotFoundError(`Blob ${ref.container}/${ref.name} does not exist.`);
      throw error;
    }
    if (size > maxBytes)
      throw new SolutionPackageError(
        'TooLarge',
        `Blob ${ref.container}/${ref.name} is ${size} bytes, over the limit of ${maxBytes}.`,
      );
    return new Uint8Array(await blob.downloadToBuffer(0, undefined, { abortSignal: options.abortSignal }));
  };
  const blobClient = (name: string) => blobService.getContainerClient(container).getBlockBlobClient(name);
  return {
    read,
    async upload(name, bytes) {
      await blobClient(name).uploadData(bytes, { blobHTTPHeaders: { blobContentType: 'application/zip' } });
    },
    async metadata(name) {
      return (await blobClient(name).getProperties()).metadata ?? {};
    },
    async readWithProperties(name, maxBytes = defaultMaxBytes) {
      const blob = blobClient(name);
      let properties;
      try {
        properties = await blob.getProperties();
      } catch (error) {
        if (isRestError(error) && error.statusCode === 404) return undefined;
        throw error;
      }
      const size = properties.contentLength ?? 0;
      if (size > maxBytes)
        throw new SolutionPackageError(
          'TooLarge',
          `Blob ${container}/${name} is ${size} bytes, over the limit of ${maxBytes}.`,
        );
      // Pinned to the ETag read, so the bytes are the version the id is derived from.
      const bytes = await blob.downloadToBuffer(0, undefined, { conditions: { ifMatch: properties.etag } });
      return { bytes: new Uint8Array(bytes), etag: properties.etag ?? '', metadata: properties.metadata ?? {} };
    },
    async readIfExists(name, maxBytes) {
      try {
        return await read({ container, name }, { maxBytes });
      } catch (error) {
        if (error instanceof BlobNotFoundError) return undefined;
        throw error;
      }
    },
  };
}
