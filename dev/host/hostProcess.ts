import { fork, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { FunctionSummary, HostOptions } from './host';

export interface HostProcessOptions extends Omit<HostOptions, 'log'> {
  /** Extra environment for the child (merged over process.env). */
  env?: NodeJS.ProcessEnv;
  /** Receives every line the host prints (default: discarded, but kept in output()). */
  onOutput?: (line: string) => void;
  /** Path of the compiled entry (default: dist/dev/host/main.js next to this module's compiled form). */
  entry?: string;
  readyTimeoutMs?: number;
}

export interface HostProcess {
  url: string;
  port: number;
  pid: number;
  hostId: string;
  functions: FunctionSummary[];
  /** Everything the host printed so far. */
  output(): string;
  /** Graceful stop (in-flight invocations finish); resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** Hard kill (SIGKILL by default): no cleanup, like a crashed worker. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export class HostProcessError extends Error {
  readonly code = 'HostProcessFailed';
}

/** The compiled child entry: works from dist/ (compiled) and from sources run by jest (which map to dist/). */
export function defaultHostEntry(): string {
  const here = __dirname;
  return here.includes(`${join('dist', 'dev', 'host')}`)
    ? join(here, 'main.js')
    : resolve(here, '..', '..', 'dist', 'dev', 'host', 'main.js');
}

/** Runs the local host in a child process (a test can SIGKILL it and start another on the same storage). */
export async function startHostProcess(options: HostProcessOptions = {}): Promise<HostProcess> {
  const { env, onOutput, entry, readyTimeoutMs = 60_000, ...hostOptions } = options;
  const lines: string[] = [];
  const child: ChildProcess = fork(entry ?? defaultHostEntry(), [], {
    env: { ...process.env, ...env, LOCAL_HOST_OPTIONS: JSON.stringify(hostOptions) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split(/\r?\n/)) {
      if (line === '') continue;
      lines.push(line);
      onOutput?.(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));

  const ready = await new Promise<{ url: string; port: number; hostId: string; functions: FunctionSummary[] }>(
    (resolveReady, reject) => {
      const timer = setTimeout(
        () => reject(new HostProcessError(`Host did not become ready in ${readyTimeoutMs} ms:\n${lines.join('\n')}`)),
        readyTimeoutMs,
      );
      child.on('message', (message: { type?: string; message?: string } & Record<string, unknown>) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolveReady(message as never);
        } else if (message.type === 'error') {
          clearTimeout(timer);
          reject(new HostProcessError(`Host failed to start: ${message.message}`));
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new HostProcessError(`Host exited (code ${code}) before it was ready:\n${lines.join('\n')}`));
      });
    },
  );

  return {
    ...ready,
    pid: child.pid!,
    output: () => lines.join('\n'),
    exited,
    async stop(timeoutMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.send('shutdown');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}
