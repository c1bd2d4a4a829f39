import type { BlobClient, BlobGetPropertiesResponse } from '@azure/storage-blob';
import { z } from 'zod';
import { compileBlobPath, matchBlobPath, type BlobPathPattern } from './blobPath';
import type { RegisteredFunction, RpcTypedData } from './coreApi';
import { invoke } from './invocation';
import { applyOutputs } from './outputs';
import { QueuePump } from './queuePump';
import type { TriggerDeps } from './queueTrigger';
import {
  decodeQueueMessage,
  dotnetDate,
  encodeQueueMessage,
  rpcBytesShared,
  rpcJson,
  rpcString,
  sysMetadata,
} from './rpcData';
import { statusOf, storageAccountFor, type StorageAccount } from './storageAccount';

/** Names the WebJobs SDK uses in the storage account (HostContainerNames, HostQueueNames). */
export const hostsContainer = 'azure-webjobs-hosts';
export const blobPoisonQueue = 'webjobs-blobtrigger-poison';
export const blobTriggerQueueName = (hostId: string) => `azure-webjobs-blobtrigger-${hostId}`;
export const functionIdOf = (name: string) => `Host.Functions.${name}`;
export const blobReceiptPath = (
  hostId: string,
  functionId: string,
  etag: string,
  container: string,
  blobName: string,
) => `blobreceipts/${hostId}/${functionId}/${etag}/${container}/${blobName}`;

/** Listings give ETags bare (`0x8D…`), property reads quoted (`"0x8D…"`): compare and key receipts quoted, like .NET's ETag. */
export function quotedEtag(etag: string | undefined): string | undefined {
  if (!etag) return undefined;
  return etag.startsWith('"') || etag.startsWith('W/') ? etag : `"${etag}"`;
}

/** The message the scanner puts on the host's internal blob-trigger queue (BlobTriggerMessage). */
const blobTriggerMessage = z.object({
  Type: z.literal('BlobTrigger').optional(),
  FunctionId: z.string(),
  BlobType: z.string(),
  ContainerName: z.string(),
  BlobName: z.string(),
  ETag: z.string(),
});
type BlobTriggerMessage = z.infer<typeof blobTriggerMessage>;

/** Newtonsoft's view of BlobProperties, PascalCase (the library camelCases it into triggerMetadata.properties). */
function propertiesJson(p: BlobGetPropertiesResponse): Record<string, unknown> {
  return {
    LastModified: p.lastModified && dotnetDate(p.lastModified),
    CreatedOn: p.createdOn && dotnetDate(p.createdOn),
    Metadata: p.metadata ?? {},
    BlobType: p.blobType,
    ContentLength: p.contentLength,
    ContentType: p.contentType,
    ContentEncoding: p.contentEncoding,
    ContentLanguage: p.contentLanguage,
    ContentDisposition: p.contentDisposition,
    CacheControl: p.cacheControl,
    ContentHash: p.contentMD5 ? Buffer.from(p.contentMD5).toString('base64') : undefined,
    ETag: p.etag,
    LeaseState: p.leaseState,
    LeaseStatus: p.leaseStatus,
    AccessTier: p.accessTier,
  };
}

/** What the blob extension sends for a deferred binding (ParameterBindingData → ModelBindingData). */
export function blobModelBinding(
  connection: string,
  message: { ContainerName: string; BlobName: string },
): RpcTypedData {
  const content = { Connection: connection, ContainerName: message.ContainerName, BlobName: message.BlobName };
  return {
    modelBindingData: {
      version: '1.0',
      source: 'AzureStorageBlobs',
      contentType: 'application/json',
      content: Buffer.from(JSON.stringify(content)),
    },
  };
}

/** The content goes straight into the input data (shared, not copied), so it is garbage once the invocation ends. */
async function blobContent(blob: BlobClient, etag: string): Promise<RpcTypedData> {
  return rpcBytesShared(await blob.downloadToBuffer(undefined, undefined, { conditions: { ifMatch: etag } }));
}

interface BlobFunction {
  fn: RegisteredFunction;
  bindingName: string;
  /** The connection setting name (the reference names it). */
  connection: string;
  /** `sdkBinding: true`: the function gets a reference (ModelBindingData), the host never downloads the blob. */
  byReference: boolean;
  pattern: BlobPathPattern;
  account: StorageAccount;
  functionId: string;
}

