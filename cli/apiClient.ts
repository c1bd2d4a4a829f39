/**
 * A client of the app's HTTP API, shared by the `dvload` CLI (Node) and the status page (browser): plain fetch,
 * answers checked with zod/mini (small enough for the page's bundle). It imports nothing from shared/: it
 * checks the API from the outside, the way any other client would.
 */
import * as z from 'zod/mini';

const counts = z.looseObject({
  total: z.optional(z.number()),
  succeeded: z.number(),
  failed: z.number(),
  notProcessed: z.number(),
  processed: z.optional(z.number()),
});

/** Live progress of a running load (GET /api/loads/{id}); every field optional so an older app still parses. */
const loadProgress = z.looseObject({
  /** Rows completed in the last minute ÷ 60. */
  rowsPerSecond: z.optional(z.number()),
  etaSeconds: z.optional(z.nullable(z.number())),
  chunks: z.optional(
    z.looseObject({
      total: z.optional(z.number()),
      queued: z.optional(z.number()),
      running: z.optional(z.number()),
      done: z.optional(z.number()),
    }),
  ),
  dataverse: z.optional(
    z.looseObject({ concurrency: z.optional(z.number()), throttledLastMinute: z.optional(z.number()) }),
  ),
});

export const loadViewSchema = z.looseObject({
  id: z.string(),
  status: z.string(),
  table: z.string(),
  file: z.optional(z.string()),
  operation: z.optional(z.string()),
  format: z.optional(z.string()),
  counts,
  chunks: z.optional(z.looseObject({ total: z.optional(z.number()), done: z.number() })),
  throttling: z.optional(z.looseObject({ throttled: z.number(), retries: z.number() })),
  /** `daily request budget` while DATAVERSE_DAILY_REQUEST_BUDGET is used up (the load's chunks wait). */
  waiting: z.optional(z.string()),
  dailyRequests: z.optional(z.looseObject({ used: z.number(), budget: z.optional(z.number()) })),
  progress: z.optional(loadProgress),
  message: z.optional(z.string()),
  errorCode: z.optional(z.string()),
  retryOf: z.optional(z.string()),
  timings: z.looseObject({
    createdAt: z.string(),
    startedAt: z.optional(z.string()),
    finishedAt: z.optional(z.string()),
    durationSeconds: z.optional(z.number()),
    rowsPerSecond: z.optional(z.number()),
  }),
  links: z.optional(z.looseObject({ self: z.optional(z.string()) })),
});
export type LoadView = z.infer<typeof loadViewSchema>;

export const jobViewSchema = z.looseObject({
  id: z.string(),
  kind: z.string(),
  state: z.string(),
  statusCode: z.optional(z.number()),
  message: z.optional(z.string()),
  friendlyMessage: z.optional(z.string()),
  importLog: z.optional(z.string()),
  /** The import job's progress (0–100) while it runs. */
  progress: z.optional(z.number()),
  solutionName: z.optional(z.string()),
  waitReason: z.optional(z.string()),
  createdAt: z.string(),
  startedAt: z.optional(z.string()),
  completedAt: z.optional(z.string()),
});
export type JobView = z.infer<typeof jobViewSchema>;

export const jobListSchema = z.object({
  items: z.array(
    z.looseObject({
      id: z.string(),
      kind: z.string(),
      state: z.string(),
      createdAt: z.string(),
      updatedAt: z.optional(z.string()),
      name: z.optional(z.string()),
      statusUrl: z.optional(z.string()),
    }),
  ),
  continuationToken: z.optional(z.string()),
});
export type JobList = z.infer<typeof jobListSchema>;
export type JobListItem = JobList['items'][number];

export const failedRowSchema = z.looseObject({
  rowNumber: z.number(),
  line: z.optional(z.number()),
  column: z.optional(z.string()),
  value: z.optional(z.unknown()),
  code: z.string(),
  message: z.string(),
  key: z.optional(z.unknown()),
  row: z.optional(z.unknown()),
});
export type FailedRow = z.infer<typeof failedRowSchema>;
export const failedRowPageSchema = z.object({
  items: z.array(failedRowSchema),
  continuationToken: z.optional(z.string()),
});
export type FailedRowPage = z.infer<typeof failedRowPageSchema>;

const errorGroupSchema = z.looseObject({
  code: z.string(),
  column: z.optional(z.nullable(z.string())),
  count: z.number(),
  sample: z.optional(z.unknown()),
});
export type ErrorGroup = z.infer<typeof errorGroupSchema>;
/** GET /api/loads/{id}/errors: `{ groups: [...] }` or a bare array, largest group first. */
export const errorGroupsSchema = z.pipe(
  z.union([z.array(errorGroupSchema), z.object({ groups: z.array(errorGroupSchema) })]),
  z.transform((v) => (Array.isArray(v) ? v : v.groups)),
);

