/**
 * File and image column cells. A file column holds a blob path in the load container's storage account: a URL on
 * that account (`https://<account>.blob.core.windows.net/<container>/<blob>`) or `<container>/<blob>`; anything on
 * another host is refused ("outside the account"), as are `.`/`..` segments and empty parts. An image column also
 * takes the image itself as base64 (`data:image/png;base64,...`, or bare base64 when `images: 'base64'`). Sizes are
 * checked against the column's MaxSizeInKB before anything is uploaded (`checkSize`); a blob that is missing is
 * reported with `missingBlob` (the wiring finds that out when it reads the blob).
 */
import { formatBytes } from '../ingestionError';
import { done, failed, kindFault, quote, type KindAttribute, type KindResult } from './types';

export interface BlobPath {
  container: string;
  blobName: string;
}

export type FileValue = { kind: 'blob'; blob: BlobPath } | { kind: 'bytes'; data: Buffer; mimeType?: string };

export interface FileCellOptions {
  /** The load's blob service URL (`https://acct.blob.core.windows.net`, or Azurite's `http://127.0.0.1:10000/devstoreaccount1`). */
  accountUrl: string;
  /** How an image cell is read: `auto` (data: URL → base64, otherwise a blob path), `base64`, or `blobPath`. */
  images?: 'auto' | 'base64' | 'blobPath';
}

const containerName = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;
const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A blob reference in the load's account, or a message saying why not. */
export function parseBlobPath(text: string, accountUrl: string): BlobPath | string {
  let path = text.trim();
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
    const base = accountUrl.replace(/\/+$/, '');
    if (!path.toLowerCase().startsWith(`${base.toLowerCase()}/`))
      return `${quote(text)} is outside the load's storage account (${base})`;
    path = path.slice(base.length + 1).replace(/[?#].*$/, '');
    try {
      path = path
        .split('/')
        .map((s) => decodeURIComponent(s))
        .join('/');
    } catch {
      return `${quote(text)} is not a valid URL path`;
    }
  }
  if (path.includes('\\')) return `${quote(text)}: use '/' in blob paths`;
  const segments = path.replace(/^\/+/, '').split('/');
  const [container, ...rest] = segments;
  if (!container || rest.length === 0) return `${quote(text)} is not '<container>/<blob path>'`;
  if (!containerName.test(container)) return `${quote(container)} is not a container name`;
  if (rest.some((s) => s === '' || s === '.' || s === '..')) return `${quote(text)} has an empty, '.' or '..' segment`;
  return { container, blobName: rest.join('/') };
}

function decodeBase64(text: string): Buffer | undefined {
  const t = text.replace(/\s+/g, '');
  return t.length > 0 && t.length % 4 === 0 && base64.test(t) ? Buffer.from(t, 'base64') : undefined;
}

/** One file or image cell → what to upload or set; empty → null. */
export function convertFileCell(
  attribute: KindAttribute,
  text: string,
  rowNumber: number,
  column: string,
  options: FileCellOptions,
): KindResult<FileValue | null> {
  const t = text.trim();
  if (t === '') return done(null);
  const bad = (message: string) => failed<FileValue | null>(kindFault(rowNumber, column, text, message));
  if (attribute.kind === 'image') {
    const mode = options.images ?? 'auto';
    const dataUrl = /^data:([\w.+-]+\/[\w.+-]+)?;base64,(.*)$/is.exec(t);
    if (mode !== 'blobPath' && dataUrl) {
      const data = decodeBase64(dataUrl[2]!);
      return data
        ? checkedBytes(attribute, data, rowNumber, column, text, dataUrl[1])
        : bad('the data: URL is not valid base64');
    }
    if (mode === 'base64') {
      const data = decodeBase64(t);
      return data ? checkedBytes(attribute, data, rowNumber, column, text) : bad(`${quote(text)} is not base64`);
    }
  } else if (attribute.kind !== 'file') return bad(`${attribute.logicalName} is not a file or image column`);
  const blob = parseBlobPath(t, options.accountUrl);
  return typeof blob === 'string' ? bad(blob) : done({ kind: 'blob', blob });
}

function checkedBytes(
  attribute: KindAttribute,
  data: Buffer,
  rowNumber: number,
  column: string,
  text: string,
  mimeType?: string,
): KindResult<FileValue | null> {
  const tooBig = checkSize(attribute, data.length, rowNumber, column, text);
  return tooBig ? failed(tooBig) : done({ kind: 'bytes', data, mimeType });
}

/** A fault when `bytes` is over the column's MaxSizeInKB (Dataverse would answer 0x80044a02 after the upload). */
export function checkSize(attribute: KindAttribute, bytes: number, rowNumber: number, column: string, text: string) {
  const max = attribute.maxSizeInKB;
  if (max === undefined || bytes <= max * 1024) return undefined;
  return kindFault(
    rowNumber,
    column,
    text,
    `${formatBytes(bytes)} is over the ${formatBytes(max * 1024)} ${attribute.logicalName} takes (MaxSizeInKB ${max})`,
  );
}

export function missingBlob(rowNumber: number, column: string, text: string, blob: BlobPath) {
  return kindFault(rowNumber, column, text, `no blob '${blob.blobName}' in container '${blob.container}'`);
}
