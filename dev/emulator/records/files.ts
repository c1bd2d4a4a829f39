/**
 * File and image column data as "Use file column data" shows it: InitializeFileBlocksUpload → UploadBlock (base64
 * blocks) → CommitFileBlocksUpload (BlockList order, MaxSizeInKB checked: 0x80044a02), InitializeFileBlocksDownload →
 * DownloadBlock, DeleteFile, and `GET {set}({id})/{column}/$value` (with `Range`). A committed file sets the column to
 * the file id and `{column}_name` to its name; an image column takes the image itself (base64, as on create).
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../types';
import { parseJsonBody, type RecordContext } from './context';
import { guidPattern } from './entityReference';
import { faults } from './faults';
import type { Attribute, Table } from './schema';
import type { Row } from './store';
import { dataverseDateTime } from './values';

interface StoredFile {
  table: string;
  id: string;
  column: string;
  name: string;
  mimeType: string;
  data: Buffer;
}
interface Upload {
  table: string;
  id: string;
  column: string;
  blocks: Map<string, Buffer>;
}

export type FileStore = ReturnType<typeof createFileStore>;

export function createFileStore() {
  const files = new Map<string, StoredFile>();
  const uploads = new Map<string, Upload>();
  const downloads = new Map<string, string>();
  return {
    files,
    uploads,
    downloads,
    clear(): void {
      files.clear();
      uploads.clear();
      downloads.clear();
    },
  };
}

const messages = [
  'InitializeFileBlocksUpload',
  'UploadBlock',
  'CommitFileBlocksUpload',
  'InitializeFileBlocksDownload',
  'DownloadBlock',
  'DeleteFile',
] as const;
type FileMessage = (typeof messages)[number];
export const isFileMessage = (name: string): name is FileMessage => (messages as readonly string[]).includes(name);

const base64 = /^[A-Za-z0-9+/]*={0,2}$/;
const decode = (value: unknown, parameter: string): Buffer => {
  if (typeof value !== 'string' || value.length % 4 !== 0 || !base64.test(value))
    throw faults.invalidArgument(`The parameter '${parameter}' must be a base64 string.`);
  return Buffer.from(value, 'base64');
};
const text = (body: Record<string, unknown>, name: string): string => {
  const v = body[name];
  if (typeof v !== 'string' || v === '') throw faults.invalidArgument(`The parameter '${name}' is missing.`);
  return v;
};

/** `Target: { "@odata.type": "Microsoft.Dynamics.CRM.account", accountid }` + FileAttributeName → the row and column. */
function target(ctx: RecordContext, body: Record<string, unknown>): { table: Table; row: Row; column: Attribute } {
  const t = body.Target as Record<string, unknown> | undefined;
  const type =
    typeof t?.['@odata.type'] === 'string' ? t['@odata.type'].replace(/^#?Microsoft\.Dynamics\.CRM\./, '') : '';
  const table = ctx.schema.tables.get(type);
  if (!t || !table || table.isIntersect)
    throw faults.invalidArgument(`The parameter 'Target' needs "@odata.type": "Microsoft.Dynamics.CRM.<table>".`);
  const id = t[table.primaryIdAttribute];
  if (typeof id !== 'string' || !guidPattern.test(id))
    throw faults.invalidArgument(`The parameter 'Target' needs its '${table.primaryIdAttribute}'.`);
  const row = ctx.store.get(table.logicalName, id.toLowerCase());
  if (!row) throw faults.recordNotFound(table.logicalName, id.toLowerCase());
  const name = text(body, 'FileAttributeName');
  const column = table.attributes.get(name);
  if (!column || (column.type !== 'File' && column.type !== 'Image'))
    throw faults.invalidArgument(`'${name}' is not a file or image column of '${table.logicalName}'.`);
  return { table, row, column };
}

const action = (ctx: RecordContext, name: string, body: Record<string, unknown>): EmulatorResponse => ({
  status: 200,
  body: { '@odata.context': `${ctx.webApiBase}$metadata#Microsoft.Dynamics.CRM.${name}`, ...body },
});

function setColumn(ctx: RecordContext, table: Table, row: Row, changes: Row): void {
  const next: Row = { ...row, ...changes };
  next.modifiedon = dataverseDateTime(ctx.now());
  next.versionnumber = ctx.store.nextRowVersion();
  ctx.store.put(table.logicalName, row[table.primaryIdAttribute] as string, next);
}

function storedFile(ctx: RecordContext, table: Table, row: Row, column: Attribute): StoredFile | undefined {
  const value = row[column.logicalName];
  if (typeof value !== 'string') return undefined;
  if (column.type === 'Image') {
    const id = row[table.primaryIdAttribute] as string;
    return {
      table: table.logicalName,
      id,
      column: column.logicalName,
      name: `${id}.png`,
      mimeType: 'image/png',
      data: Buffer.from(value, 'base64'),
    };
  }
  return ctx.files.files.get(value);
}

function commit(ctx: RecordContext, body: Record<string, unknown>): EmulatorResponse {
  const token = text(body, 'FileContinuationToken');
  const upload = ctx.files.uploads.get(token);
  if (!upload) throw faults.invalidFileToken();
  const fileName = text(body, 'FileName');
  const mimeType = text(body, 'MimeType');
  const list = body.BlockList;
  if (!Array.isArray(list) || list.length === 0) throw faults.invalidArgument(`The parameter 'BlockList' is missing.`);
  const parts = list.map((blockId) => {
    const block = typeof blockId === 'string' ? upload.blocks.get(blockId) : undefined;
    if (!block) throw faults.invalidArgument(`The block '${String(blockId)}' of BlockList was not uploaded.`);
    return block;
  });
  const data = Buffer.concat(parts);
  const table = ctx.schema.tables.get(upload.table)!;
  const column = table.attributes.get(upload.column)!;
  const row = ctx.store.get(upload.table, upload.id);
  if (!row) throw faults.recordNotFound(upload.table, upload.id);
  if (column.maxSizeInKB !== undefined && data.length > column.maxSizeInKB * 1024) throw faults.fileTooBig();
  ctx.files.uploads.delete(token);
  const fileId = ctx.newId();
  if (column.type === 'Image') {
    setColumn(ctx, table, row, { [column.logicalName]: data.toString('base64') });
  } else {
    const previous = row[column.logicalName];
    if (typeof previous === 'string') ctx.files.files.delete(previous);
    ctx.files.files.set(fileId, {
      table: upload.table,
      id: upload.id,
      column: upload.column,
      name: fileName,
      mimeType,
      data,
    });
    setColumn(ctx, table, row, { [column.logicalName]: fileId, [`${column.logicalName}_name`]: fileName });
  }
  return action(ctx, 'CommitFileBlocksUploadResponse', { FileId: fileId, FileSizeInBytes: data.length });
}

export function fileMessage(ctx: RecordContext, name: FileMessage, req: EmulatorRequest): EmulatorResponse {
  if (req.method !== 'POST') throw faults.methodNotAllowed(req.method);
  const body = parseJsonBody(req.body, name);
  switch (name) {
    case 'InitializeFileBlocksUpload': {
      const { table, row, column } = target(ctx, body);
      text(body, 'FileName');
      const token = randomUUID();
      ctx.files.uploads.set(token, {
        table: table.logicalName,
        id: row[table.primaryIdAttribute] as string,
        column: column.logicalName,
        blocks: new Map(),
      });
      return action(ctx, 'InitializeFileBlocksUploadResponse', { FileContinuationToken: token });
    }
    case 'UploadBlock': {
      const upload = ctx.files.uploads.get(text(body, 'FileContinuationToken'));
      if (!upload) throw faults.invalidFileToken();
      const blockId = text(body, 'BlockId');
      decode(blockId, 'BlockId');
      upload.blocks.set(blockId, decode(body.BlockData, 'BlockData'));
      return { status: 204 };
    }
    case 'CommitFileBlocksUpload':
      return commit(ctx, body);
    case 'InitializeFileBlocksDownload': {
      const { table, row, column } = target(ctx, body);
      const file = storedFile(ctx, table, row, column);
      if (!file) throw faults.noFile(column.logicalName, row[table.primaryIdAttribute] as string);
      const token = randomUUID();
      ctx.files.downloads.set(token, `${table.logicalName}|${file.id}|${column.logicalName}`);
      return action(ctx, 'InitializeFileBlocksDownloadResponse', {
        FileSizeInBytes: file.data.length,
        FileName: file.name,
        FileContinuationToken: token,
        IsChunkingSupported: true,
      });
    }
    case 'DownloadBlock': {
      const ref = ctx.files.downloads.get(text(body, 'FileContinuationToken'));
      if (!ref) throw faults.invalidFileToken();
      const [tableName, id, columnName] = ref.split('|') as [string, string, string];
      const table = ctx.schema.tables.get(tableName)!;
      const row = ctx.store.get(tableName, id);
      const file = row && storedFile(ctx, table, row, table.attributes.get(columnName)!);
      if (!file) throw faults.noFile(columnName, id);
      const offset = Number(body.Offset ?? 0);
      const length = Number(body.BlockLength);
      if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(length) || length <= 0)
        throw faults.invalidArgument('Offset and BlockLength must be non-negative whole numbers.');
      return action(ctx, 'DownloadBlockResponse', {
        Data: file.data.subarray(offset, offset + length).toString('base64'),
      });
    }
    case 'DeleteFile': {
      const fileId = text(body, 'FileId').toLowerCase();
      const file = ctx.files.files.get(fileId);
      if (!file) throw faults.recordNotFound('fileattachment', fileId);
      const table = ctx.schema.tables.get(file.table)!;
      const row = ctx.store.get(file.table, file.id);
      ctx.files.files.delete(fileId);
      if (row) setColumn(ctx, table, row, { [file.column]: null, [`${file.column}_name`]: null });
      return { status: 204 };
    }
  }
}

