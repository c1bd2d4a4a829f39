import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { startAzurite, type AzuriteFixture } from '../jobs/azurite';
import {
  createJobEventPublisher,
  decodeQueueMessage,
  encodeQueueMessage,
  jobEventSchema,
  type JobEvent,
} from '../../../shared/events/jobEvents';

let azurite: AzuriteFixture;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => azurite?.close());

const event: JobEvent = {
  eventId: 'job-1:failed',
  id: 'job-1',
  kind: 'ImportSolution',
  outcome: 'failed',
  statusCode: 31,
  message: 'Import failed: missing dependency',
  links: { status: '/api/imports/job-1' },
  finishedAt: '2026-01-01T00:00:00.000Z',
};

async function queueNamed(name: string) {
  const queue = azurite.clients.queueService.getQueueClient(name);
  await queue.createIfNotExists();
  return queue;
}

/** A webhook receiver answering the given statuses in turn, then 200. */
async function webhook(statuses: number[]) {
  const bodies: unknown[] = [];
  let calls = 0;
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.statusCode = statuses[calls++] ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, bodies, calls: () => calls, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('queue message codec', () => {
  it('round-trips any JSON value through base64 and accepts plain JSON', () => {
    fc.assert(
      fc.property(
        fc.jsonValue().filter((v) => typeof v === 'object' && v !== null),
        (value) => {
          expect(decodeQueueMessage(encodeQueueMessage(value))).toEqual(JSON.parse(JSON.stringify(value)));
          expect(decodeQueueMessage(JSON.stringify(value))).toEqual(JSON.parse(JSON.stringify(value)));
        },
      ),
    );
  });
});

describe('job event publisher', () => {
  it('puts the event on the queue as base64 JSON', async () => {
    const queue = await queueNamed('events-plain');
    const publisher = createJobEventPublisher({ queueClient: queue });
    await expect(publisher.publish(event)).resolves.toEqual({ queued: true, webhook: 'skipped' });
    const received = await queue.receiveMessages({ numberOfMessages: 5 });
    expect(received.receivedMessageItems).toHaveLength(1);
    expect(jobEventSchema.parse(decodeQueueMessage(received.receivedMessageItems[0]!.messageText))).toEqual(event);
  });

  it('refuses an invalid event and sends nothing', async () => {
    const queue = await queueNamed('events-invalid');
    const publisher = createJobEventPublisher({ queueClient: queue });
    await expect(publisher.publish({ ...event, outcome: 'exploded' as never })).rejects.toThrow(/outcome/);
    const props = await queue.getProperties();
    expect(props.approximateMessagesCount).toBe(0);
  });

  it('retries a failing webhook and delivers', async () => {
    const hook = await webhook([503, 500]);
    try {
      const queue = await queueNamed('events-hook');
      const publisher = createJobEventPublisher({ queueClient: queue, webhookUrl: hook.url, webhookRetryDelayMs: 10 });
      await expect(publisher.publish(event)).resolves.toEqual({ queued: true, webhook: 'delivered' });
      expect(hook.calls()).toBe(3);
      expect(hook.bodies[2]).toEqual(event);
    } finally {
      await hook.close();
    }
  });

  it('a webhook that keeps failing never blocks the queue event', async () => {
    const hook = await webhook([500, 500, 500, 500]);
    try {
      const queue = await queueNamed('events-hook-down');
      const publisher = createJobEventPublisher({
        queueClient: queue,
        webhookUrl: hook.url,
        webhookRetryDelayMs: 10,
        webhookAttempts: 3,
      });
      const result = await publisher.publish(event);
      expect(result).toEqual({ queued: true, webhook: 'failed', webhookError: 'HTTP 500' });
      expect(hook.calls()).toBe(3);
      expect((await queue.getProperties()).approximateMessagesCount).toBe(1);
    } finally {
      await hook.close();
    }
  });

  it('does not retry a 4xx refusal, and survives an unreachable webhook', async () => {
    const hook = await webhook([404]);
    const queue = await queueNamed('events-hook-404');
    try {
      const publisher = createJobEventPublisher({ queueClient: queue, webhookUrl: hook.url, webhookRetryDelayMs: 10 });
      expect((await publisher.publish(event)).webhook).toBe('failed');
      expect(hook.calls()).toBe(1);
    } finally {
      await hook.close();
    }
    const unreachable = createJobEventPublisher({
      queueClient: queue,
      webhookUrl: hook.url,
      webhookRetryDelayMs: 10,
      webhookAttempts: 2,
    });
    const result = await unreachable.publish(event);
    expect(result.webhook).toBe('failed');
    expect((await queue.getProperties()).approximateMessagesCount).toBe(2);
  });
});
