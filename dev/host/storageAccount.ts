import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { TableClient } from '@azure/data-tables';

/** Azurite's well-known development account (Azurite README "Connection Strings"). */
export const devAccountName = 'devstoreaccount1';
export const devAccountKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export function devConnectionString(ports: { blob: number; queue: number; table: number }, host = '127.0.0.1'): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${devAccountName};AccountKey=${devAccountKey};` +
    `BlobEndpoint=http://${host}:${ports.blob}/${devAccountName};QueueEndpoint=http://${host}:${ports.queue}/${devAccountName};` +
    `TableEndpoint=http://${host}:${ports.table}/${devAccountName};`
  );
}

export class ConnectionSettingError extends Error {
  readonly code = 'ConnectionSettingMissing';
}

/** A binding's `connection` names an app setting holding a connection string (default `AzureWebJobsStorage`). */
export function connectionStringFor(connection: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const name = connection && connection !== '' ? connection : 'AzureWebJobsStorage';
  const value = env[name] ?? env[`CUSTOMCONNSTR_${name}`];
  if (!value) {
    throw new ConnectionSettingError(
      `App setting '${name}' is not set: the local host needs a storage connection string (identity-based connections are not supported locally).`,
    );
  }
  return /^\s*UseDevelopmentStorage=true\s*;?\s*$/i.test(value)
    ? devConnectionString({ blob: 10000, queue: 10001, table: 10002 })
    : value;
}

/** Clients for one storage account, created once per connection string. */
export interface StorageAccount {
  connectionString: string;
  blobService: BlobServiceClient;
  queueService: QueueServiceClient;
  /** Raw queue client: the host encodes and decodes message text itself (host.json messageEncoding). */
  queue(name: string): QueueClient;
  table(name: string): TableClient;
}

const accounts = new Map<string, StorageAccount>();

export function storageAccountFor(
  connection: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): StorageAccount {
  const connectionString = connectionStringFor(connection, env);
  let account = accounts.get(connectionString);
  if (!account) {
    const allowInsecureConnection = /https?:\/\/(127\.0\.0\.1|localhost)[:/]/i.test(connectionString);
    const blobService = BlobServiceClient.fromConnectionString(connectionString);
    const queueService = QueueServiceClient.fromConnectionString(connectionString);
    account = {
      connectionString,
      blobService,
      queueService,
      queue: (name) => queueService.getQueueClient(name),
      table: (name) => TableClient.fromConnectionString(connectionString, name, { allowInsecureConnection }),
    };
    accounts.set(connectionString, account);
  }
  return account;
}

/** Status code of a storage REST error, if it is one. */
export function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error ? Number(error.statusCode) : undefined;
}
