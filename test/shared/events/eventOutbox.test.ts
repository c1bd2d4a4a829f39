/**
 * The end-event outbox: pure rules (property-based), then the kill points of a load's end and a job's end over
 * Azurite and the emulator. A kill is a failure injected at the point a process would die: a publisher that throws
 * (dies before the send), a store that throws right after the final write (dies between the write and the send),
 * a mark that throws (dies between the send and the mark). The next sweep must publish exactly one event in the
 * first two cases; in the third the repeat carries the same eventId.
 */
import { expect } from '@jest/globals';
import fc from 'fast-check';
import {
  claimPendingEvent,
  isPendingEventDue,
  readPendingEvent,
  recordPendingEvent,
  sweepPendingEvent,
} from '../../../shared/events/eventOutbox';
import {
  decodeQueueMessage,
  eventIdOf,
  jobEventKinds,
  jobEventSchema,
  jobOutcomes,
  type JobEvent,
  type JobEventPublisher,
} from '../../../shared/events/jobEvents';
import { createDataverseClient } from '../../../shared/dataverse/index';
import { buildSolutionZip } from '../../../dev/emulator/solutions/solutionZip';
import { chunkMessageSchema } from '../../../shared/loads/loadRecord';
import { processChunk } from '../../../shared/loads/chunkWorker';
import type { LoadContext } from '../../../shared/loads/loadContext';
import { startLoad } from '../../../shared/loads/loadScan';
import { sweepLoads } from '../../../shared/loads/loadSweeper';
import { createJobRuntime, type JobRuntime } from '../../../shared/jobs/jobRuntime';
import { publishPendingJobEvents } from '../../../shared/jobs/jobCompletion';
import { acceptMessage } from '../../../shared/jobs/jobAcceptance';
import { sweepAsyncOperations } from '../../../shared/jobs/asyncOperationPoller';
import { isTerminal } from '../../../shared/jobs/jobRecord';
import type { JobStore } from '../../../shared/jobs/jobStore';
import { startLoadFixture, type LoadFixture } from '../loads/loadFixture';

jest.setTimeout(120_000);

const event: Omit<JobEvent, 'eventId'> = {
  id: 'job-9',
  kind: 'ImportSolution',
  outcome: 'succeeded',
  statusCode: 30,
  links: { status: '/api/imports/job-9' },
  finishedAt: '2026-01-01T00:00:00.000Z',
};

describe('outbox rules', () => {
  it('a recorded event reads back with its stable eventId, whatever the id and outcome', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 60 }),
        fc.constantFrom(...jobOutcomes),
        fc.constantFrom(...jobEventKinds),
        fc.integer({ min: 0, max: 4e12 }),
        (id, outcome, kind, now) => {
          const pending = readPendingEvent(recordPendingEvent({ ...event, id, outcome, kind }, now))!;
          expect(pending.event.eventId).toBe(eventIdOf(id, outcome));
          expect(pending).toMatchObject({
            recordedAt: new Date(now).toISOString(),
            attemptAt: new Date(now).toISOString(),
            attempts: 1,
          });
          // A redo of the same end gives the same eventId: it is what consumers dedupe on.
          expect(readPendingEvent(recordPendingEvent({ ...event, id, outcome, kind }, now + 1))!.event.eventId).toBe(
            pending.event.eventId,
          );
        },
      ),
    );
  });

  it('is due only after the grace period since the last attempt; a claim restarts it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4e12 }),
        fc.integer({ min: 1, max: 600_000 }),
        fc.integer({ min: 0, max: 1_200_000 }),
        (at, grace, elapsed) => {
          const pending = readPendingEvent(recordPendingEvent(event, at))!;
          expect(isPendingEventDue(pending, at + elapsed, grace)).toBe(elapsed >= grace);
          const claimed = readPendingEvent(claimPendingEvent(pending, at + elapsed))!;
          expect(claimed.attempts).toBe(2);
          expect(isPendingEventDue(claimed, at + elapsed, grace)).toBe(false);
          expect(claimed.event).toEqual(pending.event);
        },
      ),
    );
  });

  it('unreadable pending JSON reads as none (the record rebuilds its event)', () => {
    expect(readPendingEvent(undefined)).toBeUndefined();
    expect(readPendingEvent('{not json')).toBeUndefined();
    expect(readPendingEvent(JSON.stringify({ event: { id: 'x' } }))).toBeUndefined();
  });

  it('refuses to record an invalid event', () => {
    expect(() => recordPendingEvent({ ...event, outcome: 'exploded' as never }, 0)).toThrow(/outcome/);
  });

  it('a sweep that loses the claim sends nothing', async () => {
    const sent: unknown[] = [];
    const publisher: JobEventPublisher = {
      publish: (e) => {
        sent.push(e);
        return Promise.resolve({ queued: true, webhook: 'skipped' });
      },
    };
    const pending = readPendingEvent(recordPendingEvent(event, 0));
    const marks: number[] = [];
    const entry = (claimed: boolean) => ({
      pending,
      rebuild: () => event,
      claim: () => Promise.resolve(claimed),
      markPublished: () => {
        marks.push(1);
        return Promise.resolve();
      },
    });
    expect(await sweepPendingEvent(publisher, entry(false), { nowMs: 60_000 })).toBe('claimedElsewhere');
    expect(await sweepPendingEvent(publisher, entry(true), { nowMs: 5_000 })).toBe('notDue');
    expect(sent).toHaveLength(0);
    expect(await sweepPendingEvent(publisher, entry(true), { nowMs: 60_000 })).toBe('published');
    expect(sent).toEqual([expect.objectContaining({ eventId: 'job-9:succeeded' })]);
    expect(marks).toHaveLength(1);
  });
});

