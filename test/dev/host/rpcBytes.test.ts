import { rpcBytes, rpcBytesShared } from '../../../dev/host/rpcData';

// The library turns `bytes` into a Buffer with Buffer.from(data.bytes) (fromRpcTypedData).
const asLibraryDoes = (data: { bytes?: unknown }) => Buffer.from(data.bytes as ArrayBuffer);

describe('rpcBytesShared', () => {
  test('a Buffer that owns its memory is handed over without a copy, with the same bytes', () => {
    const content = Buffer.alloc(64 * 1024, 7);
    content.write('hello', 0);
    const received = asLibraryDoes(rpcBytesShared(content));
    expect(received.equals(content)).toBe(true);
    content[1] = 0x41; // same memory: a write through one is seen through the other
    expect(received[1]).toBe(0x41);
  });

  test('a view on a pooled ArrayBuffer is copied (sharing would expose the whole pool)', () => {
    const small = Buffer.from('small value'); // from Node's pool
    expect(small.byteLength).toBeLessThan(small.buffer.byteLength);
    const data = rpcBytesShared(small);
    expect(data).toEqual(rpcBytes(small));
    const received = asLibraryDoes(data);
    expect(received.toString()).toBe('small value');
    small[0] = 0x53;
    expect(received[0]).toBe(0x73);
  });
});
