/**
 * Child-process entry of the local host: `node dist/dev/host/main.js [appDir]`. Options come as JSON in the
 * LOCAL_HOST_OPTIONS environment variable (from startHostProcess). Reports `{type:'ready'}` over IPC when forked,
 * stops gracefully on SIGINT/SIGTERM or the IPC message 'shutdown'.
 */
import { startHost, type HostOptions } from './host';

async function main(): Promise<void> {
  const options = JSON.parse(process.env.LOCAL_HOST_OPTIONS ?? '{}') as HostOptions;
  if (process.argv[2]) options.appDir = process.argv[2];
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
