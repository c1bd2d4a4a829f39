/**
 * A small real HTTP server answering in Dataverse's shapes (fixture-shaped responses), for transport and
 * executeMultiple tests until/besides the full emulator. Each test scripts what it needs through `handle`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  decodeBatchRequest,
  encodeBatchResponse,
  isChangeSet,
  type BatchRequestPart,
  type BatchResponsePart,
} from '../../../shared/dataverse/batchCodec';
import { parseHttpResponseMessage } from '../../../shared/dataverse/httpMessage';
import type { OrganizationRequest } from '../../../shared/dataverse';
import type { AccessTokenSource } from '../../../shared/dataverse/auth/accessTokenSource';
import type { Clock } from '../../../shared/dataverse/throttle';

export interface RecordedRequest {
  method: string;
  /** Path after /api/data/v9.2/ */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Virtual time when it arrived (when a clock is given). */
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export type Handler = (request: RecordedRequest) => Answer | Promise<Answer>;

export interface TestDataverse {
  webApiUrl: string;
  requests: RecordedRequest[];
  handle: Handler;
  close(): Promise<void>;
}

export async function startTestDataverse(handle: Handler, clock?: Clock): Promise<TestDataverse> {
  const state: TestDataverse = { webApiUrl: '', requests: [], handle, close: () => Promise.resolve() };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: decodeURI((req.url ?? '').replace(/^\/api\/data\/v9\.2\//, '')),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: clock?.now() ?? Date.now(),
      };
      state.requests.push(recorded);
      Promise.resolve()
        .then(() => state.handle(recorded))
        .then((answer) => {
          res.writeHead(answer.status, { 'OData-Version': '4.0', ...answer.headers });
          res.end(answer.body ?? '');
        })
        .catch((error: unknown) => {
          res.writeHead(599);
          res.end(String(error));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.webApiUrl = `http://127.0.0.1:${port}/api/data/v9.2/`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return {
    status,
    headers: { 'Content-Type': 'application/json; odata.metadata=minimal', ...headers },
    body: JSON.stringify(body),
  };
}

/** A task create per subject (`activityid` named as the primary id); Dataverse faults a subject over 200 characters. */
export const taskCreates = (subjects: readonly string[]): OrganizationRequest[] =>
  subjects.map((subject) => ({
    kind: 'create',
    entitySetName: 'tasks',
    primaryIdAttribute: 'activityid',
    attributes: { subject },
  }));

/** Task subjects t0, t1, …: `count` creates that all succeed. */
export const numberedTaskCreates = (count: number): OrganizationRequest[] =>
  taskCreates(Array.from({ length: count }, (_, i) => `t${i}`));

/** The six creates of the ExecuteMultiple settings table: the 3rd and 5th fault (subject over 200 characters). */
export const settingsTableCreates = (): OrganizationRequest[] => {
  const tooLong = 'x'.repeat(201);
  return taskCreates(['one', 'two', tooLong, 'four', tooLong, 'six']);
};

/** A file of test/fixtures/dataverse (requests and responses from Microsoft's docs) as text. */
export const dataverseFixture = (name: string): string =>
  readFileSync(join(__dirname, '..', '..', 'fixtures', 'dataverse', name), 'utf8');

/** A fixture response replayed verbatim (status, headers, body). */
export function replayFixture(name: string): Answer {
  const message = parseHttpResponseMessage(dataverseFixture(name));
  return { status: message.status, headers: message.headers, body: message.body };
}

export function errorAnswer(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Answer {
  return json(status, { error: { code, message } }, headers);
}

/** The operation inside a `$batch` part, relative to the Web API base. */
export function partPath(part: BatchRequestPart): string {
  return decodeURI(part.url.replace(/^.*?\/api\/data\/v9\.2\//, ''));
}

/**
 * Answers `$batch` like Dataverse: parts run in order, each through `operation`; without
 * `Prefer: odata.continue-on-error` it stops at the first failure with an outer 400.
 */
export function batchAnswer(
  request: RecordedRequest,
  operation: (part: BatchRequestPart) => Answer,
  options: { maxBatchSize?: number } = {},
): Answer {
  const items = decodeBatchRequest(String(request.headers['content-type']), request.body);
  const parts = items.flatMap((item) => (isChangeSet(item) ? item.changeSet : [item]));
  if (options.maxBatchSize !== undefined && parts.length > options.maxBatchSize) {
    return errorAnswer(
      400,
      '',
      `The current batch message contains too many parts. A maximum number of '${options.maxBatchSize}' query operations and change sets are allowed in a batch message.`,
    );
  }
  const continueOnError = /odata\.continue-on-error/.test(String(request.headers['prefer'] ?? ''));
  const responses: BatchResponsePart[] = [];
  let failed = false;
  for (const part of parts) {
    const answer = operation(part);
    responses.push({
      status: answer.status,
      headers: answer.headers ?? { 'OData-Version': '4.0' },
      body: answer.body ?? '',
    });
    if (answer.status >= 400 && !continueOnError) {
      failed = true;
      break;
    }
  }
  const encoded = encodeBatchResponse(responses);
  return { status: failed ? 400 : 200, headers: { 'Content-Type': encoded.contentType }, body: encoded.body };
}

/** A table in memory: creates (with or without client ids), updates, upserts, deletes. */
export class MemoryTable {
  readonly rows = new Map<string, Record<string, unknown>>();
  private counter = 0;

  constructor(
    readonly entitySetName: string,
    readonly primaryIdAttribute: string,
    private readonly validate: (row: Record<string, unknown>) => Answer | undefined = () => undefined,
  ) {}

  apply(method: string, path: string, bodyText: string | undefined): Answer {
    const body = bodyText ? (JSON.parse(bodyText) as Record<string, unknown>) : {};
    const keyed = new RegExp(`^${this.entitySetName}\\((.+)\\)$`).exec(path);
    const invalid = method !== 'DELETE' ? this.validate(body) : undefined;
    if (invalid) return invalid;
    if (method === 'POST' && path === this.entitySetName) {
      const id =
        typeof body[this.primaryIdAttribute] === 'string'
          ? (body[this.primaryIdAttribute] as string)
          : `00000000-0000-0000-0000-${String(++this.counter).padStart(12, '0')}`;
      if (this.rows.has(id)) return errorAnswer(412, '0x80040237', 'A record with matching key values already exists.');
      this.rows.set(id, { ...body, [this.primaryIdAttribute]: id });
      return this.created(id);
    }
    if (!keyed) return errorAnswer(404, '', `Resource not found for the segment '${path}'.`);
    const id = keyed[1]!;
    if (method === 'DELETE') {
      if (!this.rows.delete(id)) return errorAnswer(404, '', `${this.entitySetName} With Id = ${id} Does Not Exist`);
      return { status: 204 };
    }
    if (method === 'PATCH') {
      const exists = this.rows.get(id);
      if (!exists && this.lastIfMatch === '*')
        return errorAnswer(404, '', `${this.entitySetName} With Id = ${id} Does Not Exist`);
      this.rows.set(id, { ...exists, ...body, [this.primaryIdAttribute]: id });
      return this.created(id);
    }
    return errorAnswer(405, '', 'Method not allowed');
  }

  /** Set by the caller from the part's If-Match header before `apply` (keeps `apply`'s signature small). */
  lastIfMatch: string | undefined;

  applyPart(part: BatchRequestPart): Answer {
    this.lastIfMatch = part.headers['if-match'];
    return this.apply(part.method, partPath(part), part.body);
  }

  private created(id: string): Answer {
    const uri = `http://dataverse.test/api/data/v9.2/${this.entitySetName}(${id})`;
    return { status: 204, headers: { 'OData-Version': '4.0', Location: uri, 'OData-EntityId': uri } };
  }
}

/** A token source that hands out numbered tokens and counts forced refreshes (a real implementation of the seam). */
export class CountingTokenSource implements AccessTokenSource {
  issued = 0;
  forcedRefreshes = 0;
  getAccessToken(options?: { forceRefresh?: boolean }): Promise<string> {
    if (options?.forceRefresh) this.forcedRefreshes += 1;
    if (options?.forceRefresh || this.issued === 0) this.issued += 1;
    return Promise.resolve(`token-${this.issued}`);
  }
}

/** Virtual time: sleeps advance the clock instead of waiting, so Retry-After tests run instantly. */
export class VirtualClock implements Clock {
  current = 1_000_000;
  readonly sleeps: number[] = [];
  now(): number {
    return this.current;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    const target = this.current + ms;
    await new Promise((resolve) => setImmediate(resolve));
    this.current = Math.max(this.current, target);
  }
}
