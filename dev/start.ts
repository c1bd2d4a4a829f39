/**
 * `npm start`: Azurite on disk (`.azurite/`, ports 10000-10002, so `UseDevelopmentStorage=true` works for other
 * tools), the Dataverse emulator unless DATAVERSE_URL is set, the app's containers/queues/tables, and the local
 * Functions host on PORT (default 7071). Prints a banner and one `ready {json}` line. Ctrl-C stops everything.
 */
import { join, resolve } from 'node:path';
import { devConnectionString } from './host/storageAccount';
import { defaultAzuriteLocation, startLocalStack, type LocalStack } from './host/localStack';
import { applyLocalSettings } from './host/localSettings';

export { startLocalStack, type LocalStack, type LocalStackOptions } from './host/localStack';
export { startHostProcess } from './host/hostProcess';

/** An Azurite already listening on the standard blob port (e.g. the VS Code extension) is reused. */
async function runningAzurite(): Promise<boolean> {
  try {
    const response = await fetch('http://127.0.0.1:10000/devstoreaccount1?comp=list', {
      signal: AbortSignal.timeout(1000),
    });
    return (response.headers.get('server') ?? '').toLowerCase().includes('azurite');
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const appDir = resolve(process.cwd());
  // local.settings.json first (env wins), so DATAVERSE_URL may come from either, as with Core Tools.
  applyLocalSettings(appDir);
  const dataverseUrl = process.env.DATAVERSE_URL || undefined;
  const storageSetting = process.env.AzureWebJobsStorage;
  const useExisting = storageSetting && !/^\s*UseDevelopmentStorage=true\s*;?\s*$/i.test(storageSetting);
  const storage = useExisting
    ? { connectionString: storageSetting }
    : (await runningAzurite())
      ? { connectionString: devConnectionString({ blob: 10000, queue: 10001, table: 10002 }) }
      : { location: defaultAzuriteLocation(appDir) };
  const port = process.env.PORT ? Number(process.env.PORT) : 7071;

  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      appDir,
      port,
      storage,
      dataverseUrl,
      emulator: dataverseUrl ? undefined : { persistPath: join(appDir, '.emulator', 'records.json') },
      hostIn: 'process',
      // In Azure the blob triggers are Event Grid–sourced and fire within about a second of an upload; a 2 s
      // container scan is closer to that than the polling host's 10 s.
      blobScanIntervalMs: 2000,
    });
  } catch (error) {
    console.error(`npm start failed: ${(error as Error).message}`);
    process.exit(1);
  }

  const functions = 'functions' in stack.host ? stack.host.functions : [];
  const lines = [
    '',
    '  Dataverse loader — local run',
    `  Functions   ${stack.api}`,
    ...functions.map((f) => `    ${f.name.padEnd(22)} ${f.trigger.padEnd(13)} ${f.detail}`),
    `  Dataverse   ${stack.dataverse}${stack.emulator ? '  (emulator, managed identity)' : '  (real environment)'}`,
    `  Storage     ${'location' in storage ? `Azurite on 127.0.0.1:10000-10002, data in ${storage.location}` : 'existing account / Azurite'}`,
    `  Started in  ${((Date.now() - started) / 1000).toFixed(1)} s — Ctrl-C to stop`,
    '',
  ];
  console.log(lines.join('\n'));
  console.log(
    `ready ${JSON.stringify({ api: stack.api, dataverse: stack.dataverse, storage: stack.storage, functions: functions.map((f) => f.name) })}`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.exit(130);
    }
    stopping = true;
    console.log(`\n${signal}: stopping (finishing running invocations; Ctrl-C again to force)…`);
    void stack.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT')).on('SIGTERM', () => stop('SIGTERM'));
}

if (require.main === module) void main();
