/**
 * Dataverse errors: the `{"error":{"code","message"}}` body (HDR), mapped into a typed fault / error.
 */
import { z } from 'zod';
import { LoaderError } from '../errors';
import type { HeaderMap } from './httpMessage';

/** Dataverse error codes this client acts on. */
export const DataverseErrorCodes = {
  /** Duplicate key: a create with an id or alternate key that already exists (412). */
  duplicateKey: '0x80040237',
  requestsLimit: '0x80072322',
  executionTimeLimit: '0x80072321',
  concurrencyLimit: '0x80072326',
  /** Our own codes (not Dataverse's) for conditions Dataverse reports without one. */
  unparseableBody: 'UnparseableBody',
  nestedExecuteMultiple: 'NestedExecuteMultiple',
  network: 'NetworkError',
  aborted: 'Aborted',
  retriesExhausted: 'RetriesExhausted',
  batchTooLarge: 'BatchTooLarge',
  notExecuted: 'NotExecuted',
  /** Every identity of the pool left the rotation (their credentials fail); the message names each and why. */
  noIdentityLeft: 'NoIdentityLeft',
  /** The on-premises "Server Busy" fault (concurrent ExecuteMultiple limit), still there after the retries. */
  serverBusy: 'ServerBusy',
  /** A key value holds a character Dataverse can't take in a key URL (docs/design.md "Key literals"). */
  unaddressableKey: 'UnaddressableKey',
} as const;

/** The fault of one request, as in ExecuteMultipleResponseItem.Fault. */
export interface OrganizationServiceFault {
  /** Dataverse's hex code (`0x80044331`), often empty in Dataverse's own answers, or one of our codes. */
  code: string;
  message: string;
  /** HTTP status of the failed request. */
  status: number;
  requestId?: string;
  /** `@Microsoft.PowerApps.CDS.*` annotations when Dataverse sent them (Prefer: odata.include-annotations). */
  annotations?: Record<string, unknown>;
}

const errorBodySchema = z.object({
  error: z.looseObject({ code: z.string().optional().default(''), message: z.string().optional().default('') }),
});

/** The request id Dataverse returns: `REQ_ID` inside batches, `x-ms-service-request-id` on plain responses. */
export function requestIdOf(headers: HeaderMap): string | undefined {
  return headers['x-ms-service-request-id'] ?? headers['req_id'] ?? headers['request-id'];
}

/**
 * Maps an error response to a fault. A body that isn't the documented JSON shape (Microsoft's own example is
 * missing a comma) becomes an `UnparseableBody` fault carrying the status and the raw text, never a crash.
 */
export function faultFromResponse(status: number, headers: HeaderMap, body: string): OrganizationServiceFault {
  const requestId = requestIdOf(headers);
  const withId = (fault: OrganizationServiceFault) => (requestId ? { ...fault, requestId } : fault);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    const text = body.trim();
    return withId({
      code: DataverseErrorCodes.unparseableBody,
      message: `HTTP ${status} with an unparseable body: ${text.length > 2000 ? `${text.slice(0, 2000)}…` : text}`,
      status,
    });
  }
  const parsed = errorBodySchema.safeParse(json);
  if (!parsed.success) {
    return withId({ code: '', message: `HTTP ${status}: ${body.trim().slice(0, 2000)}`, status });
  }
  const { code, message, ...rest } = parsed.data.error;
  const annotations = Object.fromEntries(Object.entries(rest).filter(([name]) => name.startsWith('@')));
  const fault: OrganizationServiceFault = { code, message, status };
  if (Object.keys(annotations).length > 0) fault.annotations = annotations;
  return withId(fault);
}

/**
 * A failed call (the whole HTTP request, not one item of a batch). Of the app's error family: `code` is
 * Dataverse's (hex) code or one of ours, `statusCode` (alias `status`) the HTTP status Dataverse answered.
 */
export class DataverseError extends LoaderError {
  override readonly name = 'DataverseError';
  readonly requestId: string | undefined;
  readonly annotations: Record<string, unknown> | undefined;
  /** `Retry-After` seconds for 429s. */
  readonly retryAfterSeconds: number | undefined;
  /** The answer came to a re-send after an unknown outcome: an earlier attempt may have been executed. */
  afterResend = false;

  constructor(
    init: {
      code: string;
      message: string;
      status?: number;
      requestId?: string;
      annotations?: Record<string, unknown>;
      retryAfterSeconds?: number;
    },
    options?: { cause?: unknown },
  ) {
    super(init.code, init.message, {
      ...(init.status !== undefined ? { statusCode: init.status } : {}),
      ...(options?.cause !== undefined ? { cause: options.cause } : {}),
    });
    this.requestId = init.requestId;
    this.annotations = init.annotations;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }

  /** The HTTP status Dataverse answered (undefined for network errors and our own codes). */
  get status(): number | undefined {
    return this.statusCode;
  }

  static fromFault(fault: OrganizationServiceFault): DataverseError {
    return new DataverseError(fault);
  }

  static fromResponse(status: number, headers: HeaderMap, body: string): DataverseError {
    return DataverseError.fromFault(faultFromResponse(status, headers, body));
  }

  toFault(): OrganizationServiceFault {
    const fault: OrganizationServiceFault = { code: this.code, message: this.message, status: this.status ?? 0 };
    if (this.requestId) fault.requestId = this.requestId;
    if (this.annotations) fault.annotations = this.annotations;
    return fault;
  }
}

export function isDuplicateKeyFault(fault: OrganizationServiceFault): boolean {
  return (
    fault.code.toLowerCase() === DataverseErrorCodes.duplicateKey ||
    (fault.status === 412 && /matching key values already exists/i.test(fault.message))
  );
}
