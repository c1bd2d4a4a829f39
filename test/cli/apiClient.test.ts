/** The client against a real HTTP server on a free port: what it sends, and how each kind of answer is read. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, contentTypeForFile, createApiClient, formatForFile } from '../../cli/apiClient';

let server: Server;
let base: string;
const seen: { method?: string; url?: string; key?: string; type?: string; body: string }[] = [];
let answer: (req: IncomingMessage) => { status: number; body?: string; headers?: Record<string, string> };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen.push({
        method: req.method,
        url: req.url,
        key: req.headers['x-functions-key'] as string | undefined,
        type: req.headers['content-type'],
        body,
      });
      const a = answer(req);
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
});
afterAll(async () => {
  server.closeAllConnections(); // fetch keeps its sockets alive
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => (seen.length = 0));

const client = () => createApiClient({ baseUrl: base, key: 'k1' });

test('sends the key, the query and the body; parses the answer', async () => {
  answer = () => ({ status: 202, body: JSON.stringify({ id: 'abc', statusUrl: '/api/loads/abc', extra: 1 }) });
  const accepted = await client().submitLoad({
    table: 'account',
    body: new Blob(['name\nx\n']),
    contentType: 'text/csv',
    query: { operation: 'create', key: undefined },
  });
  expect(accepted).toEqual({ id: 'abc', statusUrl: '/api/loads/abc', extra: 1 });
  expect(seen[0]).toEqual({
    method: 'POST',
    url: '/api/loads/account?operation=create',
    key: 'k1',
    type: 'text/csv',
    body: 'name\nx\n',
  });
  expect(client().linkTo('/loads/a b/failed-rows')).toBe(`${base.replace(/\/$/, '')}/loads/a%20b/failed-rows?code=k1`);
});

test("the API's error body becomes an ApiError with its code and status", async () => {
  answer = () => ({ status: 409, body: JSON.stringify({ error: { code: 'LoadRunning', message: 'still running' } }) });
  await expect(client().retryLoad('l1')).rejects.toMatchObject({
    name: 'ApiError',
    code: 'LoadRunning',
    status: 409,
    message: 'still running',
    routeNotAvailable: false,
  });
});

test('a 404 without an error body is a route this app does not have', async () => {
  answer = () => ({ status: 404 });
  const error = await client()
    .getErrorGroups('l1')
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ApiError);
  expect((error as ApiError).routeNotAvailable).toBe(true);
  expect((error as ApiError).message).toBe('GET /loads/l1/errors is not available from this app');
});

test('an answer of the wrong shape is named, not passed on', async () => {
  answer = () => ({ status: 200, body: JSON.stringify({ id: 'l1', status: 'running' }) });
  await expect(client().getLoad('l1')).rejects.toMatchObject({ code: 'UnexpectedAnswer' });
});

test('error groups: { total, groups } as the app answers it', async () => {
  answer = () => ({
    status: 200,
    body: JSON.stringify({ total: 3, groups: [{ code: 'ConversionFailed', column: 'x', count: 3, sample: {} }] }),
  });
  await expect(client().getErrorGroups('l1')).resolves.toEqual([
    { code: 'ConversionFailed', column: 'x', count: 3, sample: {} },
  ]);
});

test('plans: a workbook is posted with its Content-Type; a plan view is read, a plan of the wrong shape named', async () => {
  answer = () => ({ status: 202, body: JSON.stringify({ id: 'p1', statusUrl: '/api/plans/p1' }) });
  await expect(client().submitPlan(new Blob(['PK']), 'xlsx')).resolves.toEqual({
    id: 'p1',
    statusUrl: '/api/plans/p1',
  });
  expect(seen[0]).toMatchObject({
    method: 'POST',
    url: '/api/plans',
    type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    body: 'PK',
  });
  const counts = { total: 3, succeeded: 3, failed: 0, notProcessed: 0, processed: 3 };
  const view = {
    id: 'p1',
    status: 'running',
    stage: 0,
    order: { stages: [['account'], ['contact']], reasons: { account: [], contact: ['after account'] }, deferred: [] },
    tables: [
      {
        table: 'account',
        file: 'a.csv',
        stage: 0,
        loadId: 'l1',
        load: { id: 'l1', status: 'succeeded', table: 'account', counts, timings: { createdAt: 't' } },
      },
      { table: 'contact', file: 'c.csv', stage: 1, loadId: 'l2' },
    ],
    counts,
    timings: { createdAt: 't' },
  };
  answer = () => ({ status: 200, body: JSON.stringify(view) });
  await expect(client().getPlan('p 1')).resolves.toEqual(view);
  expect(seen.at(-1)?.url).toBe('/api/plans/p%201');
  answer = () => ({ status: 200, body: JSON.stringify({ ...view, tables: [{ table: 'account' }] }) });
  await expect(client().getPlan('p1')).rejects.toMatchObject({ code: 'UnexpectedAnswer' });
});

test('an unreachable API says which', async () => {
  await expect(createApiClient({ baseUrl: 'http://127.0.0.1:9/api' }).listJobs()).rejects.toMatchObject({
    code: 'ApiUnreachable',
    message: expect.stringContaining('http://127.0.0.1:9/api') as unknown,
  });
});

test('file names → Content-Type and ?format=', () => {
  expect(
    ['a.csv', 'a.TSV', 'a.json', 'a.ndjson', 'a.jsonl', 'a.xlsx', 'a.csv.gz', 'a.txt'].map(contentTypeForFile),
  ).toEqual([
    'text/csv',
    'text/tab-separated-values',
    'application/json',
    'application/x-ndjson',
    'application/x-ndjson',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    'application/gzip',
    undefined,
  ]);
  expect(['a.csv.gz', 'a.ndjson.gz', 'a.csv', 'a.gz'].map(formatForFile)).toEqual([
    'csv',
    'ndjson',
    undefined,
    undefined,
  ]);
});
