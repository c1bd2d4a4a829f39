/**
 * Engine cost: rows/s from a CSV file to `$batch` request bytes with no network (read → convert with metadata →
 * encode), next to csv-parse alone on the same file (the most any CSV loader built on it can do).
 */
import { createReadStream } from 'node:fs';
import { Parser, parse } from 'csv-parse';
import { encodeBatchRequest } from '../shared/dataverse/batchCodec';
import { toWebApiRequest, withClientId, type CreateRequest } from '../shared/dataverse/organizationRequest';
import { encodeBody } from '../shared/dataverse/webApi';
import type { TableMetadata } from '../shared/ingestion/tableMetadata';
import { createRequestGroups, type EngineRowCounts } from './engineRows';

export interface EngineCostResult {
  rows: number;
  rawParserRowsPerSecond: number;
  /** csv-parse through its stream interface. */
  streamParserRowsPerSecond: number;
  engineRowsPerSecond: number;
  /** engine ÷ raw parser (target ≥ 0.4). */
  ratio: number;
  requestBytes: number;
  runs: number;
}

/**
 * csv-parse at its fastest: its state machine driven directly (Parser#api, as shared/ingestion's CSV reader
 * does), no stream push per record, default options (arrays of strings).
 */
export async function rawCsvParse(path: string): Promise<number> {
  let rows = 0;
  const api = (new Parser({ bom: true }) as unknown as { api: ParserApi }).api;
  const push = () => void rows++;
  const close = () => undefined;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 16 })) {
    const error = api.parse(chunk as Buffer, false, push, close);
    if (error) throw error;
  }
  const error = api.parse(undefined, true, push, close);
  if (error) throw error;
  return rows - 1; // the header
}

/** csv-parse through its documented stream interface (for reference: what most scripts use). */
export async function streamCsvParse(path: string): Promise<number> {
  let rows = 0;
  for await (const _record of createReadStream(path, { highWaterMark: 1 << 16 }).pipe(parse({ bom: true }))) rows++;
  return rows - 1;
}

interface ParserApi {
  parse(chunk: Buffer | undefined, end: boolean, push: (record: unknown) => void, close: () => void): Error | undefined;
}

/** Mirrors executeMultiple's part encoding (shared/dataverse/executeMultiple.ts batchPart): same headers, same body. */
export function encodeCreateBatch(webApiPath: string, requests: CreateRequest[], newId: () => string): string {
  const parts = requests.map((request) => {
    const webApi = toWebApiRequest(withClientId(request, newId));
    const body = encodeBody(webApi.body);
    return {
      method: webApi.method,
      url: `${webApiPath}${webApi.path}`,
      headers: { ...webApi.headers, 'Content-Type': 'application/json; type=entry' },
      ...(body !== undefined ? { body } : {}),
    };
  });
  return encodeBatchRequest(parts).body;
}

export async function engineToRequestBytes(
  path: string,
  metadata: TableMetadata,
  batchSize = 1000,
): Promise<{ rows: number; bytes: number }> {
  const counts: EngineRowCounts = { converted: 0, failed: 0, sourceFaults: 0 };
  let bytes = 0;
  let id = 0;
  const newId = () => `00000000-0000-4000-8000-${String(++id).padStart(12, '0')}`;
  for await (const group of createRequestGroups(path, metadata, batchSize, counts)) {
    bytes += Buffer.byteLength(encodeCreateBatch('/api/data/v9.2/', group, newId));
  }
  if (counts.failed + counts.sourceFaults > 0)
    throw new Error(
      `engine: ${counts.failed} rows failed conversion and ${counts.sourceFaults} failed reading (the bench file must be clean)`,
    );
  return { rows: counts.converted, bytes };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - started) / 1000 };
}

/** Best of `runs` for each (the first run also warms the JIT). */
export async function measureEngineCost(path: string, metadata: TableMetadata, runs = 3): Promise<EngineCostResult> {
  let raw = Infinity;
  let stream = Infinity;
  let engine = Infinity;
  let rows = 0;
  let requestBytes = 0;
  for (let i = 0; i < runs; i++) {
    const r = await timed(() => rawCsvParse(path));
    raw = Math.min(raw, r.seconds);
    stream = Math.min(stream, (await timed(() => streamCsvParse(path))).seconds);
    const e = await timed(() => engineToRequestBytes(path, metadata));
    engine = Math.min(engine, e.seconds);
    rows = e.value.rows;
    requestBytes = e.value.bytes;
    if (r.value !== rows) throw new Error(`engine read ${rows} rows, csv-parse ${r.value}`);
  }
  const rawParserRowsPerSecond = rows / raw;
  const engineRowsPerSecond = rows / engine;
  return {
    rows,
    rawParserRowsPerSecond,
    streamParserRowsPerSecond: rows / stream,
    engineRowsPerSecond,
    ratio: engineRowsPerSecond / rawParserRowsPerSecond,
    requestBytes,
    runs,
  };
}
