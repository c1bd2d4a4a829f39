/**
 * ExecuteMultiple semantics over the Web API `$batch`: every request outside a change set (its own
 * transaction), `Prefer: odata.continue-on-error` for ContinueOnError, responses shaped as
 * ExecuteMultipleResponse (executemultiple-2017.md), batches sized to what Dataverse accepts.
 */
import {
  encodeBatchRequest,
  decodeBatchResponse,
  flattenBatchResponse,
  type BatchRequestPart,
  type BatchResponsePart,
} from './batchCodec';
import { callOptionHeaders, type CallOptions } from './callOptions';
import {
  DataverseError,
  DataverseErrorCodes,
  faultFromResponse,
  isDuplicateKeyFault,
  type OrganizationServiceFault,
} from './dataverseError';
import type { HeaderMap } from './httpMessage';
import {
  idFromEntityUri,
  isRetrySafe,
  toWebApiRequest,
  withClientId,
  type ExecuteMultipleSettings,
  type OrganizationRequest,
  type WebApiRequest,
} from './organizationRequest';
import { encodeBody, odataHeaders, parseBody, type WebApiContext } from './webApi';

/** The response of one request (ExecuteMultipleResponseItem.Response). */
export interface OrganizationResponse {
  status: number;
  headers: HeaderMap;
  /** Parsed JSON body when there is one. */
  body?: unknown;
  /** The record id: the client-generated id of a create, else the GUID in OData-EntityId. */
  id?: string;
  /** `OData-EntityId` (absolute URL of the record). */
  entityUri?: string;
  /** Set when a re-sent request found its own earlier execution (duplicate key on create, 404 on delete). */
  recoveredAfterRetry?: boolean;
}

export interface ExecuteMultipleResponseItem {
  requestIndex: number;
  response?: OrganizationResponse;
  fault?: OrganizationServiceFault;
}

export interface ExecuteMultipleResponse {
  isFaulted: boolean;
  responses: ExecuteMultipleResponseItem[];
}

type Prepared = { request: OrganizationRequest; webApi?: WebApiRequest };

function prepare(requests: OrganizationRequest[], newId: () => string): Prepared[] {
  return requests.map((request) => {
    if (request.kind === 'executeMultiple') return { request };
    const ready = request.kind === 'create' ? withClientId(request, newId) : request;
    return { request: ready, webApi: toWebApiRequest(ready) };
  });
}

const entryKinds = new Set<OrganizationRequest['kind']>(['create', 'update', 'upsert']);

function batchPart(context: WebApiContext, prepared: Prepared, optionHeaders: HeaderMap): BatchRequestPart {
  const webApi = prepared.webApi!;
  const body = encodeBody(webApi.body);
  // Per-call headers go on every part too: they are request headers, and each part is its own request.
  const headers: HeaderMap = { ...optionHeaders, ...webApi.headers };
  if (body !== undefined)
    headers['Content-Type'] ??= entryKinds.has(prepared.request.kind)
      ? 'application/json; type=entry'
      : 'application/json';
  const part: BatchRequestPart = { method: webApi.method, url: `${context.webApiPath}${webApi.path}`, headers };
  if (body !== undefined) part.body = body;
  return part;
}

/** Too-large rejection: the limit Dataverse names (`maximum number of '250'`, `MaxBatchSize`), or null when unnamed. */
export function batchLimitFromRejection(status: number, message: string): number | null | undefined {
  if (status !== 400 && status !== 413) return undefined;
  if (!/too many (parts|operations)|MaxBatchSize|batch size/i.test(message)) return undefined;
  const named = /maximum number of '(\d+)'/i.exec(message) ?? /MaxBatchSize\D{0,8}(\d+)/i.exec(message);
  return named ? Number(named[1]) : null;
}

function responseOf(part: BatchResponsePart, prepared: Prepared): OrganizationResponse {
  const response: OrganizationResponse = { status: part.status, headers: part.headers };
  const body = parseBody(part.body, part.headers['content-type']);
  if (body !== undefined) response.body = body;
  const entityUri = part.headers['odata-entityid'] ?? part.headers['location'];
  if (entityUri) response.entityUri = entityUri;
  const request = prepared.request;
  const id = request.kind === 'create' && request.id ? request.id : idFromEntityUri(entityUri);
  if (id) response.id = id;
  return response;
}

