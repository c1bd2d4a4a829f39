/** In-process Azurite (blob, queue, table) in memory on free ports, for storage-backed tests. */
import { createStorageClients, type StorageClients } from '../../../shared/storage/storageClients';

/** What this file uses of Azurite's in-process server classes (the package ships no type declarations). */
interface AzuriteServer {
  start(): Promise<void>;
  close(): Promise<void>;
  getHttpServerAddress(): string;
}
type ServerClass = new (configuration: unknown) => AzuriteServer;
type ConfigurationClass = new (...args: unknown[]) => unknown;

function azuriteClass<T>(path: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped CommonJS internals: a typed require is the only way in
  return (require(path) as { default: T }).default;
}
const BlobServer = azuriteClass<ServerClass>('azurite/dist/src/blob/BlobServer');
const BlobConfiguration = azuriteClass<ConfigurationClass>('azurite/dist/src/blob/BlobConfiguration');
const QueueServer = azuriteClass<ServerClass>('azurite/dist/src/queue/QueueServer');
const QueueConfiguration = azuriteClass<ConfigurationClass>('azurite/dist/src/queue/QueueConfiguration');
const TableServer = azuriteClass<ServerClass>('azurite/dist/src/table/TableServer');
const TableConfiguration = azuriteClass<ConfigurationClass>('azurite/dist/src/table/TableConfiguration');

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

/**
 * One service's server, in memory on a free port, without logs, taking any API version. Azurite's configurations
 * take positional arguments; blob's and queue's agree, table's has no extent store and puts the debug log first.
 */
function inMemoryServer(
  Server: ServerClass,
  Configuration: ConfigurationClass,
  host: string,
  service: 'blob' | 'queue' | 'table',
): AzuriteServer {
  const extentsAndLogs =
    service === 'table'
      ? [
          /* enableDebugLog */ false,
          /* enableAccessLog */ false,
          /* accessLogWriteStream */ undefined,
          /* debugLogFilePath */ undefined,
        ]
      : [
          /* extentDBPath */ undefined,
          /* persistencePathArray */ false,
          /* enableAccessLog */ false,
          /* accessLogWriteStream */ undefined,
          /* enableDebugLog */ false,
          /* debugLogFilePath */ undefined,
        ];
  return new Server(
    new Configuration(
      host,
      /* port: any free one */ 0,
      /* keepAliveTimeout */ undefined,
      /* metadataDBPath */ undefined,
      ...extentsAndLogs,
      /* loose */ false,
      /* skipApiVersionCheck */ true,
      /* cert, key, pwd, oauth */ undefined,
      undefined,
      undefined,
      undefined,
      /* disableProductStyleUrl */ false,
      /* isMemoryPersistence */ true,
    ),
  );
}

export async function startAzurite(): Promise<AzuriteFixture> {
  const host = '127.0.0.1';
  const blob = inMemoryServer(BlobServer, BlobConfiguration, host, 'blob');
  const queue = inMemoryServer(QueueServer, QueueConfiguration, host, 'queue');
  const table = inMemoryServer(TableServer, TableConfiguration, host, 'table');
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
