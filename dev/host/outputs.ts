import type { RegisteredFunction, RpcTypedData } from './coreApi';
import type { InvocationResponse } from './invocation';
import { encodeQueueMessage, fromRpcOutput, resolveBindingExpression } from './rpcData';
import { statusOf, storageAccountFor } from './storageAccount';

export interface OutputContext {
  messageEncoding: 'base64' | 'none';
  /** Trigger binding data (`{name}` etc.) for binding expressions in output paths. */
  bindingData: Record<string, unknown>;
  /** Called after a message is written to a queue, so a listener on it polls at once (host SharedQueueWatcher). */
  notifyQueue?: (queueName: string) => void;
}

export class OutputBindingError extends Error {
  readonly code = 'OutputBindingFailed';
}

/** Acts on the non-HTTP output bindings of a response, as the host does after a successful invocation. */
export async function applyOutputs(
  fn: RegisteredFunction,
  response: InvocationResponse,
  context: OutputContext,
): Promise<void> {
  for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
    if (binding.direction !== 'out') continue;
    const type = String(binding.type ?? '').toLowerCase();
    if (type === 'http') continue;
    const data: RpcTypedData | null | undefined =
      name === '$return' ? response.returnValue : response.outputData.find((o) => o.name === name)?.data;
    const value = fromRpcOutput(data);
    if (value === undefined || value === null) continue;
    const connection = typeof binding.connection === 'string' ? binding.connection : undefined;
    switch (type) {
      case 'queue':
        await writeQueue(
          resolveBindingExpression(String(binding.queueName), context.bindingData),
          connection,
          value,
          context,
        );
        break;
      case 'blob':
        await writeBlob(resolveBindingExpression(String(binding.path), context.bindingData), connection, value);
        break;
      case 'table':
        await writeTable(binding, connection, value, context);
        break;
      default:
        throw new OutputBindingError(
          `Output binding type '${binding.type}' (${name}) is not supported by the local host.`,
        );
    }
  }
}

async function writeQueue(
  queueName: string,
  connection: string | undefined,
  value: unknown,
  context: OutputContext,
): Promise<void> {
  const queue = storageAccountFor(connection).queue(queueName.toLowerCase());
  await queue.createIfNotExists();
  // An array output means one message per element (host: JArray → several messages).
  const items = Array.isArray(value) ? value : [value];
  for (const item of items) {
    const body = Buffer.isBuffer(item) ? item : typeof item === 'string' ? item : JSON.stringify(item);
    await queue.sendMessage(encodeQueueMessage(body, context.messageEncoding));
  }
  context.notifyQueue?.(queueName.toLowerCase());
}

async function writeBlob(path: string, connection: string | undefined, value: unknown): Promise<void> {
  const slash = path.indexOf('/');
  if (slash <= 0) throw new OutputBindingError(`Blob output path '${path}' must be 'container/blob'.`);
  const container = storageAccountFor(connection).blobService.getContainerClient(path.slice(0, slash));
  await container.createIfNotExists();
  const body = Buffer.isBuffer(value)
    ? value
    : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');
  await container.getBlockBlobClient(path.slice(slash + 1)).upload(body, body.length);
}

async function writeTable(
  binding: Record<string, unknown>,
  connection: string | undefined,
  value: unknown,
  context: OutputContext,
): Promise<void> {
  const tableName = resolveBindingExpression(String(binding.tableName), context.bindingData);
  const table = storageAccountFor(connection).table(tableName);
  await table.createTable();
  const defaults = {
    partitionKey:
      typeof binding.partitionKey === 'string'
        ? resolveBindingExpression(binding.partitionKey, context.bindingData)
        : undefined,
    rowKey:
      typeof binding.rowKey === 'string' ? resolveBindingExpression(binding.rowKey, context.bindingData) : undefined,
  };
  const items = Array.isArray(value) ? value : [value];
  for (const item of items) {
    if (!item || typeof item !== 'object')
      throw new OutputBindingError(`Table output '${tableName}' expects entity objects.`);
    const { PartitionKey, RowKey, partitionKey, rowKey, ...properties } = item as Record<string, unknown>;
    const entity = {
      ...properties,
      partitionKey: keyText(tableName, 'PartitionKey', PartitionKey ?? partitionKey ?? defaults.partitionKey ?? ''),
      rowKey: keyText(tableName, 'RowKey', RowKey ?? rowKey ?? defaults.rowKey ?? ''),
    };
    if (entity.rowKey === '') throw new OutputBindingError(`Table output '${tableName}': the entity has no RowKey.`);
    try {
      // The host's table output inserts: an existing entity is a failed invocation (409 EntityAlreadyExists).
      await table.createEntity(entity);
    } catch (error) {
      if (statusOf(error) === 409)
        throw new OutputBindingError(
          `Table output '${tableName}': entity (${entity.partitionKey}, ${entity.rowKey}) already exists.`,
        );
      throw error;
    }
  }
}

/** A table key as text; an object or array is no key (the host would fail converting it too). */
function keyText(tableName: string, name: 'PartitionKey' | 'RowKey', value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new OutputBindingError(
    `Table output '${tableName}': the entity's ${name} must be a string, not ${typeof value}.`,
  );
}