/** A re-sent request that meets its own earlier execution counts as done. */
function recovered(
  prepared: Prepared,
  fault: OrganizationServiceFault,
  part: BatchResponsePart,
): OrganizationResponse | undefined {
  const request = prepared.request;
  if (request.kind === 'create' && request.id && isDuplicateKeyFault(fault)) {
    return { status: 204, headers: part.headers, id: request.id, recoveredAfterRetry: true };
  }
  if (request.kind === 'delete' && fault.status === 404)
    return { status: 204, headers: part.headers, recoveredAfterRetry: true };
  return undefined;
}

/** Rounds in a row in which every part of a batch came back 429 before giving up. */
const maxStalls = 20;

type Outcome = { response: OrganizationResponse } | { fault: OrganizationServiceFault };

export async function executeMultiple(
  context: WebApiContext,
  requests: OrganizationRequest[],
  settings: ExecuteMultipleSettings,
  options: CallOptions = {},
  internal: { maybeExecutedBefore?: boolean } = {},
): Promise<ExecuteMultipleResponse> {
  const prepared = prepare(requests, context.newId);
  const outcomes = new Map<number, Outcome>();
  const pending = prepared.map((_, index) => index);
  // Requests whose batch was re-sent after an unknown outcome: Dataverse may already have run them.
  const maybeExecuted = new Set<number>(internal.maybeExecutedBefore ? pending : []);
  const optionHeaders = callOptionHeaders(options);
  let stopped = false;
  let stalls = 0;

  const record = (index: number, outcome: Outcome) => {
    outcomes.set(index, outcome);
    if ('fault' in outcome && !settings.continueOnError) stopped = true;
  };

  while (pending.length > 0 && !stopped) {
    if (options.abortSignal?.aborted)
      throw new DataverseError({ code: DataverseErrorCodes.aborted, message: 'The operation was aborted' });
    const head = pending[0]!;
    if (!prepared[head]!.webApi) {
      pending.shift();
      record(head, {
        fault: {
          code: DataverseErrorCodes.nestedExecuteMultiple,
          message: 'ExecuteMultiple cannot contain another ExecuteMultiple request (no recursion).',
          status: 400,
        },
      });
      continue;
    }
    const chunk: number[] = [];
    for (const index of pending) {
      if (chunk.length >= context.batchLimit.current || !prepared[index]!.webApi) break;
      chunk.push(index);
    }
    const answer = await sendBatch(
      context,
      chunk.map((i) => prepared[i]!),
      settings.continueOnError,
      optionHeaders,
      options.abortSignal,
    );

    if (answer.kind === 'tooLarge') {
      const smaller =
        answer.limit !== null && answer.limit < chunk.length ? answer.limit : Math.floor(chunk.length / 2);
      if (smaller < 1) {
        pending.shift();
        record(head, { fault: answer.fault });
        continue;
      }
      context.batchLimit.current = Math.max(1, smaller);
      context.logger?.warn('Dataverse rejected the batch as too large; re-chunking', {
        sent: chunk.length,
        newLimit: context.batchLimit.current,
      });
      continue; // nothing ran: the same requests go again in smaller batches
    }

    if (answer.kind === 'batchFault') {
      // The whole $batch failed without per-request answers; each request of the chunk carries that fault.
      for (const index of settings.continueOnError ? chunk : chunk.slice(0, 1)) record(index, { fault: answer.fault });
      pending.splice(0, settings.continueOnError ? chunk.length : 1);
      continue;
    }

    if (answer.resent) chunk.forEach((index) => maybeExecuted.add(index));
    const done = new Set<number>();
    answer.parts.slice(0, chunk.length).forEach((part, position) => {
      const index = chunk[position]!;
      if (part.status === 429) {
        context.transport.noteInnerThrottle(part.headers, part.body);
        return; // not executed: stays pending and goes again after the pause
      }
      done.add(index);
      if (part.status < 400) return record(index, { response: responseOf(part, prepared[index]!) });
      const fault = faultFromResponse(part.status, part.headers, part.body);
      const recovery = maybeExecuted.has(index) ? recovered(prepared[index]!, fault, part) : undefined;
      record(index, recovery ? { response: recovery } : { fault });
    });
    stalls = done.size === 0 ? stalls + 1 : 0;
    if (stalls > maxStalls) {
      throw new DataverseError({
        code: DataverseErrorCodes.retriesExhausted,
        message: `Dataverse throttled every request of the batch ${stalls} times in a row`,
        status: 429,
      });
    }
    const remaining = pending.filter((index) => !done.has(index));
    pending.splice(0, pending.length, ...remaining);
  }

  const responses = [...outcomes.entries()]
    .sort(([a], [b]) => a - b)
    .filter(([, outcome]) => settings.returnResponses || 'fault' in outcome)
    .map(([requestIndex, outcome]) => ({ requestIndex, ...outcome }));
  return { isFaulted: [...outcomes.values()].some((outcome) => 'fault' in outcome), responses };
}

