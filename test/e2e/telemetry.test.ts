/**
 * OpenTelemetry end to end: a load and a solution import through the local host (child process, compiled app),
 * Azurite and the emulator (with 429s), the worker exporting to the SDK's in-memory exporters
 * (TELEMETRY_TEST_EXPORT_FILE), which it writes out when the host stops. Checked: the span tree (the invocation,
 * a child of the host's trace context, and under it the Dataverse requests with the load id and table, and the
 * storage calls from the Azure SDK's tracing), the metrics (rows succeeded equal the load's count), the log
 * records' attributes (customDimensions), and that nothing exported holds a secret, a token or a row value.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobFunctionFiles } from '../../bench/asyncOperations';
import { postLoad, waitForLoad } from '../../bench/loadBenchmark';
import { buildSolutionZip } from '../../dev/emulator/solutions/solutionZip';
import type { HostProcess } from '../../dev/host/hostProcess';
import { startLocalStack, type LocalStack } from '../../dev/host/localStack';
import { metricNames } from '../../shared/observability/telemetry';
import { telemetryDumpSchema, type TelemetryDump } from '../../shared/observability/telemetryDump';
import { scanForLeaks } from '../security/logScanner';
import { repoRoot, waitFor } from './hostTestKit';

jest.setTimeout(240_000);

const rowCount = 3000;
const tag = `tlm${Date.now().toString(36)}`;
// Distinctive row values: none of them may appear in anything exported.
const rows = Array.from({ length: rowCount }, (_, i) => ({
  name: `Zyx ${tag} Person ${i}`,
  accountnumber: `${tag}-ACC-${i}`,
  revenue: i % 500 === 3 ? `bad${tag}${i}` : String(1000 + i),
}));
const csv = ['name,accountnumber,revenue', ...rows.map((r) => `${r.name},${r.accountnumber},${r.revenue}`)].join('\n');

let stack: LocalStack;
let dir: string;
let dump: TelemetryDump;
let loadId: string;
let loadCounts: { succeeded: number; failed: number; total?: number; notProcessed: number };
let jobId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'telemetry-e2e-'));
  stack = await startLocalStack({
    appDir: repoRoot,
    files: ['dist/functions/load*.js', ...jobFunctionFiles],
    port: 0,
    blobScanIntervalMs: 300,
    hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.500' } } },
    emulator: {
      faults: { rate429: 0.2 },
      latency: { baseMs: 2, perOperationMs: 0, perTable: {} },
      solutions: { timing: { queuedMs: 200, runMs: 1000 } },
    },
    env: {
      FUNCTIONS_HOST_KEY: '',
      TELEMETRY_TEST_EXPORT_FILE: join(dir, 'telemetry.json'),
      LOAD_CHUNK_SIZE: '250',
      DATAVERSE_MAX_BATCH_SIZE: '250',
      ASYNC_POLL_SCHEDULE: '*/1 * * * * *',
    },
  });

  const posted = await postLoad(stack.api, 'account', csv, 'operation=create');
  loadId = posted.id;
  const view = await waitForLoad(() => stack.api, loadId, { timeoutMs: 120_000 });
  loadCounts = view.counts;

  const response = await fetch(`${stack.api}/imports`, {
    method: 'POST',
    headers: { 'content-type': 'application/zip' },
    body: buildSolutionZip({ uniqueName: 'telemetry_e2e', version: '1.0.0.0' }),
  });
  expect(response.status).toBe(202);
  jobId = ((await response.json()) as { id: string }).id;
  await waitFor(
    async () => {
      const job = (await (await fetch(`${stack.api}/imports/${jobId}`)).json()) as { state: string };
      return job.state === 'succeeded' ? job : undefined;
    },
    'the import',
    60_000,
  );

  // A graceful stop runs the appTerminate hooks: telemetry is flushed and the in-memory exporters written out.
  expect(await (stack.host as HostProcess).stop()).toBe(0);
  dump = telemetryDumpSchema.parse(JSON.parse(readFileSync(join(dir, 'telemetry.json'), 'utf8')));
});

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const spansOf = (attribute: string, value: unknown) => dump.spans.filter((s) => s.attributes[attribute] === value);
const metric = (name: string) => dump.metrics.find((m) => m.name === name);
const sum = (points: { value: unknown }[]) => points.reduce((total, p) => total + Number(p.value), 0);

