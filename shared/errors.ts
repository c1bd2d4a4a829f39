/**
 * The app's one error family, shaped like the Azure SDK's `RestError`: a `name`, a stable string `code` callers
 * and users can rely on, the HTTP `statusCode` the error stands for when there is one, and optional `details`.
 * Every thrown error of the engine is one of these, so the HTTP functions answer through one mapping
 * (`errorResponse`) and callers test kinds with `instanceof`, never by sniffing fields.
 */
import { isRestError } from '@azure/core-rest-pipeline';

export interface LoaderErrorOptions {
  /** HTTP status the error stands for (the answer to an API caller, or the status Dataverse returned). */
  statusCode?: number;
  /** Facts for logs and callers; never row values or secrets. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class LoaderError extends Error {
  override readonly name: string = 'LoaderError';
  readonly code: string;
  readonly statusCode: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: LoaderErrorOptions = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
    this.statusCode = options.statusCode;
    this.details = options.details;
  }
}

type SubclassOptions = Omit<LoaderErrorOptions, 'statusCode'>;

/** The request (route, query, headers, body) or an input (message, blob name) is malformed: 400. */
export class InvalidRequestError extends LoaderError {
  override readonly name: string = 'InvalidRequestError';
  constructor(code: string, message: string, options: SubclassOptions = {}) {
    super(code, message, { ...options, statusCode: 400 });
  }
}

/** What was asked for does not exist (a load, a job, a table, a blob): 404. */
export class NotFoundError extends LoaderError {
  override readonly name: string = 'NotFoundError';
  constructor(code: string, message: string, options: SubclassOptions = {}) {
    super(code, message, { ...options, statusCode: 404 });
  }
}

/** The thing is in a state that forbids the operation (a job already ended, an entity changed meanwhile): 409. */
export class ConflictError extends LoaderError {
  override readonly name: string = 'ConflictError';
  constructor(code: string, message: string, options: SubclassOptions = {}) {
    super(code, message, { ...options, statusCode: 409 });
  }
}

/** A pinned version no longer holds (a blob replaced after its load was accepted): 412. */
export class PreconditionFailedError extends LoaderError {
  override readonly name: string = 'PreconditionFailedError';
  constructor(code: string, message: string, options: SubclassOptions = {}) {
    super(code, message, { ...options, statusCode: 412 });
  }
}

/** A body or file over a configured size limit: 413. */
export class PayloadTooLargeError extends LoaderError {
  override readonly name: string = 'PayloadTooLargeError';
  constructor(code: string, message: string, options: SubclassOptions = {}) {
    super(code, message, { ...options, statusCode: 413 });
  }
}

/** A body whose Content-Type says no format the app reads: 415. */
export class UnsupportedMediaTypeError extends LoaderError {
  override readonly name: string = 'UnsupportedMediaTypeError';
  constructor(code: string, message: string, options: SubclassOptions = {}) {
    super(code, message, { ...options, statusCode: 415 });
  }
}

/** App settings or the environment cannot work (a missing setting, no storage connection). No status: a 500. */
export class ConfigurationError extends LoaderError {
  override readonly name: string = 'ConfigurationError';
  constructor(code: string, message: string, options: SubclassOptions = {}) {
    super(code, message, options);
  }
}

/** The `{ error: { code, message } }` answer of every HTTP function. */
export interface ErrorResponse {
  status: number;
  jsonBody: { error: { code: string; message: string } };
}

/**
 * The one mapping from an error to an HTTP answer. A client error (4xx) of the family answers with its status,
 * code and message (written for the caller, free of row values). A Dataverse error answers 502 with Dataverse's
 * code: the request was fine, the environment refused it. Anything else is a 500 whose message says nothing of
 * the internals; the caller logs the error itself.
 */
export function errorResponse(error: unknown): ErrorResponse {
  const answer = (status: number, code: string, message: string): ErrorResponse => ({
    status,
    jsonBody: { error: { code, message } },
  });
  if (error instanceof LoaderError) {
    if (error.name === 'DataverseError')
      return answer(502, error.code || 'DataverseError', `Dataverse refused the request: ${error.message}`);
    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) return answer(status, error.code, error.message);
  }
  return answer(500, 'InternalError', 'The request failed on the server; the error is in the function log.');
}

/**
 * Runs an HTTP function's work and answers any error through `errorResponse`. A server error (5xx) is logged
 * with the error (the logger keeps secrets and tokens out); a client error is the caller's to read, not ours.
 */
export async function answerHttp<T>(
  log: { error(message: string, data?: Record<string, unknown>): void },
  work: () => Promise<T>,
): Promise<T | ErrorResponse> {
  try {
    return await work();
  } catch (error) {
    const response = errorResponse(error);
    if (response.status >= 500) log.error('HTTP request failed', { error });
    return response;
  }
}

/** An Azure SDK error (`RestError`, e.g. from Table or Blob storage) with one of these HTTP statuses. */
export function isRestErrorWithStatus(error: unknown, ...statuses: number[]): boolean {
  return isRestError(error) && error.statusCode !== undefined && statuses.includes(error.statusCode);
}
