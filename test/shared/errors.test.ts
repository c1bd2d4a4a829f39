/**
 * The one mapping from errors to HTTP answers: each status of the family, Dataverse errors as 502 with their
 * code, and anything else as a 500 that leaks nothing of the error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataverseError } from '../../shared/dataverse/dataverseError';
import { DataverseAuthenticationError } from '../../shared/dataverse/auth/dataverseAuthenticationError';
import {
  answerHttp,
  ConflictError,
  ConfigurationError,
  errorResponse,
  InvalidRequestError,
  LoaderError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  UnsupportedMediaTypeError,
} from '../../shared/errors';
import { IngestionError } from '../../shared/ingestion/ingestionError';
import { SolutionPackageError } from '../../shared/jobs/solutionPackage';
import { BlobChangedError } from '../../shared/loads/blobSource';
import { TableNotFoundError } from '../../shared/loads/tableMetadataSource';
import { InputRejectedError } from '../../shared/security/inputChecks';
import { SettingsError } from '../../shared/config/settings';

test.each([
  [new InvalidRequestError('InvalidQuery', 'unknown query parameter x'), 400, 'InvalidQuery', 'InvalidRequestError'],
  [new NotFoundError('LoadNotFound', "no load with id 'a'"), 404, 'LoadNotFound', 'NotFoundError'],
  [new ConflictError('JobEnded', 'The job has ended (succeeded).'), 409, 'JobEnded', 'ConflictError'],
  [new PreconditionFailedError('BlobChanged', 'replaced'), 412, 'BlobChanged', 'PreconditionFailedError'],
  [new PayloadTooLargeError('FileTooLarge', 'over the limit'), 413, 'FileTooLarge', 'PayloadTooLargeError'],
  [
    new UnsupportedMediaTypeError('UnsupportedMediaType', 'no format'),
    415,
    'UnsupportedMediaType',
    'UnsupportedMediaTypeError',
  ],
  [new InputRejectedError('MessageTooLarge', 'too large', 413), 413, 'MessageTooLarge', 'InputRejectedError'],
  [new IngestionError('ProfileInvalid', "unknown setting 'x'"), 400, 'ProfileInvalid', 'IngestionError'],
  [new SolutionPackageError('ZipBomb', 'expands too much'), 400, 'ZipBomb', 'SolutionPackageError'],
  [new TableNotFoundError("no table 'nope'"), 404, 'TableNotFound', 'TableNotFoundError'],
  [new BlobChangedError('replaced'), 412, 'BlobChanged', 'BlobChangedError'],
])('%s answers %i with its code and message', (error, status, code, name) => {
  expect(error).toBeInstanceOf(LoaderError);
  expect(error.name).toBe(name);
  expect(errorResponse(error)).toEqual({ status, jsonBody: { error: { code, message: error.message } } });
});

test('a Dataverse error answers 502 with Dataverse’s code, and keeps its own status', () => {
  const error = new DataverseError({ code: '0x80040265', message: 'Cannot start another [Import]', status: 400 });
  expect(error).toBeInstanceOf(LoaderError);
  expect(error).toMatchObject({ name: 'DataverseError', code: '0x80040265', status: 400, statusCode: 400 });
  expect(errorResponse(error)).toEqual({
    status: 502,
    jsonBody: {
      error: { code: '0x80040265', message: 'Dataverse refused the request: Cannot start another [Import]' },
    },
  });
  expect(errorResponse(new DataverseError({ code: '', message: 'x', status: 500 })).jsonBody.error.code).toBe(
    'DataverseError',
  );
});

test.each([
  new Error('connect ECONNREFUSED 127.0.0.1:10002 row value Contoso'),
  new ConfigurationError('StorageConnectionMissing', 'AzureWebJobsStorage is not set'),
  new SettingsError([{ setting: 'DATAVERSE_URL', message: 'DATAVERSE_URL is missing' }]),
  new DataverseAuthenticationError({ code: 'InvalidClientCredentials', authMode: 'clientSecret', message: 'refused' }),
  new LoaderError('Odd', 'a family error with a 3xx status', { statusCode: 304 }),
  'a thrown string',
  undefined,
])('%p answers a 500 that tells nothing of the error', (error) => {
  const response = errorResponse(error);
  expect(response.status).toBe(500);
  expect(response.jsonBody.error.code).toBe('InternalError');
  const text = JSON.stringify(response);
  for (const leak of ['ECONNREFUSED', 'Contoso', 'AzureWebJobsStorage', 'DATAVERSE_URL', 'refused', '3xx', 'string'])
    expect(text).not.toContain(leak);
});

test('answerHttp passes the answer through, maps a thrown error and logs only server errors', async () => {
  const logged: string[] = [];
  const log = { error: (message: string) => logged.push(message) };
  expect(await answerHttp(log, () => Promise.resolve({ status: 200 }))).toEqual({ status: 200 });
  expect(await answerHttp(log, () => Promise.reject(new NotFoundError('JobNotFound', "No job 'a'.")))).toMatchObject({
    status: 404,
    jsonBody: { error: { code: 'JobNotFound' } },
  });
  expect(logged).toEqual([]);
  expect(await answerHttp(log, () => Promise.reject(new Error('boom')))).toMatchObject({ status: 500 });
  expect(logged).toEqual(['HTTP request failed']);
});

test('every HTTP function answers its errors through answerHttp (the one mapping)', () => {
  const dir = join(__dirname, '../../functions');
  const httpFunctions = readdirSync(dir)
    .filter((n) => n.endsWith('.ts'))
    .map((n) => [n, readFileSync(join(dir, n), 'utf8')] as const)
    .filter(([, text]) => text.includes('app.http('));
  expect(httpFunctions.length).toBeGreaterThanOrEqual(6);
  for (const [name, text] of httpFunctions) {
    expect([name, text.includes('answerHttp(log, ')]).toEqual([name, true]);
    expect([name, /jsonBody:\s*\{\s*error/.test(text)]).toEqual([name, false]);
  }
});