/** GET /api/plans/{id}: a plan, the order chosen and why, one entry per table with its load's view once started. */
export const planViewSchema = z.looseObject({
  id: z.string(),
  status: z.string(),
  file: z.optional(z.string()),
  format: z.optional(z.string()),
  message: z.optional(z.string()),
  errorCode: z.optional(z.string()),
  order: z.optional(
    z.looseObject({
      stages: z.array(z.array(z.string())),
      reasons: z.record(z.string(), z.array(z.string())),
      deferred: z.array(
        z.looseObject({ table: z.string(), attribute: z.string(), target: z.string(), why: z.optional(z.string()) }),
      ),
    }),
  ),
  /** The last stage started. */
  stage: z.optional(z.number()),
  tables: z.array(
    z.looseObject({
      table: z.string(),
      file: z.string(),
      kind: z.optional(z.string()),
      stage: z.number(),
      loadId: z.string(),
      crossTableBinds: z.optional(z.array(z.string())),
      load: z.optional(loadViewSchema),
    }),
  ),
  counts,
  timings: z.looseObject({
    createdAt: z.string(),
    startedAt: z.optional(z.string()),
    finishedAt: z.optional(z.string()),
  }),
});
export type PlanView = z.infer<typeof planViewSchema>;
export type PlanTable = PlanView['tables'][number];

export const acceptedSchema = z.looseObject({ id: z.string(), statusUrl: z.string() });
export type Accepted = z.infer<typeof acceptedSchema>;

const errorBodySchema = z.object({ error: z.looseObject({ code: z.string(), message: z.string() }) });

/** An HTTP answer that is not a success; `code` is the API's stable code, or one of ours when it sent none. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
  /** The route does not exist in the app that answered (an older version): show "not available", not a failure. */
  get routeNotAvailable(): boolean {
    return this.code === 'RouteNotAvailable';
  }
}

/** States after which a load or a job never changes again. */
export const finalStates: ReadonlySet<string> = new Set([
  'succeeded',
  'partiallySucceeded',
  'failed',
  'canceled',
  'timedOut',
  'rejected',
  'completed',
]);

export interface ApiClientOptions {
  /** Absolute base of the API, e.g. `http://127.0.0.1:7071/api`. */
  baseUrl: string;
  /** Function key (sent as `x-functions-key`). */
  key?: string;
  fetch?: typeof fetch;
}

export interface LoadSubmission {
  table: string;
  body: Blob;
  /** Content-Type of the file (the API picks the format from it) or, with `format`, anything. */
  contentType?: string;
  query?: Record<string, string | undefined>;
}

const planWorkbookType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

type Schema<T> = { safeParse(value: unknown): { success: true; data: T } | { success: false; error: Error } };