type BatchAnswer =
  | { kind: 'parts'; parts: BatchResponsePart[]; resent: boolean }
  | { kind: 'tooLarge'; limit: number | null; fault: OrganizationServiceFault }
  | { kind: 'batchFault'; fault: OrganizationServiceFault };

async function sendBatch(
  context: WebApiContext,
  requests: Prepared[],
  continueOnError: boolean,
  optionHeaders: HeaderMap,
  abortSignal: AbortSignal | undefined,
): Promise<BatchAnswer> {
  const encoded = encodeBatchRequest(requests.map((request) => batchPart(context, request, optionHeaders)));
  const headers: HeaderMap = { ...odataHeaders, ...optionHeaders, 'Content-Type': encoded.contentType };
  if (continueOnError) headers['Prefer'] = 'odata.continue-on-error';
  context.transport.recordBatchSize(requests.length);
  const result = await context.transport.send({
    method: 'POST',
    url: new URL('$batch', context.webApiUrl).toString(),
    headers,
    body: encoded.body,
    retrySafe: requests.every((request) => isRetrySafe(request.webApi!)),
    // Each operation of a $batch counts toward the daily entitlement (api-limits.md).
    operations: requests.length,
    ...(abortSignal ? { abortSignal } : {}),
  });
  if (result.status === 401 || result.status === 403)
    throw DataverseError.fromResponse(result.status, result.headers, result.body);

  let parts: BatchResponsePart[] | undefined;
  if (/multipart\/mixed/i.test(result.headers['content-type'] ?? '') || /^\s*--batchresponse_/.test(result.body)) {
    try {
      parts = flattenBatchResponse(decodeBatchResponse(result.headers['content-type'], result.body));
    } catch (error) {
      return {
        kind: 'batchFault',
        fault: {
          code: DataverseErrorCodes.unparseableBody,
          message: `Unparseable $batch response (HTTP ${result.status}): ${String(error)}`,
          status: result.status,
        },
      };
    }
  }
  // A size rejection comes before anything runs, as a plain error or as the only part.
  const rejection =
    parts === undefined
      ? faultFromResponse(result.status, result.headers, result.body)
      : parts.length === 1 && requests.length > 1 && parts[0]!.status >= 400
        ? faultFromResponse(parts[0]!.status, parts[0]!.headers, parts[0]!.body)
        : undefined;
  if (rejection) {
    const limit = batchLimitFromRejection(result.status >= 400 ? result.status : rejection.status, rejection.message);
    if (limit !== undefined)
      return {
        kind: 'tooLarge',
        limit,
        fault: { ...rejection, code: rejection.code || DataverseErrorCodes.batchTooLarge },
      };
  }
  if (parts !== undefined && parts.length > 0) return { kind: 'parts', parts, resent: result.resent };
  const fault =
    result.status >= 400
      ? faultFromResponse(result.status, result.headers, result.body)
      : {
          code: DataverseErrorCodes.unparseableBody,
          message: `$batch answered HTTP ${result.status} without response parts`,
          status: result.status,
        };
  if (result.resent || [502, 503, 504].includes(result.status))
    fault.message = `${fault.message} (the outcome of these requests is unknown)`;
  return { kind: 'batchFault', fault };
}
