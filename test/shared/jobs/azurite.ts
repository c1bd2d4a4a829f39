/** In-process Azurite (blob, queue, table) in memory on free ports, for storage-backed tests. */
import { createStorageClients, type StorageClients } from '../../../shared/storage/storageClients';

/* eslint-disable @typescript-eslint/no-require-imports */
const BlobServer = require('azurite/dist/src/blob/BlobServer').default;
const BlobConfiguration = require('azurite/dist/src/blob/BlobConfiguration').default;
const QueueServer = require('azurite/dist/src/queue/QueueServer').default;
const QueueConfiguration = require('azurite/dist/src/queue/QueueConfiguration').default;
const TableServer = require('azurite/dist/src/table/TableServer').default;
const TableConfiguration = require('azurite/dist/src/table/TableConfiguration').default;

const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteFixture {
  connectionString: string;
  clients: StorageClients;
  close(): Promise<void>;
}

function portOf(address: string): number {
  return Number(new URL(address.startsWith('http') ? address : `http://${address}`).port);
}

export async function startAzurite(): Promise<AzuriteFixture> {
  const host = '127.0.0.1';
  const blob = new BlobServer(
    new BlobConfiguration(
      host,
      0,
      undefined,
      undefined,
      undefined,
      false,
      false,
      undefined,
      false,
      undefined,
      false,
      true,
      undefined,
      undefined,
      undefined,
      undefined,
      false,
      true,
    ),
  );
  const queue = new QueueServer(
    new QueueConfiguration(
      host,
      0,
      undefined,
      undefined,
      undefined,
      false,
      false,
      undefined,
      false,
      undefined,
      false,
      true,
      undefined,
      undefined,
      undefined,
      undefined,
      false,
      true,
    ),
  );
  const table = new TableServer(
    new TableConfiguration(
      host,
      0,
      undefined,
      undefined,
      false,
      false,
      undefined,
      undefined,
      false,
      true,
      undefined,
      undefined,
      undefined,
      undefined,
      false,
      true,
    ),
  );
  await Promise.all([blob.start(), queue.start(), table.start()]);
  const blobPort = portOf(blob.getHttpServerAddress());
  const queuePort = portOf(queue.getHttpServerAddress());
  const tablePort = portOf(table.getHttpServerAddress());
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};` +
    `BlobEndpoint=http://${host}:${blobPort}/${ACCOUNT};QueueEndpoint=http://${host}:${queuePort}/${ACCOUNT};TableEndpoint=http://${host}:${tablePort}/${ACCOUNT};`;
  const clients = createStorageClients({ kind: 'connectionString', connectionString });
  return {
    connectionString,
    clients,
    async close() {
      await Promise.all([blob.close(), queue.close(), table.close()]);
    },
  };
}
