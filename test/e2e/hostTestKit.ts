/** Shared by the host end-to-end tests: starting fixture apps, polling on storage, decoding base64 queue messages. */
import { QueueClient } from '@azure/storage-queue';
import type { AzuriteHandle } from '../../dev/azurite';
import { startHostProcess, type HostProcess } from '../../dev/host/hostProcess';

export const fixtureFile = (name: string) => `dist/test/dev/host/fixtures/${name}.js`;
export const repoRoot = `${__dirname}/../..`;

/** Fixture apps (test/dev/host/fixtures, by name) in the host, a child process on a free port, on Azurite. */
export function startFixtureHost(
  azurite: AzuriteHandle,
  options: { fixtures: string[]; hostId: string; env?: NodeJS.ProcessEnv },
): Promise<HostProcess> {
  return startHostProcess({
    appDir: repoRoot,
    files: options.fixtures.map(fixtureFile),
    port: 0,
    hostId: options.hostId,
    env: { AzureWebJobsStorage: azurite.connectionString, ...options.env },
  });
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `Timed out waiting for ${what}${last ? `: ${last instanceof Error ? String(last) : JSON.stringify(last)}` : ''}`,
  );
}

/** Peeks (without consuming) up to 32 messages, decoded from base64 as the host writes them. */
export async function peekTexts(connectionString: string, queueName: string): Promise<string[]> {
  const queue = new QueueClient(connectionString, queueName);
  if (!(await queue.exists())) return [];
  const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((m) => Buffer.from(m.messageText, 'base64').toString('utf8'));
}

export async function sendBase64(connectionString: string, queueName: string, text: string): Promise<void> {
  const queue = new QueueClient(connectionString, queueName);
  await queue.createIfNotExists();
  await queue.sendMessage(Buffer.from(text, 'utf8').toString('base64'));
}

export const count = (text: string, needle: string) => text.split(needle).length - 1;
