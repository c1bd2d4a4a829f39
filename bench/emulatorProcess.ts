/**
 * The emulator in its own process (dev/emulator/cli.ts), so the loaders measured and the emulator do not share
 * one event loop: the client's CPU cost is the client's alone. Controlled over its `/_emulator/*` endpoints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { EmulatorOptions, EmulatorStats } from '../dev/emulator/index';

export interface EmulatorProcess {
  url: string;
  webApiUrl: string;
  pid: number;
  stats(): Promise<EmulatorStats>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function startEmulatorProcess(options: EmulatorOptions, configDir: string): Promise<EmulatorProcess> {
  const config = join(configDir, `emulator-${process.pid}-${Date.now()}.json`);
  await writeFile(config, JSON.stringify(options));
  const child: ChildProcess = spawn(
    process.execPath,
    [join(__dirname, '..', 'dev', 'emulator', 'cli.js'), '--port', '0', '--config', config],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([
    once(lines, 'line').then(([line]) => String(line)),
    once(child, 'exit').then(([code]) =>
      Promise.reject(new Error(`the emulator exited with ${code} before it listened`)),
    ),
  ]);
  const webApiUrl = first.trim();
  const url = webApiUrl.replace(/\/api\/data\/v9\.2\/?$/, '');
  const control = async (method: string, path: string) => {
    const response = await fetch(`${url}${path}`, { method });
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status}`);
    return response.status === 204 ? undefined : response.json();
  };
  return {
    url,
    webApiUrl,
    pid: child.pid!,
    stats: async () => (await control('GET', '/_emulator/stats')) as EmulatorStats,
    reset: async () => void (await control('POST', '/_emulator/reset')),
    async close() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
