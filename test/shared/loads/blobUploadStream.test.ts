/**
 * BlobSource.uploadStream against Azurite: a body in pieces of any size lands byte for byte across several
 * staged blocks; nothing is visible before the commit; a body refused part-way (limitBytes) or a failing
 * beforeCommit leaves no blob. limitBytes and readBounded are checked as properties.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { startAzurite, type AzuriteHandle } from '../../../dev/azurite';
import { PayloadTooLargeError } from '../../../shared/errors';
import { createBlobSource, type BlobSource } from '../../../shared/loads/blobSource';
import { limitBytes, readBounded } from '../../../shared/security/bodyLimit';

jest.setTimeout(60_000);

const container = 'uploads';
let azurite: AzuriteHandle;
let blobs: BlobSource;
let service: BlobServiceClient;

beforeAll(async () => {
  azurite = await startAzurite();
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  await service.getContainerClient(container).createIfNotExists();
  blobs = createBlobSource(service);
});
afterAll(() => azurite?.stop());

const mib = 1024 * 1024;
const tooLarge = (seen: number) => new PayloadTooLargeError('FileTooLarge', `over the limit (${seen} seen)`);

/** Deterministic bytes of a piece (so a misplaced or dropped piece changes the content). */
const pieceOf = (index: number, size: number) => Buffer.alloc(size, (index * 31 + 7) % 251);

/** The pieces as a stream, counting how many were pulled. */
function streamOf(pieces: Buffer[]): AsyncIterable<Uint8Array> & { pulled: () => number } {
  let pulled = 0;
  return {
    pulled: () => pulled,
    async *[Symbol.asyncIterator]() {
      for (const piece of pieces) {
        pulled++;
        await Promise.resolve();
        yield piece;
      }
    },
  };
}

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('pieces of odd sizes across several 4 MiB blocks arrive byte for byte, committed after beforeCommit', async () => {
  // 1 MiB + 333 pieces, one 5 MiB piece (split across a block boundary) and a tail: 11 MiB and change.
  const pieces = [...Array.from({ length: 5 }, (_, i) => pieceOf(i, mib + 333)), pieceOf(5, 5 * mib), pieceOf(6, 17)];
  const expected = Buffer.concat(pieces);
  const seenAtCommit: { bytes: number; visible: boolean }[] = [];
  const result = await blobs.uploadStream(container, 'odd/pieces.csv', streamOf(pieces), {
    contentType: 'text/csv',
    metadata: { loadid: 'abc' },
    beforeCommit: async (bytes) => {
      seenAtCommit.push({ bytes, visible: (await blobs.properties(container, 'odd/pieces.csv')) !== undefined });
    },
  });
  expect(result.bytes).toBe(expected.length);
  expect(seenAtCommit).toEqual([{ bytes: expected.length, visible: false }]);
  const blob = service.getContainerClient(container).getBlockBlobClient('odd/pieces.csv');
  const stored = await blob.downloadToBuffer();
  expect(sha(stored)).toBe(sha(expected));
  const properties = await blobs.properties(container, 'odd/pieces.csv');
  expect(properties).toMatchObject({ contentType: 'text/csv', metadata: { loadid: 'abc' }, etag: result.etag });
  const blocks = await blob.getBlockList('committed');
  expect(blocks.committedBlocks!.map((b) => b.size)).toEqual([4 * mib, 4 * mib, expected.length - 8 * mib]);
});

test('a body refused part-way is not committed: no blob appears, and the rest is read and dropped', async () => {
  const pieces = Array.from({ length: 40 }, (_, i) => pieceOf(i, mib));
  const body = streamOf(pieces);
  let committed = false;
  await expect(
    blobs.uploadStream(container, 'refused/big.csv', limitBytes(body, 6 * mib, tooLarge), {
      beforeCommit: () => {
        committed = true;
        return Promise.resolve();
      },
    }),
  ).rejects.toBeInstanceOf(PayloadTooLargeError);
  expect(committed).toBe(false);
  expect(await blobs.properties(container, 'refused/big.csv')).toBeUndefined();
  // Dropped, not cancelled: the sender's connection stays readable until it has the answer.
  await waitUntil(() => body.pulled() === pieces.length);
});

test('a beforeCommit that throws (e.g. an empty body) leaves no blob', async () => {
  const refusal = new Error('refused before commit');
  await expect(
    blobs.uploadStream(container, 'refused/empty.csv', streamOf([]), {
      beforeCommit: (bytes) => Promise.reject(bytes === 0 ? refusal : new Error(`unexpected ${bytes}`)),
    }),
  ).rejects.toBe(refusal);
  expect(await blobs.properties(container, 'refused/empty.csv')).toBeUndefined();
});

describe('limitBytes / readBounded', () => {
  const piecesArb = fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 });

  test('pass the body through whole when within the limit, else throw once past it, passing on nothing past it', async () => {
    await fc.assert(
      fc.asyncProperty(piecesArb, fc.nat(700), async (raw, max) => {
        const pieces = raw.map((p) => Buffer.from(p));
        const total = pieces.reduce((n, p) => n + p.length, 0);
        const passed: Uint8Array[] = [];
        const outcome = await (async () => {
          for await (const piece of limitBytes(streamOf(pieces), max, tooLarge)) passed.push(piece);
        })().then(
          () => 'whole',
          (error: unknown) => error,
        );
        const read = await readBounded(streamOf(pieces), max, tooLarge).then(
          (bytes) => bytes,
          (error: unknown) => error,
        );
        if (total <= max) {
          expect(outcome).toBe('whole');
          expect(Buffer.concat(passed)).toEqual(Buffer.concat(pieces));
          expect(read).toEqual(Buffer.concat(pieces));
        } else {
          expect(outcome).toBeInstanceOf(PayloadTooLargeError);
          expect(read).toBeInstanceOf(PayloadTooLargeError);
          // Passed on: exactly the pieces before the first one whose running total passes the limit.
          let running = 0;
          const crossing = pieces.findIndex((p) => (running += p.length) > max);
          expect(Buffer.concat(passed)).toEqual(Buffer.concat(pieces.slice(0, crossing)));
        }
      }),
    );
  });

  test('a whole buffer is checked by its length', async () => {
    await expect(readBounded(Buffer.alloc(11), 10, tooLarge)).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(await readBounded(Buffer.from('abc'), 3, tooLarge)).toEqual(Buffer.from('abc'));
    const out: Uint8Array[] = [];
    for await (const p of limitBytes(Buffer.from('xyz'), 3, tooLarge)) out.push(p);
    expect(Buffer.concat(out).toString()).toBe('xyz');
  });
});
