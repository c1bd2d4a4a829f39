import type { TableEntityResult } from '@azure/data-tables';
import type { RegisteredFunction, RpcBindingInfo, RpcTypedData } from './coreApi';
import { resolveBindingExpression, rpcJson } from './rpcData';
import { retryHonouredFor, parseRetryOptions } from './retry';
import { statusOf, storageAccountFor } from './storageAccount';

/**
 * What the local host can serve, checked at start-up so a binding is never silently empty: triggers http, queue,
 * blob, timer; outputs http, queue, blob, table; inputs table. Anything else stops the host with a message naming
 * the function and the binding.
 */
const triggers = new Set(['httpTrigger', 'queueTrigger', 'blobTrigger', 'timerTrigger']);
const outputs = new Set(['http', 'queue', 'blob', 'table']);
const inputs = new Set(['table']);

export interface BindingProblems {
  errors: string[];
  warnings: string[];
}

export function checkBindings(fn: RegisteredFunction): BindingProblems {
  const errors: string[] = [];
  const warnings: string[] = [];
  const name = fn.metadata.name;
  let triggerType: string | undefined;
  for (const [bindingName, binding] of Object.entries(fn.metadata.bindings)) {
    const type = String(binding.type ?? '');
    const label = `Functions.${name}: binding '${bindingName}' (type '${type}', direction '${binding.direction}')`;
    if (type.endsWith('Trigger')) {
      triggerType = type;
      if (!triggers.has(type)) errors.push(`${label}: the local host has no '${type}' trigger.`);
    } else if (binding.direction === 'out') {
      if (!outputs.has(type.toLowerCase())) errors.push(`${label}: the local host cannot write this output binding.`);
    } else if (!inputs.has(type.toLowerCase())) {
      errors.push(`${label}: the local host cannot read this input binding.`);
    } else if (type.toLowerCase() === 'table' && typeof binding.tableName !== 'string') {
      errors.push(`${label}: tableName is missing.`);
    }
  }
  if (fn.metadata.retryOptions !== undefined && fn.metadata.retryOptions !== null) {
    try {
      parseRetryOptions(name, fn.metadata.retryOptions);
      if (!retryHonouredFor.has(String(triggerType)))
        warnings.push(
          `Functions.${name}: retry options are ignored for '${triggerType}' (Azure honours them for timer, Event Hubs, Cosmos DB and Kafka triggers); ${triggerType === 'queueTrigger' || triggerType === 'blobTrigger' ? 'the queue retries by dequeue count and poison queue' : 'no retry'}.`,
        );
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  return { errors, warnings };
}

/** Reads every input binding of `fn` (table only) with the trigger's binding data. */
export async function readInputBindings(
  fn: RegisteredFunction,
  bindingData: Record<string, unknown>,
): Promise<{ name: string; data: RpcTypedData }[]> {
  const result: { name: string; data: RpcTypedData }[] = [];
  for (const [bindingName, binding] of Object.entries(fn.metadata.bindings)) {
    if (binding.direction !== 'in' || String(binding.type).toLowerCase() !== 'table') continue;
    result.push({ name: bindingName, data: await readTableInput(binding, bindingData) });
  }
  return result;
}

/** OData string literal inside a filter: a quote is doubled (the extension's ODataFilterResolutionPolicy). */
const odataEscape = (value: string) => value.replace(/'/g, "''");

/**
 * Table input as the Tables extension binds it for a non-.NET worker: with a rowKey, the entity as a JSON object
 * (nothing when it does not exist); without, a JSON array of the partition's entities matching `filter`, at most
 * `take`. Entities carry PartitionKey, RowKey and their properties (not Timestamp or the ETag), as the Node e2e
 * suite's table test expects of the real host.
 */
async function readTableInput(binding: RpcBindingInfo, bindingData: Record<string, unknown>): Promise<RpcTypedData> {
  const resolve = (value: unknown) =>
    typeof value === 'string' && value !== '' ? resolveBindingExpression(value, bindingData) : undefined;
  const tableName = resolve(binding.tableName)!;
  const partitionKey = resolve(binding.partitionKey);
  const rowKey = resolve(binding.rowKey);
  const table = storageAccountFor(typeof binding.connection === 'string' ? binding.connection : undefined).table(
    tableName,
  );
  if (partitionKey !== undefined && rowKey !== undefined) {
    try {
      return rpcJson(toJson(await table.getEntity(partitionKey, rowKey)));
    } catch (error) {
      if (statusOf(error) === 404) return {};
      throw error;
    }
  }
  const escapedData = Object.fromEntries(
    Object.entries(bindingData).map(([k, v]) => [k, typeof v === 'string' ? odataEscape(v) : v]),
  );
  const userFilter =
    typeof binding.filter === 'string' && binding.filter !== ''
      ? resolveBindingExpression(binding.filter, escapedData)
      : undefined;
  const filters = [
    partitionKey !== undefined ? `PartitionKey eq '${odataEscape(partitionKey)}'` : undefined,
    userFilter,
  ]
    .filter((f): f is string => f !== undefined)
    .map((f) => `(${f})`);
  const take = typeof binding.take === 'number' && binding.take > 0 ? binding.take : undefined;
  const entities: Record<string, unknown>[] = [];
  try {
    for await (const entity of table.listEntities({
      queryOptions: filters.length > 0 ? { filter: filters.join(' and ') } : undefined,
    })) {
      entities.push(toJson(entity));
      if (take !== undefined && entities.length >= take) break;
    }
  } catch (error) {
    if (statusOf(error) !== 404) throw error; // no table yet: no entities
  }
  return rpcJson(entities);
}

function toJson(entity: TableEntityResult<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { PartitionKey: entity.partitionKey, RowKey: entity.rowKey };
  for (const [key, value] of Object.entries(entity)) {
    if (['partitionKey', 'rowKey', 'etag', 'timestamp'].includes(key) || key.startsWith('odata.')) continue;
    // Int64 comes back typed ({ value: '…', type: 'Int64' }); the extension writes it as a JSON number.
    const typed = value as { type?: string; value?: string } | null;
    out[key] = typed && typeof typed === 'object' && typed.type === 'Int64' ? Number(typed.value) : value;
  }
  return out;
}
