import fc from 'fast-check';
import { ResourceFactoryResolver } from '@azure/functions-extensions-base';
import {
  BlobBindingError,
  azureStorageBlobsSource,
  decodeBlobModelBinding,
  registerBlobReferenceFactory,
  triggeringBlob,
} from '../../../shared/storage/blobReference';

const binding = (content: unknown, source: string | null = azureStorageBlobsSource) => ({
  version: '1.0',
  source,
  contentType: 'application/json',
  content: Buffer.from(typeof content === 'string' ? content : JSON.stringify(content)),
});

test('decodes the host’s ModelBindingData (one, or the first of a collection) into the blob it names', () => {
  fc.assert(
    fc.property(
      fc.string({ minLength: 1 }),
      fc.string({ minLength: 1 }),
      fc.string(),
      (container, blobName, connection) => {
        const data = binding({ Connection: connection, ContainerName: container, BlobName: blobName });
        const expected = { connection, container, blobName };
        expect(decodeBlobModelBinding(data)).toEqual(expected);
        expect(decodeBlobModelBinding([data, binding({ Connection: 'x', ContainerName: 'y', BlobName: 'z' })])).toEqual(
          expected,
        );
      },
    ),
  );
});

test('content given as a view on a larger buffer or as a string decodes the same', () => {
  const json = JSON.stringify({
    Connection: 'AzureWebJobsStorage',
    ContainerName: 'incoming',
    BlobName: 'account/a.csv',
  });
  const padded = Buffer.from(`xxxx${json}yyyy`);
  const view = new Uint8Array(padded.buffer, padded.byteOffset + 4, Buffer.byteLength(json));
  expect(decodeBlobModelBinding({ source: azureStorageBlobsSource, content: view as Buffer })).toEqual({
    connection: 'AzureWebJobsStorage',
    container: 'incoming',
    blobName: 'account/a.csv',
  });
  expect(decodeBlobModelBinding({ source: null, content: json as unknown as Buffer }).blobName).toBe('account/a.csv');
});

test.each([
  ['no content', { source: azureStorageBlobsSource }, /no content/],
  [
    'another source',
    binding({ Connection: '', ContainerName: 'c', BlobName: 'b' }, 'AzureCosmosDB'),
    /'AzureCosmosDB', expected 'AzureStorageBlobs'/,
  ],
  ['content that is not JSON', binding('{not json'), /not JSON/],
  ['content without BlobName', binding({ Connection: '', ContainerName: 'c' }), /lacks BlobName/],
  ['an empty container name', binding({ Connection: '', ContainerName: '', BlobName: 'b' }), /lacks ContainerName/],
  ['an empty collection', [], /no content/],
])('rejects binding data with %s, naming what is wrong', (_label, data, message) => {
  expect(() => decodeBlobModelBinding(data as never)).toThrow(BlobBindingError);
  expect(() => decodeBlobModelBinding(data as never)).toThrow(message);
});

test('registering twice keeps one factory, and the library’s resolver decodes with it', () => {
  registerBlobReferenceFactory();
  registerBlobReferenceFactory();
  const resolver = ResourceFactoryResolver.getInstance();
  expect(resolver.hasResourceFactory(azureStorageBlobsSource)).toBe(true);
  expect(
    resolver.createClient(
      azureStorageBlobsSource,
      binding({ Connection: 'C', ContainerName: 'solutions', BlobName: 's.zip' }),
    ),
  ).toEqual({ connection: 'C', container: 'solutions', blobName: 's.zip' });
});

describe('triggeringBlob', () => {
  test('prefers the reference', () => {
    expect(
      triggeringBlob({ connection: 'C', container: 'incoming', blobName: 'account/a.csv' }, { blobTrigger: 'other/x' }),
    ).toEqual({ container: 'incoming', blobName: 'account/a.csv' });
  });

  test('falls back to the blobTrigger metadata when the host handed over the bytes', () => {
    expect(triggeringBlob(Buffer.from('a,b'), { blobTrigger: 'incoming/account/sub/a.csv' })).toEqual({
      container: 'incoming',
      blobName: 'account/sub/a.csv',
    });
  });

  test('throws a typed error when neither is there', () => {
    expect(() => triggeringBlob(Buffer.from('x'), {})).toThrow(BlobBindingError);
    expect(() => triggeringBlob(undefined, { blobTrigger: 'nocontainer' })).toThrow(
      /neither a blob reference nor blobTrigger metadata/,
    );
  });
});
