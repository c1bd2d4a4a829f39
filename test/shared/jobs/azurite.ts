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
