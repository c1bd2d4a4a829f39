/**
 * `npm run bench -- --parts upload` (issue 21): `POST /api/loads/account` with a large CSV through the local host,
 * HTTP streaming on, as a client would send it (chunked, no Content-Length). Measures the host process's peak
 * resident set (VmHWM, host and worker share the process) when the 202 comes back, and the upload rate, for two
 * sizes: memory that stays flat from the small to the large upload is what streaming means (target: under 300 MB
 * at 900 MB).
 *
 * The CSV is generated while it is sent (nothing on disk on this side); Azurite keeps the blob on disk in a temp
 * folder because its in-memory store is capped at 512 MB. The stack stops once the upload is answered: loading
 * 900 MB of rows through the emulator is the throughput part's business, not this one's.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../dev/host/localStack';
import { peakRssMB } from './loadBenchmark';

export interface UploadMemoryRow {
  uploadMB: number;
  status: number;
  seconds: number;
  mbPerSecond: number;
  /** The host process's VmHWM when the answer came (MB). */
  peakHostRssMB?: number;
  /** Bytes in the blob the upload became (must equal what was sent). */
  blobMB?: number;
  error?: string;
}

const pieceBytes = 64 * 1024;

/** About `bytes` of accounts CSV, one 64 KiB piece at a time. */
function* csvPieces(bytes: number): Generator<Buffer> {
  let sent = 0;
  let row = 0;
  let first = true;
  while (sent < bytes) {
    const lines: string[] = first ? ['name,accountnumber,telephone1'] : [];
    first = false;
    let size = 0;
    while (size < pieceBytes) {
      const line = `Upload account ${row},UP-${row},+1 555 ${String(row % 10_000).padStart(4, '0')}`;
      lines.push(line);
      size += line.length + 1;
      row++;
    }
    const piece = Buffer.from(lines.join('\n') + '\n');
    sent += piece.length;
    yield piece;
  }
}

function postStreaming(url: string, bytes: number): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'text/csv' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), sent }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const pieces = csvPieces(bytes);
    const pump = (): void => {
      for (;;) {
        const next = pieces.next();
        if (next.done) {
          req.end();
          return;
        }
        sent += next.value.length;
        if (!req.write(next.value)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

async function uploadOnce(bytes: number, log: (line: string) => void): Promise<UploadMemoryRow> {
  const location = await mkdtemp(join(tmpdir(), 'dvl-upload-'));
  const stack = await startLocalStack({
    files: ['dist/functions/loadsHttpPost.js'],
    storage: { location, ports: { blob: 0, queue: 0, table: 0 } },
    env: {
      FUNCTIONS_HOST_KEY: '',
      // The host's own cap (100 MiB by default) must let the file through; the app's limit stays the default 1 GiB.
      FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: String(2 ** 30),
    },
  });
  try {
    const started = performance.now();
    const answer = await postStreaming(`${stack.api}/loads/account`, bytes);
    const seconds = (performance.now() - started) / 1000;
    const pid = 'pid' in stack.host ? stack.host.pid : process.pid;
    const peak = peakRssMB(pid);
    const row: UploadMemoryRow = {
      uploadMB: Math.round(answer.sent / 2 ** 20),
      status: answer.status,
      seconds: Math.round(seconds * 10) / 10,
      mbPerSecond: Math.round(answer.sent / 2 ** 20 / seconds),
      ...(peak !== undefined ? { peakHostRssMB: peak } : {}),
    };
    if (answer.status !== 202) return { ...row, error: answer.body.slice(0, 300) };
    const container = BlobServiceClient.fromConnectionString(stack.storage).getContainerClient('incoming');
    for await (const blob of container.listBlobsFlat({ prefix: 'account/' }))
      row.blobMB = Math.round((blob.properties.contentLength ?? 0) / 2 ** 20);
    log(`upload: ${row.uploadMB} MB in ${row.seconds} s, host peak RSS ${row.peakHostRssMB ?? '?'} MB`);
    return row;
  } finally {
    await stack.stop();
    await rm(location, { recursive: true, force: true });
  }
}

/** The small upload first (the baseline), then the large one; each in a fresh stack so VmHWM is its own. */
export async function measureUploadMemory(options: {
  sizesMB: number[];
  log: (line: string) => void;
}): Promise<UploadMemoryRow[]> {
  const rows: UploadMemoryRow[] = [];
  for (const mb of options.sizesMB) rows.push(await uploadOnce(mb * 2 ** 20, options.log));
  return rows;
}
