/**
 * Blob triggers bound by reference. With `sdkBinding: true` on a blob trigger the host does not download the blob:
 * it sends ModelBindingData (source `AzureStorageBlobs`, JSON content `{Connection, ContainerName, BlobName}`) and
 * `@azure/functions` hands it to the factory registered for that source. Microsoft's factory package
 * (`@azure/functions-extensions-blob`) is not installable here, and the engine streams blobs with its own clients,
 * so the factory below only decodes the reference. A multi-GB file then never travels to the worker.
 */
import { ResourceFactoryResolver, type ModelBindingData } from '@azure/functions-extensions-base';
import { z } from 'zod';
import { LoaderError } from '../errors';

export const azureStorageBlobsSource = 'AzureStorageBlobs';

/** A triggering blob, by name. */
export interface BlobReference {
  /** The binding's `connection` setting name. */
  connection: string;
  container: string;
  /** Path inside the container, e.g. `account/accounts.csv`. */
  blobName: string;
}

/** The host's by-reference binding data cannot be decoded. */
export class BlobBindingError extends LoaderError {
  override readonly name = 'BlobBindingError';
  constructor(message: string) {
    super('InvalidBlobBinding', message);
  }
}

const content = z.object({ Connection: z.string(), ContainerName: z.string().min(1), BlobName: z.string().min(1) });
const modelBindingData = z.object({
  source: z.string().nullish(),
  content: z.union([z.instanceof(Uint8Array), z.string()]),
});

/** ModelBindingData (one, or the first of a collection) → the blob it names. */
export function decodeBlobModelBinding(data: ModelBindingData | ModelBindingData[]): BlobReference {
  const one = Array.isArray(data) ? data[0] : data;
  const parsed = modelBindingData.safeParse(one);
  if (!parsed.success) throw new BlobBindingError('blob binding data has no content');
  if (parsed.data.source && parsed.data.source !== azureStorageBlobsSource) {
    throw new BlobBindingError(
      `blob binding data comes from '${parsed.data.source}', expected '${azureStorageBlobsSource}'`,
    );
  }
  const raw = parsed.data.content;
  let json: unknown;
  try {
    json = JSON.parse(
      typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'),
    );
  } catch {
    throw new BlobBindingError('blob binding content is not JSON');
  }
  const fields = content.safeParse(json);
  if (!fields.success)
    throw new BlobBindingError(
      `blob binding content lacks ${fields.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  return { connection: fields.data.Connection, container: fields.data.ContainerName, blobName: fields.data.BlobName };
}

/** Registers the decoder for `AzureStorageBlobs` once per process (a factory registered first, e.g. Microsoft's, wins). */
export function registerBlobReferenceFactory(): void {
  const resolver = ResourceFactoryResolver.getInstance();
  if (!resolver.hasResourceFactory(azureStorageBlobsSource))
    resolver.registerResourceFactory(azureStorageBlobsSource, decodeBlobModelBinding);
}

function isBlobReference(value: unknown): value is BlobReference {
  const v = value as Partial<BlobReference> | null;
  return typeof v === 'object' && v !== null && typeof v.container === 'string' && typeof v.blobName === 'string';
}

/**
 * The blob a trigger invocation is about: the reference when the host bound by reference; otherwise (a host
 * without deferred binding hands over the bytes) the `blobTrigger` metadata, `container/blob/name`.
 */
export function triggeringBlob(
  input: unknown,
  triggerMetadata: Record<string, unknown> | undefined,
): Omit<BlobReference, 'connection'> {
  if (isBlobReference(input)) return { container: input.container, blobName: input.blobName };
  const path = triggerMetadata?.blobTrigger;
  if (typeof path !== 'string' || !path.includes('/'))
    throw new BlobBindingError('the trigger carries neither a blob reference nor blobTrigger metadata');
  const slash = path.indexOf('/');
  return { container: path.slice(0, slash), blobName: path.slice(slash + 1) };
}
