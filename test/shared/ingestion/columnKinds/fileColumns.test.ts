import { checkSize, convertFileCell, missingBlob, parseBlobPath } from '../../../../shared/ingestion/columnKinds';
import { file, image } from './fixture';

const account = 'https://contosoload.blob.core.windows.net';
const azurite = 'http://127.0.0.1:10000/devstoreaccount1';

test('reads a blob path in the load account: URL on the account, or container/path', () => {
  expect(parseBlobPath('incoming/files/a b.pdf', account)).toEqual({
    container: 'incoming',
    blobName: 'files/a b.pdf',
  });
  expect(parseBlobPath(`${account}/incoming/files/a%20b.pdf?sv=1`, account)).toEqual({
    container: 'incoming',
    blobName: 'files/a b.pdf',
  });
  expect(parseBlobPath(`${azurite}/incoming/x.txt`, azurite)).toEqual({ container: 'incoming', blobName: 'x.txt' });
});

test('refuses a path outside the account or malformed', () => {
  expect(parseBlobPath('https://evil.blob.core.windows.net/incoming/x', account)).toBe(
    `'https://evil.blob.core.windows.net/incoming/x' is outside the load's storage account (${account})`,
  );
  expect(parseBlobPath(`${account}evil/incoming/x`, account)).toContain('outside');
  expect(parseBlobPath('incoming/../secrets/x', account)).toContain("'..'");
  expect(parseBlobPath('x.pdf', account)).toContain("is not '<container>/<blob path>'");
  expect(parseBlobPath('Incoming/x.pdf', account)).toContain('is not a container name');
  expect(parseBlobPath('incoming\\x.pdf', account)).toContain("use '/'");
});

test('file cells are blob paths; the row fault names row, column and value', () => {
  expect(convertFileCell(file, 'incoming/a.pdf', 1, 'Doc', { accountUrl: account })).toEqual({
    ok: true,
    value: { kind: 'blob', blob: { container: 'incoming', blobName: 'a.pdf' } },
  });
  expect(convertFileCell(file, '', 1, 'Doc', { accountUrl: account })).toEqual({ ok: true, value: null });
  const outside = convertFileCell(file, 'https://x.example/a/b', 4, 'Doc', { accountUrl: account });
  expect(!outside.ok && outside.fault).toMatchObject({ rowNumber: 4, column: 'Doc', value: 'https://x.example/a/b' });
});

test('image cells take a data: URL or base64, and are size-checked; or a blob path', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
  const dataUrl = `data:image/png;base64,${png.toString('base64')}`;
  const r = convertFileCell(image, dataUrl, 1, 'Logo', { accountUrl: account });
  expect(r.ok && r.value).toEqual({ kind: 'bytes', data: png, mimeType: 'image/png' });
  const bare = convertFileCell(image, png.toString('base64'), 1, 'Logo', { accountUrl: account, images: 'base64' });
  expect(bare.ok && bare.value && bare.value.kind).toBe('bytes');
  expect(convertFileCell(image, 'images/logo.png', 1, 'Logo', { accountUrl: account })).toMatchObject({
    ok: true,
    value: { kind: 'blob' },
  });
  const big = convertFileCell(image, `data:image/png;base64,${Buffer.alloc(2048).toString('base64')}`, 3, 'Logo', {
    accountUrl: account,
  });
  expect(!big.ok && big.fault.message).toBe(
    "row 3, column 'Logo': 2 KB is over the 1 KB new_thumbnail takes (MaxSizeInKB 1)",
  );
  const notBase64 = convertFileCell(image, 'not base64!', 3, 'Logo', { accountUrl: account, images: 'base64' });
  expect(!notBase64.ok && notBase64.fault.message).toBe("row 3, column 'Logo': 'not base64!' is not base64");
});

test('checkSize and missingBlob name the row, column and value', () => {
  expect(checkSize(file, 1024, 1, 'Doc', 'a/b')).toBeUndefined();
  expect(checkSize(file, 1025, 2, 'Doc', 'incoming/big.pdf')?.message).toBe(
    "row 2, column 'Doc': 1.0 KB is over the 1 KB new_file takes (MaxSizeInKB 1)",
  );
  expect(missingBlob(5, 'Doc', 'incoming/x.pdf', { container: 'incoming', blobName: 'x.pdf' }).message).toBe(
    "row 5, column 'Doc': no blob 'x.pdf' in container 'incoming'",
  );
});
