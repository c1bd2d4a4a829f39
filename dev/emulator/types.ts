/**
 * The seam between the emulator's router and the modules that answer parts of the Web API
 * (records, metadata, solution operations...). A route gets requests already split from `$batch`,
 * so the same code answers a call whether it came alone or inside a batch.
 */
export interface EmulatorRequest {
  method: string;
  /** Path relative to the Web API base, without leading slash, percent-decoded, e.g. `asyncoperations(1234...)` or `ImportSolutionAsync`. */
  path: string;
  /** The query string parameters (`$select`, `$filter`, ...). */
  query: URLSearchParams;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  /** Raw body text ('' when none). */
  body: string;
  /** The caller identity (the bearer token's subject). */
  callerId: string;
}

export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string>;
  /** A JS value is serialised as JSON with `Content-Type: application/json; odata.metadata=minimal`. */
  body?: unknown;
}

/** Answers the request, or returns undefined when the path is not its own. */
export type EmulatorRoute = (
  req: EmulatorRequest,
) => EmulatorResponse | undefined | Promise<EmulatorResponse | undefined>;

/** The error body shape Dataverse uses everywhere: {"error":{"code":"0x...","message":"..."}}. */
export function dataverseError(
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
): EmulatorResponse {
  return { status, headers, body: { error: { code, message } } };
}

/** Thrown inside a route's pure parts (query parsing, validation); the route turns it into Dataverse's error body. */
export class DataverseFault extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'DataverseFault';
    this.status = status;
    this.code = code;
  }
  toResponse(): EmulatorResponse {
    return dataverseError(this.status, this.code, this.message);
  }
}
