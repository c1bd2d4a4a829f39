/**
 * `$batch` semantics (dataverse-wire.md §1): operations run in order; change sets are atomic and
 * resolve `$n` Content-ID references; without `Prefer: odata.continue-on-error` the batch stops at the
 * first failure and answers 400.
 *
 * Choice: when stopping, the parts that already succeeded are echoed before the failing one (the
 * ExecuteMultiple ContinueOnError=false behaviour, "one response part per executed request"); the
 * documented example fails on its first part, so it has exactly one part either way. A failed change
 * set is answered with a change set holding only the failing operation (its earlier operations are
 * rolled back), as in DynamicsWebApi's error stub.
 */
import { randomUUID } from 'node:crypto';
import {
  BatchFormatError,
  boundaryOf,
  operationCount,
  parseBatchRequest,
  serializeBatchResponse,
  type BatchItem,
  type BatchOperation,
  type BatchResponseItem,
  type PartResponse,
} from './batchCodec';
import { classifyOperation, type OperationCost } from './latency';
import type { Dispatch } from './router';
import { toWebApiTarget } from './router';
import { faults } from './records/faults';
import { dataverseError, type EmulatorResponse } from './types';
import { toWire } from './wire';

/** The hard limit documented for `$batch` and ExecuteMultiple. */
export const MAX_BATCH_OPERATIONS = 1000;

/**
 * Error codes for failures raised by the OData batch reader are not documented; the emulator uses
 * "0x0" (the code Dataverse reports for errors that do not come from the platform).
 */
export const BATCH_READER_ERROR_CODE = '0x0';

export function tooManyPartsMessage(max: number): string {
  return `The current batch message contains too many parts. A maximum number of '${max}' query operations and change sets are allowed in a batch message.`;
}

export function contentIdMessage(ref: string): string {
  return `Content-ID Reference: '${ref}' does not exist in the batch context.`;
}

/** Outer headers that apply to every part unless the part sets its own. */
const INHERITED = /^(mscrm\.|callerobjectid$|mscrmcallerid$|consistency$)/;

export interface BatchDeps {
  dispatch: Dispatch;
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  webApiUrl: string;
  maxBatchSize: number;
}

export interface BatchOutcome {
  response: EmulatorResponse;
  /** What the latency model charges: one entry per executed operation. */
  operations: OperationCost[];
}

class ChangeSetFailed extends Error {
  constructor(readonly part: PartResponse) {
    super('change set failed');
  }
}