export interface BlobTriggerOptions {
  hostId: string;
  scanIntervalMs: number;
}

/**
 * Blob triggers by container scan (the only source Azurite supports): a scan lists each watched container, and for
 * each matching blob whose ETag has no completed receipt, writes the receipt and enqueues a message on the internal
 * queue; a queue pump invokes the function from there, with the queue's retry and poison rules (threshold
 * `poisonBlobThreshold`, poison queue `webjobs-blobtrigger-poison`). A restart finds the receipts and skips the blob;
 * an overwrite has a new ETag and triggers again.
 */
export class BlobTriggers {
  readonly #deps: TriggerDeps;
  readonly #options: BlobTriggerOptions;
  readonly #functions: BlobFunction[] = [];
  readonly #pumps = new Map<string, QueuePump>();
  readonly #seen = new Set<string>();
  #timer?: NodeJS.Timeout;
  #scanning?: Promise<void>;
  #stopped = false;

  constructor(deps: TriggerDeps, options: BlobTriggerOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  add(fn: RegisteredFunction, bindingName: string): void {
    const binding = fn.metadata.bindings[bindingName]!;
    if (binding.source === 'EventGrid') {
      this.#deps.log({
        level: 'warning',
        category: 'host',
        message: `Functions.${fn.metadata.name}: source 'EventGrid' is driven by container scan locally (Azurite emits no events).`,
      });
    }
    const connection = typeof binding.connection === 'string' ? binding.connection : undefined;
    const account = storageAccountFor(connection);
    const properties = binding.properties as Record<string, unknown> | undefined;
    const deferred = properties?.supportsDeferredBinding;
    const byReference =
      (typeof deferred === 'string' || typeof deferred === 'boolean' ? String(deferred) : '').toLowerCase() === 'true';
    this.#functions.push({
      fn,
      bindingName,
      connection: connection ?? 'AzureWebJobsStorage',
      byReference,
      pattern: compileBlobPath(String(binding.path)),
      account,
      functionId: functionIdOf(fn.metadata.name),
    });
    if (!this.#pumps.has(account.connectionString))
      this.#pumps.set(account.connectionString, this.#createPump(account));
  }

  get count(): number {
    return this.#functions.length;
  }

  start(): void {
    if (this.#functions.length === 0) return;
    for (const pump of this.#pumps.values()) pump.start();
    const tick = () => {
      if (this.#stopped) return;
      this.#scanning = this.scan()
        .catch((error: Error) =>
          this.#deps.log({ level: 'warning', category: 'host', message: `Blob scan failed: ${error.message}` }),
        )
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(tick, this.#options.scanIntervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#scanning;
    await Promise.all([...this.#pumps.values()].map((p) => p.stop()));
  }

  /** One pass over every watched container. */
  async scan(): Promise<void> {
    for (const bf of this.#functions) {
      const container = bf.account.blobService.getContainerClient(bf.pattern.container);
      await container.createIfNotExists();
      for await (const blob of container.listBlobsFlat()) {
        if (this.#stopped) return;
        const etag = quotedEtag(blob.properties.etag);
        if (!etag || !matchBlobPath(bf.pattern, blob.name)) continue;
        const seenKey = `${bf.functionId}|${bf.pattern.container}|${blob.name}|${etag}`;
        if (this.#seen.has(seenKey)) continue;
        if (await this.#claim(bf, blob.name, etag, blob.properties.blobType ?? 'BlockBlob')) this.#seen.add(seenKey);
      }
    }
  }

  /** Receipt protocol (BlobTriggerExecutor): create-if-absent, lease, enqueue, mark completed. True when settled. */
  async #claim(bf: BlobFunction, blobName: string, etag: string, blobType: string): Promise<boolean> {
    const hosts = bf.account.blobService.getContainerClient(hostsContainer);
    await hosts.createIfNotExists();
    const receipt = hosts.getBlockBlobClient(
      blobReceiptPath(this.#options.hostId, bf.functionId, etag, bf.pattern.container, blobName),
    );
    try {
      await receipt.upload('', 0, { metadata: { incomplete: 'true' }, conditions: { ifNoneMatch: '*' } });
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
    const props = await receipt.getProperties();
    if (props.metadata?.completed === 'true') return true;
    const lease = receipt.getBlobLeaseClient();
    try {
      await lease.acquireLease(30);
    } catch (error) {
      if (statusOf(error) === 409) return false; // another host instance holds it
      throw error;
    }
    try {
      // Check again under the lease (BlobTriggerExecutor does): another instance may have completed the receipt
      // between our read and our lease, and enqueuing again would run the function twice for one blob.
      if ((await receipt.getProperties()).metadata?.completed === 'true') return true;
      const message: BlobTriggerMessage = {
        Type: 'BlobTrigger',
        FunctionId: bf.functionId,
        BlobType: blobType,
        ContainerName: bf.pattern.container,
        BlobName: blobName,
        ETag: etag,
      };
      const queueName = blobTriggerQueueName(this.#options.hostId);
      const queue = bf.account.queue(queueName);
      await queue.createIfNotExists();
      await queue.sendMessage(encodeQueueMessage(JSON.stringify(message), this.#deps.config.queues.messageEncoding));
      await receipt.setMetadata({ completed: 'true' }, { conditions: { leaseId: lease.leaseId } });
      this.#pumps.get(bf.account.connectionString)?.notify();
    } finally {
      await lease.releaseLease().catch(() => undefined);
    }
    return true;
  }

  #createPump(account: StorageAccount): QueuePump {
    const { config } = this.#deps;
    const maxDop = config.blobs.maxDegreeOfParallelism;
    // SharedBlobQueueListenerFactory maps maxDegreeOfParallelism onto the internal queue (16 → 9 + 7).
    const batchSize = Math.min(32, Math.floor(maxDop / 2) + 1);
    return new QueuePump({
      queue: account.queue(blobTriggerQueueName(this.#options.hostId)),
      poisonQueue: account.queue(blobPoisonQueue),
      batchSize,
      newBatchThreshold: Math.max(0, maxDop - batchSize),
      maxPollingIntervalMs: config.queues.maxPollingIntervalMs,
      visibilityTimeoutMs: config.queues.visibilityTimeoutMs,
      maxDequeueCount: config.blobs.poisonBlobThreshold,
      log: this.#deps.log,
      label: 'Blob trigger queue',
      process: (message) =>
        this.#execute(
          JSON.parse(decodeQueueMessage(message.messageText, config.queues.messageEncoding).toString('utf8')),
        ),
    });
  }

  /** BlobQueueTriggerExecutor: a deleted blob or a changed ETag ends the message as a success. */
  async #execute(raw: unknown): Promise<void> {
    const message = blobTriggerMessage.parse(raw);
    const bf = this.#functions.find(
      (f) => f.functionId === message.FunctionId && f.pattern.container === message.ContainerName,
    );
    if (!bf) return;
    const blob = bf.account.blobService.getContainerClient(message.ContainerName).getBlobClient(message.BlobName);
    let properties: BlobGetPropertiesResponse;
    try {
      properties = await blob.getProperties();
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw error;
    }
    if (quotedEtag(properties.etag) !== quotedEtag(message.ETag)) return;
    const values = matchBlobPath(bf.pattern, message.BlobName) ?? {};
    const input = {
      name: bf.bindingName,
      data: bf.byReference ? blobModelBinding(bf.connection, message) : await blobContent(blob, message.ETag),
    };
    const triggerMetadata: Record<string, RpcTypedData> = {
      BlobTrigger: rpcString(`${message.ContainerName}/${message.BlobName}`),
      Uri: rpcString(blob.url),
      Properties: rpcJson(propertiesJson(properties)),
      Metadata: rpcJson(properties.metadata ?? {}),
      sys: sysMetadata(bf.fn.metadata.name),
    };
    for (const [name, value] of Object.entries(values)) triggerMetadata[name] = rpcString(value);
    const bindingData = { ...values, blobTrigger: `${message.ContainerName}/${message.BlobName}`, uri: blob.url };
    const response = await invoke(this.#deps, bf.fn, {
      inputData: [input],
      bindingData,
      triggerMetadata,
      reason: `New blob detected(${message.BlobType}): ${message.ContainerName}/${message.BlobName}`,
    });
    await applyOutputs(bf.fn, response, {
      messageEncoding: this.#deps.config.queues.messageEncoding,
      bindingData,
      notifyQueue: (name) => this.#deps.notifyQueue(name),
    });
  }
}
