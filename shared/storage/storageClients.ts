import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { TableServiceClient, TableClient } from '@azure/data-tables';
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import type { StorageConnectionSettings } from '../config/settings';

/**
 * How the app reaches its storage account, parsed from the settings (shared/config/sections/storage.ts) the way
 * the Functions host reads `AzureWebJobsStorage`: a connection string (`UseDevelopmentStorage=true` for Azurite),
 * or identity-based settings (`AzureWebJobsStorage__accountName`, or the three `__…ServiceUri` settings).
 */
export type StorageConnection = StorageConnectionSettings;

export interface StorageClients {
  blobService: BlobServiceClient;
  queueService: QueueServiceClient;
  tableService: TableServiceClient;
  /** A client for one table (tables are addressed by name throughout the app). */
  table(name: string): TableClient;
}

function credentialFor(connection: Extract<StorageConnection, { kind: 'identity' }>): TokenCredential {
  // A user-assigned identity is named by its client id, as the Functions host does with `__clientId`.
  return connection.clientId
    ? new ManagedIdentityCredential({ clientId: connection.clientId })
    : new DefaultAzureCredential();
}

function isLoopback(connectionString: string): boolean {
  return (
    /UseDevelopmentStorage=true/i.test(connectionString) ||
    /https?:\/\/(127\.0\.0\.1|localhost)[:/]/i.test(connectionString)
  );
}

export function createStorageClients(connection: StorageConnection): StorageClients {
  if (connection.kind === 'connectionString') {
    const cs = connection.connectionString;
    // Azurite speaks plain HTTP; the tables SDK refuses that unless told.
    const tableOptions = isLoopback(cs) ? { allowInsecureConnection: true } : {};
    return {
      blobService: BlobServiceClient.fromConnectionString(cs),
      queueService: QueueServiceClient.fromConnectionString(cs),
      tableService: TableServiceClient.fromConnectionString(cs, tableOptions),
      table: (name) => TableClient.fromConnectionString(cs, name, tableOptions),
    };
  }
  const credential = credentialFor(connection);
  return {
    blobService: new BlobServiceClient(connection.blobServiceUri, credential),
    queueService: new QueueServiceClient(connection.queueServiceUri, credential),
    tableService: new TableServiceClient(connection.tableServiceUri, credential),
    table: (name) => new TableClient(connection.tableServiceUri, name, credential),
  };
}
