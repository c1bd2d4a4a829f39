/**
 * Emulator throughput through `$batch` (and optionally CreateMultiple) with zero latency: how many
 * operations per second the emulator itself sustains, so it never becomes the bottleneck of the
 * product's benchmarks. Not a test: prints one JSON line.
 *
 *   npm run build && node dist/bench/emulator-throughput.js [--seconds 10] [--batch-size 1000] [--concurrency 4] [--mode batch|bulk] [--url <org url>]
 *
 * By default the emulator runs in this process (client and server share the event loop, so the figure is
 * a lower bound); `--url` measures one started elsewhere (`npm run emulator -- --port 5555`).
 */
import { parseArgs } from 'node:util';
import { startEmulator } from '../dev/emulator/index';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    'batch-size': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '4' },
    mode: { type: 'string', default: 'batch' },
    url: { type: 'string' },
  },
});

const seconds = Number(values.seconds);
const batchSize = Number(values['batch-size']);
const concurrency = Number(values.concurrency);
const mode = values.mode === 'bulk' ? 'bulk' : 'batch';

function batchRequest(webApiUrl: string, n: number): { url: string; contentType: string; body: string } {
  const boundary = `batch_bench`;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    parts.push(
      `--${boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n` +
        `POST /api/data/v9.2/accounts HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n` +
        `{"name":"Bench account ${i}","revenue":${i}}\r\n`,
    );
  }
  return {
    url: `${webApiUrl}$batch`,
    contentType: `multipart/mixed; boundary=${boundary}`,
    body: `${parts.join('')}--${boundary}--\r\n`,
  };
}

function bulkRequest(webApiUrl: string, n: number): { url: string; contentType: string; body: string } {
  const Targets = Array.from({ length: n }, (_, i) => ({
    '@odata.type': 'Microsoft.Dynamics.CRM.account',
    name: `Bench account ${i}`,
    revenue: i,
  }));
  return {
    url: `${webApiUrl}accounts/Microsoft.Dynamics.CRM.CreateMultiple`,
    contentType: 'application/json',
    body: JSON.stringify({ Targets }),
  };
}

async function main(): Promise<void> {
  const emulator = values.url
    ? undefined
    : await startEmulator({
        limits: { requestsPerWindow: 1e9, concurrency: 1000, executionMsPerWindow: 1e12 },
        latency: { baseMs: 0, perOperationMs: 0 },
      });
  const webApiUrl = values.url ? `${values.url.replace(/\/+$/, '')}/api/data/v9.2/` : emulator!.webApiUrl;
  const request = mode === 'bulk' ? bulkRequest(webApiUrl, batchSize) : batchRequest(webApiUrl, batchSize);
  const headers = {
    Authorization: 'Bearer bench',
    'Content-Type': request.contentType,
    Prefer: 'odata.continue-on-error',
  };

  let operations = 0;
  let requests = 0;
  let failures = 0;
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      const res = await fetch(request.url, { method: 'POST', headers, body: request.body });
      const text = await res.text();
      latencies.push(performance.now() - started);
      requests++;
      if (mode === 'bulk') {
        if (res.status === 200) operations += batchSize;
        else failures++;
        continue;
      }
      const ok = text.match(/^HTTP\/1\.1 204 /gm)?.length ?? 0;
      operations += ok;
      failures += batchSize - ok;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const records = emulator?.stats().recordsPerTable['account'];
  await emulator?.close();
  console.log(
    JSON.stringify({
      bench: 'emulator-throughput',
      mode,
      batchSize,
      concurrency,
      seconds: Number(elapsed.toFixed(2)),
      requests,
      operations,
      failures,
      opsPerSecond: Math.round(operations / elapsed),
      p50RequestMs: Math.round(latencies[Math.floor(latencies.length / 2)] ?? 0),
      recordsInEmulator: records,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
