/**
 * Child-process entry of the local host: `node dist/dev/host/main.js [appDir]`. Options come as JSON in the
 * LOCAL_HOST_OPTIONS environment variable (from startHostProcess). Reports `{type:'ready'}` over IPC when forked,
 * stops gracefully on SIGINT/SIGTERM or the IPC message 'shutdown'.
 */
import { appendFileSync } from 'node:fs';
import { startHost, type HostOptions } from './host';
import { activeInvocations } from './invocation';

/** LOCAL_HOST_MEMORY_LOG=<file>: appends process.memoryUsage() (MB) every LOCAL_HOST_MEMORY_LOG_MS (1000) ms, to see what grows. */
function logMemory(file: string | undefined, everyMs: number): void {
  if (!file) return;
  const mb = (n: number) => Math.round(n / 2 ** 20);
  const started = Date.now();
  // LOCAL_HOST_MEMORY_LOG_GC=1 (with node --expose-gc): collect first, so the figures are what is retained.
  const gc = process.env.LOCAL_HOST_MEMORY_LOG_GC ? (globalThis as { gc?: () => void }).gc : undefined;
  setInterval(() => {
    gc?.();
    const m = process.memoryUsage();
    appendFileSync(
      file,
      `${JSON.stringify({ s: Math.round((Date.now() - started) / 1000), rss: mb(m.rss), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers), running: Object.fromEntries(activeInvocations) })}\n`,
    );
  }, everyMs).unref();
}

async function main(): Promise<void> {
  const options = JSON.parse(process.env.LOCAL_HOST_OPTIONS ?? '{}') as HostOptions;
  if (process.argv[2]) options.appDir = process.argv[2];
  logMemory(process.env.LOCAL_HOST_MEMORY_LOG, Number(process.env.LOCAL_HOST_MEMORY_LOG_MS ?? 1000));
  const host = await startHost(options);
  const ready = { type: 'ready', url: host.url, port: host.port, hostId: host.hostId, functions: host.functions };
  if (process.send) process.send(ready);
  else console.log(`ready ${JSON.stringify({ api: host.url, functions: host.functions.map((f) => f.name) })}`);
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    void host.stop().then(({ drained }) => {
      process.send?.({ type: 'stopped', drained });
      process.exit(0);
    });
  };
  process.on('SIGINT', shutdown).on('SIGTERM', shutdown);
  process.on('message', (message) => {
    if (message === 'shutdown') shutdown();
  });
  process.on('disconnect', shutdown);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.send?.({ type: 'error', message: error.message });
  process.exit(1);
});
