/**
 * Size limits on request bodies enforced while the body streams in: a body is never read past its limit, so
 * memory stays bounded by what the reader keeps, not by what the caller sends. The caller's `tooLarge` builds
 * the error (a PayloadTooLargeError naming the setting), thrown as soon as one byte more than `maxBytes` arrives.
 */

/** The body as it arrives: a whole buffer (tests, small callers) or pieces (an HTTP stream). */
export type RequestBody = Uint8Array | AsyncIterable<Uint8Array>;

/**
 * Passes the pieces through, throwing `tooLarge(bytesSeen)` once more than `maxBytes` have arrived. Nothing past
 * the limit is passed on; the rest of the request is read and dropped in the background (as Node's and Kestrel's
 * servers do with an unread body) rather than cancelled: closing a connection with unread bytes resets it, and
 * the caller could lose the 413 answer to the reset. The caller stops sending when it reads the answer.
 */
export async function* limitBytes(
  body: RequestBody,
  maxBytes: number,
  tooLarge: (bytesSeen: number) => Error,
): AsyncGenerator<Uint8Array> {
  if (body instanceof Uint8Array) {
    if (body.length > maxBytes) throw tooLarge(body.length);
    if (body.length > 0) yield body;
    return;
  }
  // Iterated by hand: `for await` would call the source's return() (cancel) on the way out.
  const pieces = body[Symbol.asyncIterator]();
  let seen = 0;
  for (let next = await pieces.next(); next.done !== true; next = await pieces.next()) {
    seen += next.value.length;
    if (seen > maxBytes) {
      void dropRest(pieces);
      throw tooLarge(seen);
    }
    if (next.value.length > 0) yield next.value;
  }
}

/** Reads what is left and keeps none of it; a connection that fails meanwhile is the caller's loss, not ours. */
async function dropRest(pieces: AsyncIterator<Uint8Array>): Promise<void> {
  try {
    for (let next = await pieces.next(); next.done !== true; next = await pieces.next());
  } catch {
    // the caller went away: nothing to drop any more
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
