import { createHash } from 'node:crypto';

/**
 * Deterministic primary ids for creates: the same file and row always give the same id, so a re-delivered
 * blob or a retried chunk re-sends the same id and the duplicate-key fault on the retry means "already done".
 * A UUID version 5 (RFC 9562: SHA-1 of namespace + name) under this app's own namespace.
 */
const namespace = Buffer.from('6f1f3e0c8a5b4f7d9c2e1a3b5d7f9e01', 'hex');

export function uuidV5(name: string, namespaceBytes: Buffer = namespace): string {
  const hash = createHash('sha1').update(namespaceBytes).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50; // version 5
  hash[8] = (hash[8]! & 0x3f) | 0x80; // RFC variant
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * `fileKey` must name the file's content, not just its path: e.g. `${container}/${blobName}@${contentMD5 || etag}`
 * (a changed file dropped under the same name is a new load; the same bytes delivered twice are not).
 */
export function recordIdFor(fileKey: string, rowNumber: number): string {
  if (!Number.isInteger(rowNumber) || rowNumber < 1) throw new RangeError(`rowNumber must be a positive integer, got ${rowNumber}`);
  return uuidV5(`${fileKey}\u0000${rowNumber}`);
}
