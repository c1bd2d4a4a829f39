/**
 * A blob named by a file or image cell → the column, with Dataverse's upload messages ("Use file column data"):
 * InitializeFileBlocksUpload → UploadBlock (4 MB blocks, streamed from the blob) → CommitFileBlocksUpload. The
 * blob's size is checked against the column's MaxSizeInKB before anything is sent; a missing blob fails the row.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import type { CallOptions, DataverseClient } from '../dataverse/index';
import { checkSize, missingBlob } from '../ingestion/columnKinds/index';
import type { FileUpload } from '../ingestion/columnKindRow';
import type { BlobSource } from './blobSource';

export interface FileUploadOptions {
  client: DataverseClient;
  callOptions: CallOptions;
  blobs?: Pick<BlobSource, 'properties' | 'read'>;
  /** The row's table. */
  table: { logicalName: string; primaryIdAttribute: string };
}

const blockBytes = 4 * 1024 * 1024;
const initializeUploadResponse = z.object({ FileContinuationToken: z.string().min(1) });

/** Uploads one blob into a file or image column; the fault's message, or undefined when done. */
export async function uploadFile(o: FileUploadOptions, id: string, rowNumber: number, u: FileUpload) {
  if (!o.blobs) return `row ${rowNumber}, column '${u.column}': no blob storage to read '${u.text}' from`;
  const properties = await o.blobs.properties(u.blob.container, u.blob.blobName);
  if (!properties) return missingBlob(rowNumber, u.column, u.text, u.blob).message;
  const tooBig = checkSize(
    { logicalName: u.attribute, kind: 'file', ...(u.maxSizeInKB !== undefined ? { maxSizeInKB: u.maxSizeInKB } : {}) },
    properties.contentLength,
    rowNumber,
    u.column,
    u.text,
  );
  if (tooBig) return tooBig.message;
  const { logicalName, primaryIdAttribute } = o.table;
  const fileName = posix.basename(u.blob.blobName);
  const fail = (what: string, error: unknown) =>
    `row ${rowNumber}, column '${u.column}': ${what} '${u.text}' failed: ${error instanceof Error ? error.message : String(error)}`;
  let token: string;
  try {
    const init = await o.client.send(
      {
        method: 'POST',
        path: 'InitializeFileBlocksUpload',
        body: {
          Target: { [primaryIdAttribute]: id, '@odata.type': `Microsoft.Dynamics.CRM.${logicalName}` },
          FileName: fileName,
          FileAttributeName: u.attribute,
        },
        retrySafe: true,
      },
      o.callOptions,
    );
    token = initializeUploadResponse.parse(init.body).FileContinuationToken;
  } catch (error) {
    return fail('starting the upload of', error);
  }
  const blockList: string[] = [];
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      // Block ids: base64 of the same-length text for every block, as the upload messages expect.
      const blockId = Buffer.from(`block-${String(blockList.length).padStart(6, '0')}`).toString('base64');
      await o.client.send(
        {
          method: 'POST',
          path: 'UploadBlock',
          body: {
            BlockId: blockId,
            BlockData: Buffer.concat(pending).toString('base64'),
            FileContinuationToken: token,
          },
          retrySafe: true,
        },
        o.callOptions,
      );
      blockList.push(blockId);
      pending = [];
      pendingBytes = 0;
    };
    for await (const piece of o.blobs.read(properties)) {
      let rest = piece;
      while (rest.length > 0) {
        const take = rest.subarray(0, blockBytes - pendingBytes);
        pending.push(take);
        pendingBytes += take.length;
        rest = rest.subarray(take.length);
        if (pendingBytes === blockBytes) await flush();
      }
    }
    if (pendingBytes > 0 || blockList.length === 0) await flush();
    await o.client.send(
      {
        method: 'POST',
        path: 'CommitFileBlocksUpload',
        body: {
          FileName: fileName,
          MimeType: properties.contentType || 'application/octet-stream',
          BlockList: blockList,
          FileContinuationToken: token,
        },
      },
      o.callOptions,
    );
  } catch (error) {
    return fail('uploading', error);
  }
  return undefined;
}
