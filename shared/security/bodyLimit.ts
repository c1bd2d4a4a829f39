/**
 * Size limits on request bodies enforced while the body streams in: a body is never read past its limit, so
 * memory stays bounded by what the reader keeps, not by what the caller sends. The caller's `tooLarge` builds
 * the error (a PayloadTooLargeError naming the setting), thrown as soon as one byte more than `maxBytes` arrives.
 */

/** The body as it arrives: a whole buffer (tests, small callers) or pieces (an HTTP stream). */
export type RequestBody = Uint8Array | AsyncIterable<Uint8Array>;

/** Passes the pieces through, throwing `tooLarge(bytesSeen)` once more than `maxBytes` have arrived. */
export async function* limitBytes(
  body: RequestBody,
  maxBytes: number,
  tooLarge: (bytesSeen: number) => Error,
): AsyncGenerator<Uint8Array> {
  const pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = body instanceof Uint8Array ? [body] : body;
  let seen = 0;
  for await (const piece of pieces) {
    seen += piece.length;
    // Stopping here leaves the rest unread: the caller answers 413 without taking it in.
    if (seen > maxBytes) throw tooLarge(seen);
    if (piece.length > 0) yield piece;
  }
}

/** Reads the whole body into one buffer, refusing it (without reading on) once it passes `maxBytes`. */
export async function readBounded(
  body: RequestBody,
  maxBytes: number,
  tooLarge: (bytesSeen: number) => Error,
): Promise<Buffer> {
  if (body instanceof Uint8Array) {
    if (body.length > maxBytes) throw tooLarge(body.length);
    return Buffer.from(body.buffer, body.byteOffset, body.length);
  }
  const pieces: Uint8Array[] = [];
  for await (const piece of limitBytes(body, maxBytes, tooLarge)) pieces.push(piece);
  return Buffer.concat(pieces);
}
