/**
 * The telemetry hooks with the real OpenTelemetry SDK in this process (in-memory exporters, read back from the file
 * they are written to at shutdown) and the Dataverse client against the emulator: spans carry the correlation ids and
 * what the answer said, never a key, a row value or an error message; log records carry the fields as attributes.
 * Off, the hooks change nothing.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type EmulatorHandle } from '../../../dev/emulator/index';
import { createDataverseClient, type DataverseClient } from '../../../shared/dataverse/client';
import { DataverseError } from '../../../shared/dataverse/dataverseError';
import {
  inDataverseSpan,
  retryAfterSeconds,
  traceDataverseClient,
  webApiTarget,
} from '../../../shared/observability/dataverseTelemetry';
import { createScopedLogger, runInLogScope } from '../../../shared/observability/logScope';
import {
  fieldAttributes,
  metricNames,
  recordChunkOutcome,
  telemetryEnabled,
} from '../../../shared/observability/telemetry';
import { telemetryDumpSchema, type TelemetryDump } from '../../../shared/observability/telemetryDump';
import { startTelemetry } from '../../../shared/observability/telemetrySdk';

jest.setTimeout(60_000);

let emulator: EmulatorHandle;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({ latency: { baseMs: 0, perOperationMs: 0 } });
  dir = await mkdtemp(join(tmpdir(), 'telemetry-unit-'));
});
afterAll(async () => {
  await emulator?.close();
  await rm(dir, { recursive: true, force: true });
});

const newClient = (): DataverseClient =>
  createDataverseClient({
    webApiUrl: emulator.webApiUrl,
    accessTokenSource: { getAccessToken: () => Promise.resolve('test-token') },
  });

test('pure parts: attributes from fields, entity set from a path, Retry-After', () => {
  const error = new DataverseError({ code: '0x80040237', message: 'A record with these values already exists' });
  expect(
    fieldAttributes({
      loadId: 'L1',
      chunkIndex: 2,
      planId: 'P',
      rows: 5,
      undefinedField: undefined,
      sizes: { '1000': 2 },
      authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl',
      error,
    }),
  ).toEqual({
    'dataverse_loader.load_id': 'L1',
    'dataverse_loader.chunk_index': 2,
    'dataverse_loader.plan_id': 'P',
    rows: 5,
    sizes: '{"1000":2}',
    authorization: expect.not.stringContaining('eyJ') as unknown,
    error: expect.stringContaining('"code":"0x80040237"') as unknown,
  });
  expect(webApiTarget("accounts(accountnumber='ada@example.com')?$select=name")).toBe('accounts');
  expect(webApiTarget("/contacts?$filter=emailaddress1 eq 'a+b@x.com'")).toBe('contacts');
  expect(webApiTarget('Microsoft.Dynamics.CRM.ImportSolutionAsync')).toBe('ImportSolutionAsync');
  expect(retryAfterSeconds('7')).toBe(7);
  expect(retryAfterSeconds(new Date(10_000).toUTCString(), 4_000)).toBe(6);
  expect(retryAfterSeconds('soon')).toBeUndefined();
  expect(retryAfterSeconds(undefined)).toBeUndefined();
});

test('off: no SDK, the client is the same object and the hooks only run the work', async () => {
  expect(telemetryEnabled()).toBe(false);
  const client = newClient();
  expect(traceDataverseClient(client)).toBe(client);
  await expect(inDataverseSpan({ operation: 'GET' }, {}, () => Promise.resolve(42))).resolves.toBe(42);
  recordChunkOutcome({ table: 'account', succeeded: 1, failedCodes: [], notProcessed: 0, durationMs: 1 });
});

describe('on (in-memory exporters)', () => {
  let dump: TelemetryDump;

  beforeAll(async () => {
    const file = join(dir, 'dump.json');
    const telemetry = startTelemetry({ export: { kind: 'memory', file } });
    expect(telemetryEnabled()).toBe(true);
    const client = newClient(); // wrapped: telemetry is on
    const lines: string[] = [];
    const log = createScopedLogger({ level: 'debug' });
    await runInLogScope(
      { write: (_entry, line) => lines.push(line), fields: { loadId: 'L1', chunkIndex: 3 } },
      async () => {
        await client.createMultiple('accounts', 'account', [
          { name: 'Row Value Zq1', accountnumber: 'ZQ-KEY-1' },
          { name: 'Row Value Zq2', accountnumber: 'ZQ-KEY-2' },
        ]);
        await expect(client.send({ method: 'GET', path: "accounts(accountnumber='ZQ-KEY-404')" })).rejects.toThrow();
        log.info('Chunk completed', { succeeded: 2, failed: 0 });
        recordChunkOutcome({
          table: 'account',
          succeeded: 2,
          failedCodes: ['0x80040237', '0x80040237', 'ConversionFailed'],
          notProcessed: 1,
          durationMs: 1500,
        });
      },
    );
    expect(lines.some((l) => l.startsWith('Chunk completed {'))).toBe(true); // the local line keeps its JSON part
    await telemetry.shutdown();
    expect(telemetryEnabled()).toBe(false);
    dump = telemetryDumpSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  });

  test('a CLIENT span per call with the ids, the message, the count, the status and rows failed', () => {
    const create = dump.spans.find((s) => s.name === 'Dataverse CreateMultiple accounts')!;
    expect(create.kind).toBe(2);
    expect(create.attributes).toEqual({
      'dataverse.operation': 'CreateMultiple',
      'dataverse.target': 'accounts',
      'dataverse.operation_count': 2,
      'dataverse.rows_failed': 0,
      'dataverse.attempts': 1,
      'dataverse.throttled': 0,
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'dataverse_loader.load_id': 'L1',
      'dataverse_loader.chunk_index': 3,
      'dataverse_loader.table': 'account',
    });
    const missing = dump.spans.find((s) => s.name === 'Dataverse GET accounts')!;
    expect(missing.status.code).toBe(2); // ERROR
    expect(missing.attributes).toMatchObject({ 'http.response.status_code': 404, 'dataverse_loader.load_id': 'L1' });
    expect(missing.attributes['dataverse.error_code']).toEqual(expect.any(String));
  });

  test('metrics: requests by status, rows by outcome and error code, chunk duration', () => {
    const points = (name: string) => dump.metrics.find((m) => m.name === name)?.points ?? [];
    const requests = points(metricNames.requests);
    expect(requests.find((p) => p.attributes['http.response.status_code'] === 404)?.value).toBe(1);
    expect(
      requests.find(
        (p) =>
          p.attributes['http.response.status_code'] === 200 && p.attributes['dataverse.operation'] === 'CreateMultiple',
      )?.value,
    ).toBe(1);
    const rows = points(metricNames.rows).map((p) => [
      p.attributes['dataverse_loader.row_outcome'],
      p.attributes['dataverse_loader.error_code'],
      p.value,
    ]);
    expect(rows).toEqual(
      expect.arrayContaining([
        ['succeeded', undefined, 2],
        ['notProcessed', undefined, 1],
        ['failed', '0x80040237', 2],
        ['failed', 'ConversionFailed', 1],
      ]),
    );
    expect(points(metricNames.chunkDuration)[0]!.value).toMatchObject({ count: 1, sum: 1.5 });
    expect(points(metricNames.concurrencyLimit).length).toBe(1);
  });

  test('log records: the message as body, the fields as attributes, in the trace of the scope', () => {
    const record = dump.logRecords.find((r) => r.body === 'Chunk completed')!;
    expect(record.attributes).toEqual({
      'dataverse_loader.load_id': 'L1',
      'dataverse_loader.chunk_index': 3,
      succeeded: 2,
      failed: 0,
    });
    expect(record.severityText).toBe('INFO');
  });

  test('no key, row value or token in anything exported', () => {
    const text = JSON.stringify(dump);
    expect(text).not.toMatch(/ZQ-KEY|Row Value|test-token/);
  });
});
