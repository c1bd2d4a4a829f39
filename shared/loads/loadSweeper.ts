/**
 * The load sweeper (timer): resumes loads that stopped making progress and ends loads whose last worker died.
 * A host killed mid-load leaves its queue messages invisible for their lease (10 minutes) and its blob-trigger
 * message too; after LOAD_STALL_SECONDS without progress the sweeper queues a scan message for an unfinished scan, re-enqueues the
 * chunks without a completion (only the next one for ContinueOnError=false loads), finishes complete loads and
 * publishes end events a crash left pending in the outbox (those older than a few seconds: min(stall period,
 * 10 s)), claiming each with the record's ETag first: of several instances' sweepers, only the one whose claim
 * wins acts on a load. Everything it triggers is idempotent.
 */
import { isoAt, type LoadContext } from './loadContext';
import { publishPendingLoadEvent, tryFinalize } from './loadEnd';
import { isComplete, isTerminal, type LoadRecord } from './loadRecord';
import { acceptLoad } from './loadScan';

export interface SweepReport {
  resumedScans: string[];
  requeuedChunks: { loadId: string; chunkIndex: number }[];
  finalized: string[];
  announced: string[];
}

async function requeueMissing(ctx: LoadContext, record: LoadRecord, report: SweepReport): Promise<void> {
  const [plan, done] = await Promise.all([ctx.store.listPlan(record.id), ctx.store.doneChunks(record.id)]);
  const missing = plan.filter((chunk) => !done.has(chunk.chunkIndex));
  const toSend = record.continueOnError === false ? missing.slice(0, 1) : missing;
  for (const chunk of toSend) {
    await ctx.chunkQueue.send(chunk);
    report.requeuedChunks.push({ loadId: record.id, chunkIndex: chunk.chunkIndex });
  }
}

export async function sweepLoads(ctx: LoadContext): Promise<SweepReport> {
  const report: SweepReport = { resumedScans: [], requeuedChunks: [], finalized: [], announced: [] };
  for await (const record of ctx.store.listUnfinished()) {
    try {
      if (isTerminal(record)) {
        if (!record.eventPublished && (await publishPendingLoadEvent(ctx, record)) === 'published')
          report.announced.push(record.id);
        continue;
      }
      const idleMs = ctx.now() - Date.parse(record.updatedAt);
      if (idleMs < ctx.stallMs) continue;
      if (isComplete(record)) {
        if (await tryFinalize(ctx, record.id)) report.finalized.push(record.id);
        continue;
      }
      // Chunks waiting for the daily request budget make no progress, and their messages come back on their own.
      if (ctx.requestBudget && (await ctx.requestBudget.state()).level === 'exhausted') continue;
      // Claim the resume: mark it as progress with an ETag-guarded write, so the next sweep gives it a full stall
      // period. Only the sweeper whose write wins resumes; one that lost (412, or the record moved since it was
      // listed: another sweeper claimed it, or a worker made progress) leaves it alone, so two instances' sweepers
      // never re-enqueue the same chunks.
      const claim = await ctx.store.mutate(record.id, (r) =>
        r.updatedAt === record.updatedAt ? { updatedAt: isoAt(ctx.now()) } : undefined,
      );
      if (!claim.changed) continue;
      if (!record.scanComplete) {
        report.resumedScans.push(record.id);
        // A load the HTTP API queued is accepted from its blob; a started one gets a scan message (pinned to its ETag).
        if (record.status === 'queued') await acceptLoad(ctx, { container: record.container, name: record.blobName });
        else await ctx.chunkQueue.send({ kind: 'scan', loadId: record.id });
      } else if (record.stoppedAtRow === undefined) {
        await requeueMissing(ctx, record, report);
      }
    } catch (error) {
      ctx.log?.warn('Load sweep: could not resume a load', { loadId: record.id, error: String(error) });
    }
  }
  return report;
}
