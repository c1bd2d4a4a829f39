/**
 * The loaders our pipeline is compared with, run against the same emulator settings:
 * - commonScript: what most hand-written loaders do: DynamicsWebApi v2 `executeBatch`, 1000 creates per batch,
 *   one batch at a time, no 429 handling beyond the package's (it has none: anchors.md §4);
 * - adfDefault: Azure Data Factory's default Dataverse sink profile: writeBatchSize 10, 10 batches in parallel
 *   (parallelCopies 10), retry on 429 honouring Retry-After (anchors.md §1; ADF goes through the SDK, which
 *   waits Retry-After). Requests are independent (ExecuteMultiple semantics: no change set);
 * - ourClient: our Dataverse client alone (createMultiple, 1000 per CreateMultiple as the loads send in their
 *   default `auto` mode, concurrency from x-ms-dop-hint), fed by our engine (read → convert with metadata).
 *   Not the whole pipeline: no blob, host or queues.
 */
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { DynamicsWebApi } from 'dynamics-web-api';
import type { CreateRequest } from '../shared/dataverse/index';
import type { TableMetadata } from '../shared/ingestion/tableMetadata';
import { scriptAttributes } from './accountsCsv';
import { benchClient, unsignedToken } from './benchClients';
import { createRequestGroups, type EngineRowCounts } from './engineRows';

export interface LoaderRun {
  rowsSent: number;
  rowsCreated: number;
  seconds: number;
  /** HTTP 429s the loader saw (and waited out, when it retries). */
  throttled: number;
  error?: string;
}

export interface EmulatorTarget {
  url: string;
  webApiUrl: string;
}

async function* csvRecordBatches(path: string, size: number): AsyncGenerator<Record<string, string>[]> {
  let batch: Record<string, string>[] = [];
  for await (const record of createReadStream(path).pipe(parse({ bom: true, columns: true })) as AsyncIterable<
    Record<string, string>
  >) {
    batch.push(record);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

function dynamicsWebApi(target: EmulatorTarget, caller: string): DynamicsWebApi {
  const token = unsignedToken(caller, target.url);
  return new DynamicsWebApi({
    serverUrl: `${target.url}/`,
    dataApi: { version: '9.2' },
    onTokenRefresh: () => Promise.resolve(token),
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runCommonScript(target: EmulatorTarget, path: string): Promise<LoaderRun> {
  const api = dynamicsWebApi(target, 'bench-common-script');
  const started = performance.now();
  let rowsSent = 0;
  let rowsCreated = 0;
  try {
    for await (const batch of csvRecordBatches(path, 1000)) {
      api.startBatch();
      for (const record of batch) void api.create({ collection: 'accounts', data: scriptAttributes(record) });
      rowsSent += batch.length;
      const results = await api.executeBatch();
      rowsCreated += results.filter((r) => !(r instanceof Error)).length;
    }
  } catch (error) {
    const e = error as { status?: number; message?: string };
    return {
      rowsSent,
      rowsCreated,
      seconds: (performance.now() - started) / 1000,
      throttled: e.status === 429 ? 1 : 0,
      error: `${e.status ?? ''} ${e.message ?? String(error)}`.trim(),
    };
  }
  return { rowsSent, rowsCreated, seconds: (performance.now() - started) / 1000, throttled: 0 };
}

function retryAfterMs(error: unknown): number | undefined {
  const e = error as { status?: number; headers?: Record<string, string> };
  if (e.status !== 429) return undefined;
  const header = Object.entries(e.headers ?? {}).find(([name]) => name.toLowerCase() === 'retry-after')?.[1];
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000;
}

export async function runAdfDefault(
  target: EmulatorTarget,
  path: string,
  options: { writeBatchSize?: number; parallelCopies?: number } = {},
): Promise<LoaderRun> {
  const batchSize = options.writeBatchSize ?? 10;
  const lanes = options.parallelCopies ?? 10;
  const batches = csvRecordBatches(path, batchSize);
  const run: LoaderRun = { rowsSent: 0, rowsCreated: 0, seconds: 0, throttled: 0 };
  const started = performance.now();
  let nextBatch: Promise<IteratorResult<Record<string, string>[]>> = Promise.resolve({ done: false, value: [] });
  // One source read at a time; each lane takes the next batch in turn.
  const take = (): Promise<IteratorResult<Record<string, string>[]>> =>
    (nextBatch = nextBatch.then(() => batches.next()));
  const lane = async (n: number): Promise<void> => {
    const api = dynamicsWebApi(target, 'bench-adf-default');
    void n;
    for (;;) {
      const next = await take();
      if (next.done) return;
      run.rowsSent += next.value.length;
      for (let attempt = 0; ; attempt++) {
        api.startBatch();
        for (const record of next.value) void api.create({ collection: 'accounts', data: scriptAttributes(record) });
        try {
          const results = await api.executeBatch({ inChangeSet: false });
          run.rowsCreated += results.filter((r) => !(r instanceof Error)).length;
          break;
        } catch (error) {
          const wait = retryAfterMs(error);
          if (wait === undefined || attempt >= 50) throw error;
          run.throttled++;
          await sleep(wait);
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: lanes }, (_, n) => lane(n)));
  } catch (error) {
    run.error = (error as Error).message ?? String(error);
  }
  run.seconds = (performance.now() - started) / 1000;
  return run;
}

export async function runOurClient(
  target: EmulatorTarget,
  path: string,
  metadata: TableMetadata,
  options: { workers?: number } = {},
): Promise<LoaderRun & { concurrency: unknown; retries: number }> {
  const client = benchClient(target.webApiUrl, target.url, 'bench-our-client', 16);
  const counts: EngineRowCounts = { converted: 0, failed: 0, sourceFaults: 0 };
  const groups = createRequestGroups(path, metadata, 1000, counts);
  const run: LoaderRun = { rowsSent: 0, rowsCreated: 0, seconds: 0, throttled: 0 };
  const started = performance.now();
  let reading: Promise<unknown> = Promise.resolve();
  const take = (): ReturnType<typeof groups.next> => {
    const next = reading.then(() => groups.next());
    reading = next;
    return next;
  };
  // More workers than the dop-hint: the client's own concurrency limit decides how many are in flight.
  const worker = async (): Promise<void> => {
    for (;;) {
      const next = await take();
      if (next.done || !next.value) return;
      run.rowsSent += next.value.length;
      const result = await client.createMultiple(
        metadata.entitySetName,
        metadata.logicalName,
        next.value.map((r: CreateRequest) => r.attributes),
      );
      run.rowsCreated += result.results.filter((r) => !r.fault).length;
    }
  };
  try {
    await Promise.all(Array.from({ length: options.workers ?? 16 }, () => worker()));
  } catch (error) {
    run.error = (error as Error).message ?? String(error);
  }
  run.seconds = (performance.now() - started) / 1000;
  const metrics = client.metrics();
  return { ...run, throttled: metrics.throttled.total, retries: metrics.retries, concurrency: metrics.concurrency };
}
