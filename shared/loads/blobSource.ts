/**
 * `BlobSource`: what the load engine needs from Blob Storage: stream a dropped file (whole or a byte range,
 * pinned to the ETag the load started with), read a folder's `_profile.json`, move a finished file to
 * `processed/` or `failed/` (copy + delete, idempotent), and write result files.
 */
import type { BlobServiceClient } from '@azure/storage-blob';
import { Readable } from 'node:stream';
import { isRestErrorWithStatus, PreconditionFailedError } from '../errors';

export interface BlobFile {
  container: string;
  name: string;
  etag: string;
  contentLength: number;
  contentType?: string;
  metadata: Record<string, string>;
}

/** The source blob was replaced or deleted after its load was accepted (reads are pinned to its ETag). */
export class BlobChangedError extends PreconditionFailedError {
  override readonly name = 'BlobChangedError';
  constructor(message: string) {
    super('BlobChanged', message);
  }
}

export interface BlobSource {
  /** Properties, or undefined when the blob is gone. */
  properties(container: string, name: string): Promise<BlobFile | undefined>;
  /** The bytes [start, end) (end undefined: to the end), failing with BlobChangedError when the ETag changed. */
  read(
    file: { container: string; name: string; etag: string },
    range?: { start: number; end?: number },
    abortSignal?: AbortSignal,
  ): AsyncIterable<Buffer>;
  /** Text of a small blob, or undefined when absent. */
  readText(container: string, name: string): Promise<string | undefined>;
  /** Copies to `to` (same container) then deletes the source; a re-run after a crash finds the copy and only deletes. */
  move(container: string, from: string, to: string): Promise<void>;
  writeText(container: string, name: string, text: string, contentType: string): Promise<void>;
  /** Streams text pieces into a block blob (memory stays bounded by the SDK's buffers). */
  writeStream(container: string, name: string, pieces: AsyncIterable<string>, contentType: string): Promise<void>;
  upload(
    container: string,
    name: string,
    body: Buffer,
    options: { contentType?: string; metadata?: Record<string, string> },
  ): Promise<string>;
  url(container: string, name: string): string;
}

export function createBlobSource(blobService: BlobServiceClient): BlobSource {
  const blob = (container: string, name: string) => blobService.getContainerClient(container).getBlockBlobClient(name);

  return {
    async properties(container, name) {
      try {
        const p = await blob(container, name).getProperties();
        return {
          container,
          name,
          etag: p.etag!,
          contentLength: p.contentLength ?? 0,
          ...(p.contentType ? { contentType: p.contentType } : {}),
          metadata: p.metadata ?? {},
        };
      } catch (error) {
        if (isRestErrorWithStatus(error, 404)) return undefined;
        throw error;
      }
    },

    async *read(file, range, abortSignal) {
      const start = range?.start ?? 0;
      const count = range?.end !== undefined ? range.end - start : undefined;
      if (count === 0) return;
      let response;
      try {
        response = await blob(file.container, file.name).download(start, count, {
          conditions: { ifMatch: file.etag },
          ...(abortSignal ? { abortSignal } : {}),
          maxRetryRequests: 5,
        });
      } catch (error) {
        if (isRestErrorWithStatus(error, 412, 404)) {
          const what = isRestErrorWithStatus(error, 404) ? 'deleted' : 'replaced';
          throw new BlobChangedError(`${file.container}/${file.name} was ${what} while it was being loaded`);
        }
        throw error;
      }
      for await (const piece of response.readableStreamBody as NodeJS.ReadableStream)
        yield Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
    },

    async readText(container, name) {
      try {
        return (await blob(container, name).downloadToBuffer()).toString('utf8');
      } catch (error) {
        if (isRestErrorWithStatus(error, 404)) return undefined;
        throw error;
      }
    },

    async move(container, from, to) {
      const source = blob(container, from);
      const target = blob(container, to);
      const sourceExists = await source.exists();
      if (!sourceExists) return; // moved already (a re-run after a crash)
      const poller = await target.beginCopyFromURL(source.url);
      await poller.pollUntilDone();
      await source.deleteIfExists({ deleteSnapshots: 'include' });
    },

    async writeText(container, name, text, contentType) {
      await blob(container, name).upload(text, Buffer.byteLength(text), {
        blobHTTPHeaders: { blobContentType: contentType },
      });
    },

    async writeStream(container, name, pieces, contentType) {
      const stream = Readable.from(
        (async function* () {
          for await (const piece of pieces) yield Buffer.from(piece, 'utf8');
        })(),
      );
      await blob(container, name).uploadStream(stream, 4 * 1024 * 1024, 4, {
        blobHTTPHeaders: { blobContentType: contentType },
      });
    },

    async upload(container, name, body, options) {
      const response = await blob(container, name).uploadData(body, {
        ...(options.contentType ? { blobHTTPHeaders: { blobContentType: options.contentType } } : {}),
        ...(options.metadata ? { metadata: options.metadata } : {}),
      });
      return response.etag!;
    },

    url: (container, name) => blob(container, name).url,
  };
}