let f: LoadFixture;
beforeAll(async () => {
  f = await startLoadFixture({ emulator: { solutions: { timing: { queuedMs: 50, runMs: 200 } } } });
});
afterAll(async () => f?.close());

/** Reads every event on the queue (consuming them), so each test sees only its own. */
async function takeEvents(queueName: string): Promise<JobEvent[]> {
  const queue = f.storage.queueService.getQueueClient(queueName);
  const out: JobEvent[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 600 });
    if (receivedMessageItems.length === 0) return out;
    for (const m of receivedMessageItems) {
      out.push(jobEventSchema.parse(decodeQueueMessage(m.messageText)));
      await queue.deleteMessage(m.messageId, m.popReceipt);
    }
  }
}

/** A process that dies at the send: the publisher throws. */
const dyingPublisher: JobEventPublisher = {
  publish: () => Promise.reject(new Error('process killed before the send')),
};

const later = <T extends { now: () => number }>(ctx: T, ms = 11_000): T => ({ ...ctx, now: () => Date.now() + ms });

describe('load end kill points', () => {
  async function runLoad(ctx: LoadContext, name: string): Promise<string> {
    await f.drop(name, 'name\r\nOne\r\nTwo\r\nThree\r\n');
    const started = await startLoad(ctx, { container: 'incoming', name });
    const queue = f.storage.queueService.getQueueClient('load-chunks');
    for (;;) {
      const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 300 });
      if (receivedMessageItems.length === 0) break;
      for (const m of receivedMessageItems) {
        await processChunk(ctx, chunkMessageSchema.parse(decodeQueueMessage(m.messageText)), {
          attempt: 1,
          maxAttempts: 5,
        }).catch(() => undefined);
        await queue.deleteMessage(m.messageId, m.popReceipt);
      }
    }
    return 'record' in started ? started.record.id : '';
  }

  beforeEach(() => takeEvents('job-events'));

  it('dies before the send: the status is final, the event pending; the next sweep publishes exactly one', async () => {
    const id = await runLoad({ ...f.ctx, events: dyingPublisher }, 'account/outbox-send.csv');
    const record = (await f.ctx.store.get(id))!;
    expect(record).toMatchObject({ status: 'succeeded', eventPublished: false });
    expect(readPendingEvent(record.pendingEventJson)!.event).toMatchObject({
      eventId: `${id}:succeeded`,
      counts: { total: 3, succeeded: 3 },
    });
    expect(await takeEvents('job-events')).toEqual([]);
    // Within the grace period the sweep leaves it to its writer.
    expect((await sweepLoads(f.ctx)).announced).toEqual([]);
    const swept = await sweepLoads(later(f.ctx));
    expect(swept.announced).toEqual([id]);
    expect((await sweepLoads(later(f.ctx, 60_000))).announced).toEqual([]);
    const events = await takeEvents('job-events');
    expect(events).toEqual([
      expect.objectContaining({
        eventId: `${id}:succeeded`,
        id,
        kind: 'load',
        outcome: 'succeeded',
        counts: { total: 3, succeeded: 3, failed: 0, notProcessed: 0 },
      }),
    ]);
    expect((await f.ctx.store.get(id))!.eventPublished).toBe(true);
  });

  it('dies right after the final write: the next sweep publishes exactly one', async () => {
    // The store throws once the write that made the load final has gone through (the process is gone).
    const store = { ...f.ctx.store };
    const dying = {
      ...f.ctx,
      store: {
        ...store,
        mutate: async (...args: Parameters<typeof store.mutate>) => {
          const result = await f.ctx.store.mutate(...args);
          if (result.changed && ['succeeded', 'partiallySucceeded', 'failed'].includes(result.record.status))
            throw new Error('process killed after the final write');
          return result;
        },
      },
    };
    const id = await runLoad(dying, 'account/outbox-write.csv');
    expect((await f.ctx.store.get(id))!).toMatchObject({ status: 'succeeded', eventPublished: false });
    expect(await takeEvents('job-events')).toEqual([]);
    // Two sweepers at once (two instances): the ETag claim lets one send.
    const [a, b] = await Promise.all([sweepLoads(later(f.ctx)), sweepLoads(later(f.ctx))]);
    expect([...a.announced, ...b.announced]).toEqual([id]);
    expect((await takeEvents('job-events')).map((e) => e.eventId)).toEqual([`${id}:succeeded`]);
  });

  it('dies between the send and the mark: the repeat carries the same eventId', async () => {
    const dying = {
      ...f.ctx,
      store: {
        ...f.ctx.store,
        mutate: async (...args: Parameters<LoadContext['store']['mutate']>) => {
          const current = await f.ctx.store.get(args[0]);
          const patch = current ? args[1](current) : undefined;
          if (patch && patch.eventPublished === true) throw new Error('process killed before the mark');
          return f.ctx.store.mutate(...args);
        },
      },
    };
    const id = await runLoad(dying, 'account/outbox-mark.csv');
    expect((await sweepLoads(later(f.ctx))).announced).toEqual([id]);
    const events = await takeEvents('job-events');
    expect(events).toHaveLength(2);
    expect(new Set(events.map((e) => e.eventId))).toEqual(new Set([`${id}:succeeded`]));
  });

  it('a load that cannot start (failLoad) records its event with the failure, published once', async () => {
    const id = await runLoad({ ...f.ctx, events: dyingPublisher }, 'nosuchtable/outbox-fail.csv');
    expect((await f.ctx.store.get(id))!).toMatchObject({ status: 'failed', eventPublished: false });
    await sweepLoads(later(f.ctx));
    const events = await takeEvents('job-events');
    expect(events).toEqual([
      expect.objectContaining({
        eventId: `${id}:failed`,
        outcome: 'failed',
        message: expect.stringMatching(/nosuchtable/),
      }),
    ]);
  });
});

