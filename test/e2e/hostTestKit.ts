/** Shared by the host end-to-end tests: polling on storage, decoding base64 queue messages. */
import { QueueClient } from '@azure/storage-queue';

export const fixtureFile = (name: string) => `dist/test/dev/host/fixtures/${name}.js`;
export const repoRoot = `${__dirname}/../..`;

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
