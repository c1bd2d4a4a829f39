/**
 * `BlobSource`: what the load engine needs from Blob Storage: stream a dropped file (whole or a byte range,
 * pinned to the ETag the load started with), read a folder's `_profile.json`, move a finished file to
 * `processed/` or `failed/` (copy + delete, idempotent), write result files, and take an HTTP upload as it streams.
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
  /**
   * Streams `body` into a block blob as staged (uncommitted) blocks, calls `beforeCommit` with the byte count,
   * then commits. Until the commit nothing is visible (no blob, no blob trigger): a body that fails part-way
   * (over a limit, a dropped connection) or a `beforeCommit` that throws leaves only uncommitted blocks, which
   * the service discards. Memory holds at most a few blocks, whatever the body's size.
   */
  uploadStream(
    container: string,
    name: string,
    body: AsyncIterable<Uint8Array>,
    options: UploadStreamOptions,
  ): Promise<{ etag: string; bytes: number }>;
  url(container: string, name: string): string;
}

export interface UploadStreamOptions {
  contentType?: string;
  metadata?: Record<string, string>;
  /** Last check before the blob appears (e.g. record the load first); throwing abandons the upload. */
  beforeCommit?: (bytes: number) => Promise<void>;
  abortSignal?: AbortSignal;
}

/** Staged block size and how many stage at once: memory per upload is at most their product (16 MiB). */
const blockBytes = 4 * 1024 * 1024;
const blocksInFlight = 4;

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
      await blob(container, name).uploadStream(stream, blockBytes, blocksInFlight, {
        blobHTTPHeaders: { blobContentType: contentType },
      });
    },

    // Staged by hand rather than with the SDK's uploadStream (used by writeStream above), which commits as soon as
    // the body ends: an upload must run `beforeCommit` (the load is recorded) between the last block and the commit.
    async uploadStream(container, name, body, options) {
      const client = blob(container, name);
      const blockIds: string[] = [];
      const pending = new Set<Promise<void>>();
      let failure: { error: unknown } | undefined;
      const stage = (block: Buffer) => {
        // Block ids must all have the same length within a blob.
        const id = Buffer.from(String(blockIds.length).padStart(8, '0')).toString('base64');
        blockIds.push(id);
        const staging: Promise<void> = client
          .stageBlock(id, block, block.length, options.abortSignal ? { abortSignal: options.abortSignal } : {})
          .then(
            () => undefined,
            (error: unknown) => {
              failure ??= { error };
            },
          )
          .finally(() => pending.delete(staging));
        pending.add(staging);
      };
      let bytes = 0;
      try {
        let held: Buffer[] = [];
        let heldBytes = 0;
        for await (const piece of body) {
          bytes += piece.length;
          let rest = Buffer.from(piece.buffer, piece.byteOffset, piece.length);
          while (heldBytes + rest.length >= blockBytes) {
            const take = blockBytes - heldBytes;
            held.push(rest.subarray(0, take));
            rest = rest.subarray(take);
            stage(Buffer.concat(held));
            held = [];
            heldBytes = 0;
            while (pending.size >= blocksInFlight) await Promise.race(pending);
            if (failure) throw failure.error;
          }
          if (rest.length > 0) {
            held.push(rest);
            heldBytes += rest.length;
          }
        }
        if (heldBytes > 0) stage(Buffer.concat(held));
      } finally {
        await Promise.all(pending);
      }
      if (failure) throw failure.error;
      await options.beforeCommit?.(bytes);
      const committed = await client.commitBlockList(blockIds, {
        ...(options.contentType ? { blobHTTPHeaders: { blobContentType: options.contentType } } : {}),
        ...(options.metadata ? { metadata: options.metadata } : {}),
        ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      });
      return { etag: committed.etag!, bytes };
    },

    url: (container, name) => blob(container, name).url,
  };
}
