/**
 * The HTTP shell: reads a request, authenticates the caller, injects faults, applies the service
 * protection limits, runs the call (alone or as `$batch`), waits out the latency model, and writes
 * Dataverse's headers. Everything it decides with is in the modules it calls.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { audienceMatches, bearerToken, callerFromToken, challengeHeader, type Caller } from './auth';
import { executeBatch } from './batch';
import type { FaultInjector } from './faults';
import { classifyOperation, executionMs, type OperationCost } from './latency';
import type { ServiceProtection } from './limits';
import { requestsMessage, THROTTLE_CODES } from './limits';
import type { ResolvedEmulatorOptions } from './options';
import { toWebApiTarget, WEB_API_PREFIX, type Dispatch } from './router';
import { increment, type CallerStats, type StatCounters } from './stats';
import { faults as dataverseFaults } from './records/faults';
import { dataverseError, type EmulatorResponse } from './types';
import { toWire } from './wire';

/** What the emulator mounts for `/_identity/...` and strict mode (dev/identity/localIdentity.ts has this shape). */
export interface IdentityEndpoint {
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  verifyToken(token: string): Promise<{ sub: string; aud: string; oid?: string; appid?: string } | undefined>;
}

export interface ServerDeps {
  options(): ResolvedEmulatorOptions;
  orgUrl(): string;
  dispatch: Dispatch;
  transaction: <T>(fn: () => Promise<T>) => Promise<T>;
  limits: ServiceProtection;
  faults: FaultInjector;
  counters(): StatCounters;
  /** Logical name of an entity set (`accounts` → `account`), so latency.perTable may use either. */
  logicalNameOf?: (entitySet: string) => string | undefined;
  identity?: IdentityEndpoint;
  /** `/_emulator/...` control endpoints. */
  control(method: string, path: string, body: string): Promise<EmulatorResponse | undefined>;
  /** Told when a Web API request's record work starts (one at a time), e.g. `POST $batch`: the write log's grouping. */
  onRecordWork?(request: string): void;
}

