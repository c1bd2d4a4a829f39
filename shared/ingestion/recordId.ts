import { createHash, hash } from 'node:crypto';

/**
 * Deterministic primary ids for creates: the same file and row always give the same id, so a re-delivered
 * blob or a retried chunk re-sends the same id and the duplicate-key fault on the retry means "already done".
 * A UUID version 5 (RFC 9562: SHA-1 of namespace + name) under this app's own namespace.
 */
// Every byte is below 0x80, so the namespace is the same bytes as a UTF-8 string: rows hash one string.
const namespace = Buffer.from('6f1f3e0c2a5b4f7d1c2e1a3b5d7f1e01', 'hex');
const namespaceText = namespace.toString('latin1');

export function uuidV5(name: string, namespaceBytes: Buffer = namespace): string {
  return formatUuidV5(createHash('sha1').update(namespaceBytes).update(name, 'utf8').digest('hex'));
}

const variantDigit = ['8', '9', 'a', 'b'];

/** Formats a SHA-1 hex digest as a version 5, RFC-variant UUID. */
function formatUuidV5(digestHex: string): string {
  const variant = variantDigit[Number.parseInt(digestHex[16]!, 16) & 0x3]!;
  return `${digestHex.slice(0, 8)}-${digestHex.slice(8, 12)}-5${digestHex.slice(13, 16)}-${variant}${digestHex.slice(17, 20)}-${digestHex.slice(20, 32)}`;
}

/**
 * `fileKey` must name the file's content, not just its path: e.g. `${container}/${blobName}@${contentMD5 || etag}`
 * (a changed file dropped under the same name is a new load; the same bytes delivered twice are not).
 */
let cached: { fileKey: string; prefix: string } | undefined;

export function recordIdFor(fileKey: string, rowNumber: number): string {
  if (!Number.isInteger(rowNumber) || rowNumber < 1)
    throw new RangeError(`rowNumber must be a positive integer, got ${rowNumber}`);
  if (cached?.fileKey !== fileKey) cached = { fileKey, prefix: `${namespaceText}${fileKey}\u0000` };
  // One-shot hashing of one string to hex (crypto.hash): no Hash object or Buffer per row (~3x faster).
  return formatUuidV5(hash('sha1', cached.prefix + rowNumber));
}