test('the load ran to the end with rows failing conversion', () => {
  expect(loadCounts).toMatchObject({ total: rowCount, failed: rowCount / 500, succeeded: rowCount - rowCount / 500 });
});

test('span tree: each chunk invocation, under the host trace context, holds its Dataverse requests', () => {
  const invocations = spansOf('faas.name', 'loadChunkQueue').filter(
    (s) => s.attributes['dataverse_loader.load_id'] === loadId,
  );
  expect(invocations.length).toBeGreaterThanOrEqual(rowCount / 250);
  const spanIds = new Set(dump.spans.map((s) => s.spanId));
  for (const invocation of invocations) {
    // The parent is the host's invocation context (traceparent), not a span of the worker.
    expect(invocation.parentSpanId).toMatch(/^[0-9a-f]{16}$/);
    expect(spanIds.has(invocation.parentSpanId!)).toBe(false);
    expect(invocation.attributes['faas.invocation_id']).toEqual(expect.any(String));
  }
  const byId = new Map(invocations.map((s) => [s.spanId, s]));
  const requests = dump.spans.filter(
    (s) => s.scope === 'dataverse-loader' && s.name.startsWith('Dataverse ') && byId.has(s.parentSpanId ?? ''),
  );
  expect(requests.length).toBeGreaterThanOrEqual(rowCount / 250);
  for (const request of requests) {
    const parent = byId.get(request.parentSpanId!)!;
    expect(request.traceId).toBe(parent.traceId);
    expect(request.kind).toBe(2); // CLIENT: a dependency in Application Insights
    expect(request.attributes).toMatchObject({
      'dataverse_loader.load_id': loadId,
      'dataverse_loader.table': 'account',
      'dataverse_loader.chunk_index': parent.attributes['dataverse_loader.chunk_index'],
    });
  }
  const writes = requests.filter((s) =>
    /^(CreateMultiple|ExecuteMultiple)$/.test(String(s.attributes['dataverse.operation'])),
  );
  expect(writes.length).toBeGreaterThanOrEqual(rowCount / 250);
  expect(sum(writes.map((s) => ({ value: s.attributes['dataverse.operation_count'] })))).toBeGreaterThanOrEqual(
    loadCounts.succeeded,
  );
  for (const write of writes) {
    expect(write.attributes).toMatchObject({
      'dataverse.target': 'accounts',
      'http.response.status_code': 200,
      'dataverse.rows_failed': 0,
    });
    expect(write.attributes['dataverse.attempts']).toBeGreaterThanOrEqual(1);
  }
  // The emulator answered some requests with 429: their spans say so, with the Retry-After waited.
  const throttled = dump.spans.filter((s) => Number(s.attributes['dataverse.throttled'] ?? 0) > 0);
  expect(throttled.length).toBeGreaterThan(0);
  for (const s of throttled) expect(s.attributes['dataverse.retry_after_seconds']).toEqual(expect.any(Number));
});

test('storage calls are spans of the Azure SDK tracing inside the invocations', () => {
  const invocationTraces = new Set(spansOf('faas.name', 'loadChunkQueue').map((s) => s.traceId));
  const storage = dump.spans.filter(
    (s) => s.attributes['az.namespace'] === 'Microsoft.Storage' && invocationTraces.has(s.traceId),
  );
  expect(storage.length).toBeGreaterThan(0);
});

test('the import job: its invocations and Dataverse requests carry the job id', () => {
  const jobSpans = spansOf('dataverse_loader.job_id', jobId);
  expect(jobSpans.some((s) => s.attributes['faas.name'] === 'asyncOperationQueue')).toBe(true);
  expect(
    jobSpans.some((s) => s.name.startsWith('Dataverse ') && s.attributes['dataverse.target'] === 'ImportSolutionAsync'),
  ).toBe(true);
});