describe('job end kill points', () => {
  let rt: JobRuntime;
  let n = 0;
  beforeEach(async () => {
    n++;
    const names = {
      jobsTable: `outboxjobs${n}`,
      eventsQueue: `outbox-events-${n}`,
      asyncQueue: `outbox-async-${n}`,
      solutionsContainer: 'solutions',
    };
    await f.storage.table(names.jobsTable).createTable();
    await f.storage.queueService.getQueueClient(names.eventsQueue).createIfNotExists();
    await f.storage.blobService.getContainerClient('solutions').createIfNotExists();
    const client = createDataverseClient({
      webApiUrl: f.emulator.webApiUrl,
      accessTokenSource: { getAccessToken: () => Promise.resolve('token') },
    });
    rt = createJobRuntime({
      storage: f.storage,
      send: (r, o) => client.send(r, o),
      environment: f.emulator.url,
      names,
      maxWaitMinutes: 60,
    });
  });

  async function importUntilEnded(ctx: typeof rt.context, id: string): Promise<void> {
    const name = `${id}.zip`;
    await f.storage.blobService
      .getContainerClient('solutions')
      .getBlockBlobClient(name)
      .uploadData(buildSolutionZip({ uniqueName: `outbox_${n}` }));
    await rt.accept(
      { kind: 'ImportSolution', solution: { container: 'solutions', name } },
      { defaultJobId: id, source: 'queue' },
    );
    const deadline = Date.now() + 45_000;
    while (!isTerminal((await rt.getJob(id))!.state)) {
      if (Date.now() > deadline) throw new Error(`job ${id} did not end`);
      await sweepAsyncOperations(ctx);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('dies before the send: ended, event pending; the next poller sweep publishes exactly one', async () => {
    await importUntilEnded({ ...rt.context, events: dyingPublisher }, 'kill-send');
    const stored = (await rt.context.store.get('kill-send'))!;
    expect(stored.job).toMatchObject({ state: 'succeeded', statusCode: 30, eventPublished: false });
    expect(await takeEvents(rt.names.eventsQueue)).toEqual([]);
    expect((await sweepAsyncOperations(rt.context)).eventsPublished).toBe(0);
    const [a, b] = await Promise.all([
      sweepAsyncOperations(later(rt.context)),
      sweepAsyncOperations(later(rt.context)),
    ]);
    expect(a.eventsPublished + b.eventsPublished).toBe(1);
    expect(await publishPendingJobEvents(later(rt.context, 60_000))).toEqual([]);
    expect(await takeEvents(rt.names.eventsQueue)).toEqual([
      expect.objectContaining({
        eventId: 'kill-send:succeeded',
        id: 'kill-send',
        kind: 'ImportSolution',
        outcome: 'succeeded',
        statusCode: 30,
      }),
    ]);
    expect((await rt.context.store.get('kill-send'))!.job.eventPublished).toBe(true);
  });

  it('dies right after the final write (store throws): the next sweep publishes exactly one', async () => {
    const store: JobStore = {
      ...rt.context.store,
      update: async (id, etag, patch) => {
        const after = await rt.context.store.update(id, etag, patch);
        if (patch.state && isTerminal(patch.state)) throw new Error('process killed after the final write');
        return after;
      },
    };
    await importUntilEnded({ ...rt.context, store }, 'kill-write');
    expect((await rt.context.store.get('kill-write'))!.job).toMatchObject({
      state: 'succeeded',
      eventPublished: false,
    });
    expect(await takeEvents(rt.names.eventsQueue)).toEqual([]);
    await sweepAsyncOperations(later(rt.context));
    expect((await takeEvents(rt.names.eventsQueue)).map((e) => e.eventId)).toEqual(['kill-write:succeeded']);
  });

  it('a rejected message whose event could not be sent: published once by the sweep, not again on redelivery', async () => {
    const dying = { ...rt.context, events: dyingPublisher };
    await acceptMessage(
      dying,
      { kind: 'PublishAllXml', jobId: 'kill-rejected' },
      { defaultJobId: 'x', source: 'queue' },
    );
    await rt.accept({ kind: 'PublishAllXml', jobId: 'kill-rejected' }, { defaultJobId: 'x', source: 'queue' });
    expect(await takeEvents(rt.names.eventsQueue)).toEqual([]);
    await sweepAsyncOperations(later(rt.context));
    expect(await takeEvents(rt.names.eventsQueue)).toEqual([
      expect.objectContaining({ eventId: 'kill-rejected:rejected', outcome: 'rejected', kind: 'Unknown' }),
    ]);
  });

  it('without a failure: one event at once, nothing left for the sweep', async () => {
    await importUntilEnded(rt.context, 'no-kill');
    expect((await takeEvents(rt.names.eventsQueue)).map((e) => e.eventId)).toEqual(['no-kill:succeeded']);
    expect(await publishPendingJobEvents(later(rt.context, 60_000))).toEqual([]);
    expect((await rt.context.store.get('no-kill'))!.job.eventPublished).toBe(true);
  });
});