/** Record work runs one request at a time: in-memory work is synchronous anyway, and a change set's rollback can never undo another request's writes. */
function createSerializer(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (fn) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function lowerCaseHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The on-premises ExecuteMultiple fault, thrown before the first request runs (ExecuteMultiple docs, 2017). */
const serverBusyMessage = (limit: number) =>
  `Server Busy: the limit of ${limit} concurrent ExecuteMultiple requests per organization is reached.`;

/** `$batch` and the bulk messages: what the on-premises ExecuteMultiple limit counts. */
const isMultiple = (method: string, path: string | undefined) =>
  method === 'POST' &&
  path !== undefined &&
  (path === '$batch' || /\/Microsoft\.Dynamics\.CRM\.\w+Multiple$/.test(path));

export function createRequestHandler(deps: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const serialize = createSerializer();
  /** ExecuteMultiple requests running now, organization-wide (executeMultiplePerOrganization). */
  let multiplesRunning = 0;

  const callerStats = (caller: Caller): CallerStats => {
    const callers = deps.counters().callers;
    let entry = callers[caller.id];
    if (!entry) {
      entry = {
        ...(caller.appId ? { appId: caller.appId } : {}),
        requests: 0,
        throttled: {},
        serverBusy: 0,
        refused: 0,
      };
      callers[caller.id] = entry;
    }
    return entry;
  };

  const send = (res: ServerResponse, status: number, headers: Array<[string, string]>, body: string | Buffer): void => {
    increment(deps.counters().statuses, String(status));
    if (res.destroyed) return;
    const h: Record<string, string> = {};
    for (const [k, v] of headers) h[k] = v;
    h['Content-Length'] = String(Buffer.byteLength(body));
    res.writeHead(status, h);
    res.end(body);
  };

  const sendApi = (
    res: ServerResponse,
    method: string,
    response: EmulatorResponse,
    extra: Array<[string, string]>,
  ): void => {
    const requestId = randomUUID();
    const wire = toWire(response, { method, requestId, inBatch: false });
    const headers = wire.headers.filter(([k]) => k !== 'REQ_ID');
    headers.push(
      ['REQ_ID', requestId],
      ['x-ms-service-request-id', requestId],
      ['x-ms-dop-hint', String(deps.options().dopHint)],
      ...extra,
    );
    send(res, wire.status, headers, wire.body);
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    const method = req.method ?? 'GET';
    const headers = lowerCaseHeaders(req);
    const opts = deps.options();
    const counters = deps.counters();
    counters.requests++;

    const token = bearerToken(headers['authorization']);
    let caller: Caller | undefined;
    if (token) {
      if (opts.strictAuth) {
        const verified = deps.identity ? await deps.identity.verifyToken(token) : undefined;
        if (verified && audienceMatches(verified.aud, deps.orgUrl()))
          caller = { id: verified.oid ?? verified.sub, ...(verified.appid ? { appId: verified.appid } : {}) };
      } else {
        caller = callerFromToken(token);
      }
    }
    const callerId = caller?.id;
    if (!caller || !callerId) {
      await readBody(req);
      send(
        res,
        401,
        [
          ['WWW-Authenticate', challengeHeader(deps.orgUrl(), opts.tenantId)],
          ['REQ_ID', randomUUID()],
          ['x-ms-dop-hint', String(opts.dopHint)],
        ],
        '',
      );
      return;
    }

    const body = await readBody(req);
    const stats = callerStats(caller);
    stats.requests++;
    if (opts.revokedCallers.includes(callerId) || (caller.appId && opts.revokedCallers.includes(caller.appId))) {
      stats.refused++;
      sendApi(res, method, dataverseError(403, '0x80072560', 'The user is not a member of the organization.'), []);
      return;
    }
    const targetPath = toWebApiTarget(req.url ?? pathname)?.path;
    const multiple = isMultiple(method, targetPath);
    const drawn = deps.faults.next();
    const fault = drawn === 'serverBusy' && !multiple ? 'none' : drawn;
    if (fault !== 'none') increment(counters.faults, fault);
    if (fault === 'drop' && !opts.faults.dropAfterProcessing) {
      req.socket.destroy();
      return;
    }
    if (fault === '429') {
      sendApi(res, method, dataverseError(429, THROTTLE_CODES.requests, requestsMessage(opts.limits)), [
        ['Retry-After', '1'],
      ]);
      return;
    }
    if (fault === '503') {
      sendApi(
        res,
        method,
        dataverseError(503, '', 'The service is temporarily unavailable. Please try again later.'),
        [],
      );
      return;
    }

    const perOrganization = opts.limits.executeMultiplePerOrganization;
    if (fault === 'serverBusy' || (multiple && perOrganization > 0 && multiplesRunning >= perOrganization)) {
      stats.serverBusy++;
      if (fault !== 'serverBusy') increment(counters.faults, 'serverBusy');
      sendApi(res, method, dataverseError(500, '', serverBusyMessage(perOrganization || 2)), []);
      return;
    }

    const admission = deps.limits.admit(callerId, caller.appId);
    if (!admission.ok) {
      increment(counters.throttled, admission.code);
      increment(stats.throttled, admission.code);
      // Observed: no x-ms-ratelimit-* headers on a 429.
      sendApi(res, method, dataverseError(429, admission.code, admission.message), [
        ['Retry-After', String(admission.retryAfterSeconds)],
      ]);
      return;
    }

    const started = performance.now();
    let executionRealMs = 0;
    if (multiple) multiplesRunning++;
    try {
      const target = toWebApiTarget(req.url ?? pathname);
      const { response, operations } = await serialize(
        async (): Promise<{ response: EmulatorResponse; operations: OperationCost[] }> => {
          deps.onRecordWork?.(`${method} ${target?.path ?? pathname}`);
          if (target && target.path === '$batch' && method === 'POST') {
            counters.batches++;
            return executeBatch(
              { headers, body, callerId },
              {
                dispatch: deps.dispatch,
                transaction: deps.transaction,
                webApiUrl: `${deps.orgUrl()}/api/data/v9.2/`,
                maxBatchSize: opts.maxBatchSize,
              },
            );
          }
          const path = target?.path ?? '';
          const response = await deps.dispatch({
            method,
            path,
            query: target?.query ?? new URLSearchParams(),
            headers,
            body,
            callerId,
          });
          return { response, operations: [classifyOperation(method, path, body)] };
        },
      );
      counters.operations += operations.reduce((n, o) => n + o.count, 0);
      executionRealMs = executionMs(operations, deps.options().latency, deps.logicalNameOf);
      const elapsed = performance.now() - started;
      const wait = executionRealMs - elapsed + (fault === 'slow' ? deps.options().faults.slowMs : 0);
      if (wait > 0) await sleep(wait);
      counters.executionMs += executionRealMs;
      admission.release(executionRealMs);
      if (fault === 'drop') {
        req.socket.destroy();
        return;
      }
      const remaining = admission.remaining();
      sendApi(res, method, response, [
        ['x-ms-ratelimit-burst-remaining-xrm-requests', String(remaining.requests)],
        ['x-ms-ratelimit-time-remaining-xrm-requests', String(remaining.executionMs)],
      ]);
    } finally {
      if (multiple) multiplesRunning--;
      admission.release(executionRealMs);
    }
  };

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    const work = async (): Promise<void> => {
      if (pathname.startsWith('/_identity/')) {
        if (deps.identity?.handle(req, res)) return;
        send(
          res,
          404,
          [['Content-Type', 'application/json']],
          JSON.stringify({ error: { code: '', message: 'The local identity endpoint is not mounted.' } }),
        );
        return;
      }
      if (pathname.startsWith('/_emulator/')) {
        const body = await readBody(req);
        const answer = await deps.control(req.method ?? 'GET', pathname, body);
        const r = answer ?? dataverseError(404, '', `No emulator endpoint ${pathname}.`);
        const text = r.body === undefined ? '' : JSON.stringify(r.body);
        send(res, r.status, text ? [['Content-Type', 'application/json']] : [], text);
        return;
      }
      if (!WEB_API_PREFIX.test(pathname)) {
        await readBody(req);
        sendApi(res, req.method ?? 'GET', dataverseFaults.resourceNotFound(pathname).toResponse(), []);
        return;
      }
      await handleApi(req, res, pathname);
    };
    work().catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return;
      const message = err instanceof Error ? err.message : String(err);
      sendApi(
        res,
        req.method ?? 'GET',
        dataverseError(500, '0x80040216', `An unexpected error occurred. ${message}`),
        [],
      );
    });
  };
}
