import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { devConnectionString } from './host/storageAccount';

export interface AzuriteOptions {
  /** Folder for on-disk persistence (npm start: `.azurite/`). Absent: in memory. */
  location?: string;
  /** Ports; 0 (the default for in-memory) lets the OS pick free ones. On disk defaults to 10000/10001/10002. */
  ports?: { blob: number; queue: number; table: number };
  host?: string;
  /** Receives Azurite's console lines. */
  onOutput?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface AzuriteHandle {
  connectionString: string;
  ports: { blob: number; queue: number; table: number };
  pid: number;
  stop(): Promise<void>;
}

export class AzuriteStartError extends Error {
  readonly code = 'AzuriteStartFailed';
}

/** Azurite's CLI entry (`require('azurite')` loads the VS Code extension instead). */
function azuriteCli(): string {
  return join(dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'azurite.js');
}

/**
 * Starts Azurite (blob, queue, table) as a child process of this Node. `--skipApiVersionCheck` because the SDKs are
 * newer than Azurite, `--disableTelemetry` because it is on by default, `--loose` to accept headers Azurite does not know.
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteHandle> {
  const host = options.host ?? '127.0.0.1';
  const ports =
    options.ports ?? (options.location ? { blob: 10000, queue: 10001, table: 10002 } : { blob: 0, queue: 0, table: 0 });
  const args = [
    azuriteCli(),
    '--blobHost',
    host,
    '--queueHost',
    host,
    '--tableHost',
    host,
    '--blobPort',
    String(ports.blob),
    '--queuePort',
    String(ports.queue),
    '--tablePort',
    String(ports.table),
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--loose',
    '--silent',
  ];
  let cwd = tmpdir();
  if (options.location) {
    mkdirSync(options.location, { recursive: true });
    args.push('--location', options.location);
    cwd = options.location;
  } else {
    args.push('--inMemoryPersistence', '--extentMemoryLimit', '512');
  }
  // The IPC channel closes when this process dies, however it dies (SIGKILL included): the preloaded listener then
  // ends Azurite, so no orphan keeps ports or memory after a killed test run or a killed `npm start`.
  const exitWithParent = 'data:text/javascript,process.on("disconnect",()=>process.exit(0))';
  const child = spawn(process.execPath, ['--import', exitWithParent, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  // Do not outlive the process that started it (an exit without stop(), e.g. process.exit on an error).
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const lines: string[] = [];
  const found: Partial<Record<'blob' | 'queue' | 'table', number>> = {};
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new AzuriteStartError(`Azurite did not start in time:\n${lines.join('\n')}`)),
      options.startTimeoutMs ?? 30_000,
    );
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split(/\r?\n/)) {
        if (!line) continue;
        lines.push(line);
        options.onOutput?.(line);
        const m = /Azurite (Blob|Queue|Table) service is successfully listening at https?:\/\/[^:]+:(\d+)/.exec(line);
        if (m) found[m[1]!.toLowerCase() as 'blob'] = Number(m[2]);
        if (found.blob && found.queue && found.table) {
          clearTimeout(timer);
          resolve();
        }
      }
    };
    // stdio[1] and [2] are pipes (spawn options above), so these streams exist.
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new AzuriteStartError(`Azurite exited (code ${code}):\n${lines.join('\n')}`));
    });
  });
  try {
    await ready;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const actual = { blob: found.blob!, queue: found.queue!, table: found.table! };
  return {
    connectionString: devConnectionString(actual, host),
    ports: actual,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