export function createApiClient(options: ApiClientOptions) {
  const base = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const url = (path: string, query: Record<string, string | undefined> = {}) => {
    const u = new URL(`${base}${path}`);
    for (const [name, value] of Object.entries(query)) if (value !== undefined) u.searchParams.set(name, value);
    return u.toString();
  };

  async function send(
    method: string,
    path: string,
    init: { query?: Record<string, string | undefined>; body?: Blob; contentType?: string; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.key) headers['x-functions-key'] = options.key;
    if (init.contentType) headers['content-type'] = init.contentType;
    let response: Response;
    try {
      response = await doFetch(url(path, init.query), {
        method,
        headers,
        ...(init.body ? { body: init.body } : {}),
        ...(init.signal ? { signal: init.signal } : {}),
      });
    } catch (error) {
      throw new ApiError('ApiUnreachable', `cannot reach ${base}: ${(error as Error).message}`, 0);
    }
    if (response.ok) return response;
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const body = errorBodySchema.safeParse(parsed);
    if (body.success) throw new ApiError(body.data.error.code, body.data.error.message, response.status);
    if (response.status === 404)
      throw new ApiError('RouteNotAvailable', `${method} ${path.split('?')[0]} is not available from this app`, 404);
    if (response.status === 401)
      throw new ApiError('Unauthorized', 'the app wants a function key (--key or DVLOAD_KEY; ?code= on the page)', 401);
    throw new ApiError('HttpError', `${method} ${path} answered ${response.status} ${text.slice(0, 200)}`, 0);
  }

  async function json<T>(schema: Schema<T>, response: Response, what: string): Promise<T> {
    const parsed = schema.safeParse(await response.json());
    if (!parsed.success)
      throw new ApiError('UnexpectedAnswer', `${what}: unexpected answer: ${parsed.error.message}`, 0);
    return parsed.data;
  }

  const id = (value: string) => encodeURIComponent(value);

  return {
    baseUrl: base,
    /** URL of a route with the key as `?code=` (for links a browser follows itself). */
    linkTo(path: string): string {
      return url(path, options.key ? { code: options.key } : {});
    },
    async listJobs(query: { pageSize?: number; continuationToken?: string; state?: string } = {}) {
      const response = await send('GET', '/jobs', {
        query: {
          pageSize: query.pageSize?.toString(),
          continuationToken: query.continuationToken,
          state: query.state,
        },
      });
      return json(jobListSchema, response, 'GET /jobs');
    },
    async getLoad(loadId: string) {
      return json(loadViewSchema, await send('GET', `/loads/${id(loadId)}`), 'GET /loads/{id}');
    },
    async getImport(jobId: string) {
      return json(jobViewSchema, await send('GET', `/imports/${id(jobId)}`), 'GET /imports/{id}');
    },
    async listFailedRows(loadId: string, query: { pageSize?: number; continuationToken?: string } = {}) {
      const response = await send('GET', `/loads/${id(loadId)}/rows`, {
        query: { state: 'failed', pageSize: query.pageSize?.toString(), continuationToken: query.continuationToken },
      });
      return json(failedRowPageSchema, response, 'GET /loads/{id}/rows');
    },
    async getErrorGroups(loadId: string) {
      return json(errorGroupsSchema, await send('GET', `/loads/${id(loadId)}/errors`), 'GET /loads/{id}/errors');
    },
    /** The failed-rows file as the app streams it, with the file name it suggests. */
    async downloadFailedRows(loadId: string): Promise<{ response: Response; fileName?: string }> {
      const response = await send('GET', `/loads/${id(loadId)}/failed-rows`);
      const disposition = response.headers.get('content-disposition') ?? '';
      const fileName = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition)?.[1];
      return { response, ...(fileName ? { fileName: decodeURIComponent(fileName) } : {}) };
    },
    failedRowsPath: (loadId: string) => `/loads/${id(loadId)}/failed-rows`,
    async submitLoad(submission: LoadSubmission) {
      const response = await send('POST', `/loads/${id(submission.table)}`, {
        body: submission.body,
        ...(submission.contentType ? { contentType: submission.contentType } : {}),
        ...(submission.query ? { query: submission.query } : {}),
      });
      return json(acceptedSchema, response, 'POST /loads/{table}');
    },
    async retryLoad(loadId: string, corrected?: { body: Blob; contentType?: string }) {
      const response = await send('POST', `/loads/${id(loadId)}/retry`, {
        ...(corrected ? { body: corrected.body } : {}),
        ...(corrected?.contentType ? { contentType: corrected.contentType } : {}),
      });
      return json(acceptedSchema, response, 'POST /loads/{id}/retry');
    },
    async getPlan(planId: string) {
      return json(planViewSchema, await send('GET', `/plans/${id(planId)}`), 'GET /plans/{id}');
    },
    /** A plan: a zip of files (one per table) or an .xlsx workbook, one sheet per table. */
    async submitPlan(body: Blob, format: 'zip' | 'xlsx') {
      const response = await send('POST', '/plans', {
        body,
        contentType: format === 'zip' ? 'application/zip' : planWorkbookType,
      });
      return json(acceptedSchema, response, 'POST /plans');
    },
    async submitImport(body: Blob, query: Record<string, string | undefined> = {}) {
      const response = await send('POST', '/imports', { body, contentType: 'application/zip', query });
      return json(acceptedSchema, response, 'POST /imports');
    },
  };
}
export type ApiClient = ReturnType<typeof createApiClient>;

/** Content-Type the API reads the format from, by file name; undefined when the name does not say. */
export function contentTypeForFile(name: string): string | undefined {
  const lower = name.toLowerCase().replace(/\.gz$/, '');
  const type = lower.endsWith('.csv')
    ? 'text/csv'
    : lower.endsWith('.tsv') || lower.endsWith('.tab')
      ? 'text/tab-separated-values'
      : lower.endsWith('.ndjson') || lower.endsWith('.jsonl')
        ? 'application/x-ndjson'
        : lower.endsWith('.json')
          ? 'application/json'
          : lower.endsWith('.xlsx')
            ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
            : undefined;
  // A gzipped file is sent as gzip with its format as ?format= (see formatForFile).
  return name.toLowerCase().endsWith('.gz') && type ? 'application/gzip' : type;
}

/** `?format=` for a gzipped file, whose Content-Type cannot say it. */
export function formatForFile(name: string): string | undefined {
  if (!name.toLowerCase().endsWith('.gz')) return undefined;
  const m = /\.(csv|tsv|json|ndjson)\.gz$/i.exec(name);
  return m?.[1]?.toLowerCase();
}