export async function executeBatch(
  outer: { headers: Record<string, string>; body: string; callerId: string },
  deps: BatchDeps,
): Promise<BatchOutcome> {
  const boundary = boundaryOf(outer.headers['content-type']);
  if (!boundary) {
    return {
      response: dataverseError(
        400,
        BATCH_READER_ERROR_CODE,
        "The batch request must have a 'Content-Type' header of 'multipart/mixed' with a boundary.",
      ),
      operations: [],
    };
  }
  let items: BatchItem[];
  try {
    items = parseBatchRequest(outer.body, boundary);
  } catch (err) {
    if (err instanceof BatchFormatError)
      return { response: dataverseError(400, BATCH_READER_ERROR_CODE, err.message), operations: [] };
    throw err;
  }
  const max = Math.min(deps.maxBatchSize, MAX_BATCH_OPERATIONS);
  if (operationCount(items) > max) {
    return { response: dataverseError(400, BATCH_READER_ERROR_CODE, tooManyPartsMessage(max)), operations: [] };
  }

  const continueOnError = /(^|[,;\s])odata\.continue-on-error(?![\w-])/i.test(outer.headers['prefer'] ?? '');
  const inherited = Object.fromEntries(Object.entries(outer.headers).filter(([k]) => INHERITED.test(k)));
  const entityUrls = new Map<string, string>();
  const costs: OperationCost[] = [];
  const results: BatchResponseItem[] = [];
  let failed = false;

  const run = async (op: BatchOperation): Promise<PartResponse> => {
    const requestId = randomUUID();
    const resolved = resolveReferences(op, entityUrls, deps.webApiUrl);
    const res: EmulatorResponse = 'error' in resolved ? resolved.error : await dispatchPart(resolved.op);
    const wire = toWire(res, { method: op.method, requestId, inBatch: true });
    // A file download inside a batch travels as latin1 text: one character per byte.
    const body = typeof wire.body === 'string' ? wire.body : wire.body.toString('latin1');
    const part: PartResponse = { ...wire, body, contentId: op.contentId };
    if (op.contentId !== undefined && res.status < 400) {
      const url = headerValue(wire.headers, 'OData-EntityId') ?? headerValue(wire.headers, 'Location');
      if (url) entityUrls.set(op.contentId, url);
    }
    return part;
  };

  const dispatchPart = async (op: BatchOperation): Promise<EmulatorResponse> => {
    const target = toWebApiTarget(op.url);
    if (!target) return faults.resourceNotFound(op.url).toResponse();
    costs.push(classifyOperation(op.method, target.path, op.body));
    return deps.dispatch({
      method: op.method,
      path: target.path,
      query: target.query,
      headers: { ...inherited, ...op.headers },
      body: op.body,
      callerId: outer.callerId,
    });
  };

  for (const item of items) {
    if (item.kind === 'operation') {
      const part = await run(item);
      results.push({ kind: 'operation', response: part });
      if (part.status >= 400 && !continueOnError) {
        failed = true;
        break;
      }
      continue;
    }
    try {
      const responses = await deps.transaction(async () => {
        const done: PartResponse[] = [];
        for (const op of item.operations) {
          const part = await run(op);
          if (part.status >= 400) throw new ChangeSetFailed(part);
          done.push(part);
        }
        return done;
      });
      results.push({ kind: 'changeset', responses });
    } catch (err) {
      if (!(err instanceof ChangeSetFailed)) throw err;
      // Rolled back: references to records created in this change set are gone too.
      for (const op of item.operations) if (op.contentId !== undefined) entityUrls.delete(op.contentId);
      results.push({ kind: 'changeset', responses: [err.part] });
      if (!continueOnError) {
        failed = true;
        break;
      }
    }
  }

  const { boundary: responseBoundary, body } = serializeBatchResponse(results, randomUUID);
  return {
    response: {
      status: failed ? 400 : 200,
      headers: { 'Content-Type': `multipart/mixed; boundary=${responseBoundary}` },
      body,
    },
    operations: costs,
  };
}

function headerValue(headers: Array<[string, string]>, name: string): string | undefined {
  return headers.find(([n]) => n === name)?.[1];
}

const URL_REF = /^\$([^/?]+)(.*)$/s;
const BODY_REF = /^\$([A-Za-z0-9_.-]+)$/;

/** Replaces `$n` at the start of the URL and as the value of `@odata.bind` / `@odata.id` properties in the body. */
function resolveReferences(
  op: BatchOperation,
  entityUrls: Map<string, string>,
  webApiUrl: string,
): { op: BatchOperation } | { error: EmulatorResponse } {
  let url = op.url;
  const m = URL_REF.exec(url);
  if (m && m[1] !== 'batch' && !/^(metadata|filter|select)/.test(m[1]!)) {
    const target = entityUrls.get(m[1]!);
    if (!target) return { error: dataverseError(400, BATCH_READER_ERROR_CODE, contentIdMessage(`$${m[1]}`)) };
    url = target + m[2];
  }
  let body = op.body;
  if (body.includes('"$')) {
    let missing: string | undefined;
    try {
      const parsed: unknown = JSON.parse(body);
      const replaced = replaceBodyRefs(parsed, (ref) => {
        const target = entityUrls.get(ref);
        if (!target) missing ??= `$${ref}`;
        return target ? `/${target.startsWith(webApiUrl) ? target.slice(webApiUrl.length) : target}` : undefined;
      });
      if (missing) return { error: dataverseError(400, BATCH_READER_ERROR_CODE, contentIdMessage(missing)) };
      body = JSON.stringify(replaced);
    } catch {
      // Not JSON: the route reports the malformed body itself.
    }
  }
  return { op: { ...op, url, body } };
}

function replaceBodyRefs(value: unknown, resolve: (ref: string) => string | undefined): unknown {
  if (Array.isArray(value)) return value.map((v) => replaceBodyRefs(v, resolve));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const isRefProperty = k.endsWith('@odata.bind') || k === '@odata.id';
    const m = isRefProperty && typeof v === 'string' ? BODY_REF.exec(v) : null;
    out[k] = m ? (resolve(m[1]!) ?? v) : replaceBodyRefs(v, resolve);
  }
  return out;
}
