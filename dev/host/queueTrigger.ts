import type { RegisteredFunction, RpcTypedData } from './coreApi';
import type { HostConfig } from './hostJson';
import type { HostLogger } from './hostLog';
import { invoke, type InvocationDeps } from './invocation';
import { applyOutputs } from './outputs';
import { QueuePump, poisonQueueName, type ReceivedMessage } from './queuePump';
import {
  decodeQueueMessage,
  dotnetDate,
  isValidUtf8,
  resolveBindingExpression,
  rpcBytes,
  rpcJson,
  rpcString,
  sysMetadata,
} from './rpcData';
import { storageAccountFor } from './storageAccount';

/**
 * The queue trigger's data, as the host sends it (QueueTriggerBinding.cs): the body as `string` when it is UTF-8
 * (so the library JSON-parses it: `{"a":1}` arrives as an object), else `bytes`; binding data QueueTrigger,
 * DequeueCount, Id, PopReceipt and the three dates as .NET JSON date strings.
 */
export function queueTriggerData(
  message: ReceivedMessage,
  body: Buffer,
  methodName: string,
): { data: RpcTypedData; triggerMetadata: Record<string, RpcTypedData> } {
  const utf8 = isValidUtf8(body);
  const text = utf8 ? body.toString('utf8') : undefined;
  const triggerMetadata: Record<string, RpcTypedData> = {
    DequeueCount: rpcJson(message.dequeueCount),
    ExpirationTime: rpcJson(dotnetDate(message.expiresOn)),
    Id: rpcString(message.messageId),
    InsertionTime: rpcJson(dotnetDate(message.insertedOn)),
    NextVisibleTime: rpcJson(dotnetDate(message.nextVisibleOn)),
    PopReceipt: rpcString(message.popReceipt),
    sys: sysMetadata(methodName),
  };
  if (text !== undefined) triggerMetadata.QueueTrigger = rpcString(text);
  return { data: text !== undefined ? rpcString(text) : rpcBytes(body), triggerMetadata };
}

export interface TriggerDeps extends InvocationDeps {
  config: HostConfig;
  log: HostLogger;
  notifyQueue: (queueName: string) => void;
}

export function createQueueTrigger(
  deps: TriggerDeps,
  fn: RegisteredFunction,
  bindingName: string,
): { queueName: string; pump: QueuePump } {
  const binding = fn.metadata.bindings[bindingName]!;
  const queueName = resolveBindingExpression(String(binding.queueName), {}).toLowerCase();
  const connection = typeof binding.connection === 'string' ? binding.connection : undefined;
  const account = storageAccountFor(connection);
  const q = deps.config.queues;
  const poisonName = poisonQueueName(queueName);
  const pump = new QueuePump({
    queue: account.queue(queueName),
    poisonQueue: poisonName ? account.queue(poisonName) : undefined,
    batchSize: q.batchSize,
    newBatchThreshold: q.newBatchThreshold,
    maxPollingIntervalMs: q.maxPollingIntervalMs,
    visibilityTimeoutMs: q.visibilityTimeoutMs,
    maxDequeueCount: q.maxDequeueCount,
    log: deps.log,
    label: `Functions.${fn.metadata.name} (queue '${queueName}')`,
    undecodable(message) {
      try {
        decodeQueueMessage(message.messageText, q.messageEncoding);
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    },
    async process(message) {
      const body = decodeQueueMessage(message.messageText, q.messageEncoding);
      const { data, triggerMetadata } = queueTriggerData(message, body, fn.metadata.name);
      const bindingData: Record<string, unknown> = {
        queueTrigger: data.string ?? undefined,
        dequeueCount: message.dequeueCount,
        id: message.messageId,
      };
      const parsed = data.string ? tryJson(data.string) : undefined;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) Object.assign(bindingData, parsed);
      const response = await invoke(deps, fn, {
        inputData: [{ name: bindingName, data }],
        triggerMetadata,
        bindingData,
        reason: `New queue message detected on '${queueName}'.`,
      });
      await applyOutputs(fn, response, {
        messageEncoding: q.messageEncoding,
        bindingData,
        notifyQueue: deps.notifyQueue,
      });
    },
  });
  return { queueName, pump };
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