/** `GET {set}({id})/{column}/$value` (whole file, or `Range: bytes=a-b` → 206) and `DELETE {set}({id})/{column}`. */
export function fileColumnRequest(
  ctx: RecordContext,
  table: Table,
  row: Row,
  column: Attribute,
  req: EmulatorRequest,
): EmulatorResponse {
  const id = row[table.primaryIdAttribute] as string;
  if (req.method === 'DELETE') {
    const value = row[column.logicalName];
    if (column.type === 'File' && typeof value === 'string') ctx.files.files.delete(value);
    setColumn(
      ctx,
      table,
      row,
      column.type === 'File'
        ? { [column.logicalName]: null, [`${column.logicalName}_name`]: null }
        : { [column.logicalName]: null },
    );
    return { status: 204 };
  }
  if (req.method !== 'GET') throw faults.methodNotAllowed(req.method);
  const file = storedFile(ctx, table, row, column);
  if (!file) throw faults.noFile(column.logicalName, id);
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'x-ms-file-size': String(file.data.length),
    'x-ms-file-name': file.name,
    mimetype: file.mimeType,
    'Access-Control-Expose-Headers': 'x-ms-file-size; x-ms-file-name; mimetype',
  };
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers['range'] ?? '');
  if (!range) return { status: 200, headers, body: file.data };
  const start = Number(range[1]);
  const end = range[2] ? Math.min(Number(range[2]), file.data.length - 1) : file.data.length - 1;
  headers['x-ms-chunk-size'] = String(4 * 1024 * 1024);
  headers['Access-Control-Expose-Headers'] = 'x-ms-file-size; x-ms-file-name; x-ms-chunk-size; mimetype';
  return { status: 206, headers, body: file.data.subarray(start, end + 1) };
}