test('metrics: rows by outcome equal the load counts; requests, 429s, concurrency, chunk duration, poll lag', () => {
  const rowPoints = metric(metricNames.rows)!.points.filter(
    (p) => p.attributes['dataverse_loader.table'] === 'account',
  );
  const outcome = (o: string) => sum(rowPoints.filter((p) => p.attributes['dataverse_loader.row_outcome'] === o));
  expect(outcome('succeeded')).toBe(loadCounts.succeeded);
  expect(outcome('failed')).toBe(loadCounts.failed);
  // The bad revenues failed conversion: counted under that code.
  expect(sum(rowPoints.filter((p) => p.attributes['dataverse_loader.error_code'] === 'ConversionFailed'))).toBe(
    loadCounts.failed,
  );
  expect(outcome('notProcessed')).toBe(0);

  const requests = metric(metricNames.requests)!.points;
  expect(sum(requests.filter((p) => p.attributes['http.response.status_code'] === 200))).toBeGreaterThan(0);
  const tooMany = sum(requests.filter((p) => p.attributes['http.response.status_code'] === 429));
  expect(tooMany).toBeGreaterThan(0);
  const throttledPoints = metric(metricNames.throttled)!.points;
  expect(sum(throttledPoints)).toBe(tooMany);
  // Which limit: the emulator answers as Dataverse does, with a service protection code.
  for (const p of throttledPoints) expect(p.attributes['dataverse.error_code']).toMatch(/^0x800723(22|21|26)$/);
  const retryAfter = metric(metricNames.retryAfter)!.points.map((p) => p.value as { count: number; sum: number });
  expect(retryAfter.reduce((n, v) => n + v.count, 0)).toBe(tooMany);

  expect(metric(metricNames.concurrencyLimit)!.points[0]!.value).toEqual(expect.any(Number));
  expect(metric(metricNames.inFlight)!.points.length).toBeGreaterThan(0);
  const chunks = metric(metricNames.chunkDuration)!.points.map((p) => p.value as { count: number });
  expect(chunks.reduce((n, v) => n + v.count, 0)).toBe(rowCount / 250);
  const lag = metric(metricNames.pollLag)!.points.map((p) => p.value as { count: number; min?: number });
  expect(lag.reduce((n, v) => n + v.count, 0)).toBeGreaterThanOrEqual(1);
});

test('log records carry the ids as attributes (customDimensions), not a JSON suffix, in their trace', () => {
  const chunkRecords = dump.logRecords.filter(
    (r) => r.body === 'Chunk completed' && r.attributes['dataverse_loader.load_id'] === loadId,
  );
  expect(chunkRecords.length).toBe(rowCount / 250);
  const invocationTraces = new Set(spansOf('faas.name', 'loadChunkQueue').map((s) => s.traceId));
  for (const record of chunkRecords) {
    expect(record.attributes).toMatchObject({ 'dataverse_loader.table': 'account', functionName: 'loadChunkQueue' });
    expect(typeof record.attributes['dataverse_loader.chunk_index']).toBe('number');
    expect(typeof record.attributes.invocationId).toBe('string');
    expect(typeof record.attributes.succeeded).toBe('number');
    expect(invocationTraces.has(record.traceId!)).toBe(true);
  }
  expect(dump.logRecords.some((r) => r.attributes['dataverse_loader.job_id'] === jobId)).toBe(true);
  for (const record of dump.logRecords) expect(String(record.body)).not.toMatch(/\{".*\}$/);
});

test('nothing exported holds a secret, a token or a row value', () => {
  const text = JSON.stringify(dump);
  const accountKey = /AccountKey=([^;]+)/.exec(stack.storage)![1]!;
  expect(scanForLeaks(text, { accountKey, identityHeader: stack.settings.IDENTITY_HEADER ?? '' })).toEqual([]);
  expect(text).not.toContain(stack.storage);
  expect(text).not.toContain(tag); // every row value (names, account numbers, bad revenues) holds the tag
  // The scan can fail: the values it looks for are what the load sent.
  expect(csv).toContain(tag);
});
