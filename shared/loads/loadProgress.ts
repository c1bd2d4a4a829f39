/**
 * Live progress of a load, from the entities its chunks leave in the load's partition: each chunk's plan
 * (with `startedAt` once a worker took it) and its completion (when, rows, 429s, the client's concurrency).
 * Rates come from completions in the last minute, so they follow Dataverse's pace as it changes.
 */
import { z } from 'zod';
import type { ChunkMessage } from './loadRecord';

/** What a chunk's completion entity records besides its index. */
export const chunkDoneSchema = z.object({
  chunkIndex: z.coerce.number(),
  at: z.string(),
  succeeded: z.number().optional().catch(undefined),
  failed: z.number().optional().catch(undefined),
  notProcessed: z.number().optional().catch(undefined),
  /** 429s the chunk's calls got. */
  throttled: z.number().optional().catch(undefined),
  /** The Dataverse client's concurrency limit when the chunk ended. */
  concurrency: z.number().optional().catch(undefined),
});
export type ChunkDone = z.infer<typeof chunkDoneSchema>;

export type ChunkState = 'queued' | 'running' | 'done';

export interface ChunkProgress {
  index: number;
  firstRow: number;
  rowCount: number;
  state: ChunkState;
  startedAt?: string;
  done?: ChunkDone;
}

export function chunkProgressOf(
  plans: ChunkMessage[],
  started: ReadonlyMap<number, string>,
  done: ChunkDone[],
): ChunkProgress[] {
  const doneByIndex = new Map(done.map((d) => [d.chunkIndex, d]));
  return [...plans]
    .sort((a, b) => a.chunkIndex - b.chunkIndex)
    .map((p) => {
      const finished = doneByIndex.get(p.chunkIndex);
      const startedAt = started.get(p.chunkIndex);
      return {
        index: p.chunkIndex,
        firstRow: p.firstRow,
        rowCount: p.rowCount,
        state: finished ? 'done' : startedAt ? 'running' : 'queued',
        ...(startedAt ? { startedAt } : {}),
        ...(finished ? { done: finished } : {}),
      };
    });
}

export interface ProgressView {
  /** Rows completed in the last minute ÷ its length (shorter when the load started less than a minute ago). */
  rowsPerSecond: number;
  etaSeconds?: number;
  chunks: {
    total: number;
    queued: number;
    running: number;
    done: number;
    items: {
      index: number;
      firstRow: number;
      rowCount: number;
      state: ChunkState;
      succeeded?: number;
      failed?: number;
      notProcessed?: number;
    }[];
  };
  dataverse: { concurrency?: number; throttledLastMinute: number };
}

export const progressWindowMs = 60_000;

export interface ProgressInput {
  chunks: ChunkProgress[];
  /** Now for a running load; its end for a finished one (the rate of its last minute). */
  at: number;
  startedAt?: number;
  total?: number;
  processed: number;
  running: boolean;
}

export function progressOf({ chunks, at, startedAt, total, processed, running }: ProgressInput): ProgressView {
  const windowStart = at - progressWindowMs;
  const recent = chunks.filter((c) => c.done && Date.parse(c.done.at) > windowStart && Date.parse(c.done.at) <= at);
  const rowsOf = (c: ChunkProgress) =>
    c.done!.succeeded !== undefined
      ? c.done!.succeeded + (c.done!.failed ?? 0) + (c.done!.notProcessed ?? 0)
      : c.rowCount;
  const recentRows = recent.reduce((sum, c) => sum + rowsOf(c), 0);
  const firstStart = Math.min(
    startedAt ?? Number.POSITIVE_INFINITY,
    ...chunks.filter((c) => c.startedAt).map((c) => Date.parse(c.startedAt!)),
  );
  const seconds = Math.min(progressWindowMs, Number.isFinite(firstStart) ? at - firstStart : progressWindowMs) / 1000;
  const rowsPerSecond = seconds > 0 ? Math.round(recentRows / seconds) : 0;
  const left = total !== undefined ? Math.max(0, total - processed) : undefined;
  const latest = chunks
    .filter((c) => c.done?.concurrency !== undefined)
    .sort((a, b) => Date.parse(b.done!.at) - Date.parse(a.done!.at))[0];
  const count = (state: ChunkState) => chunks.filter((c) => c.state === state).length;
  return {
    rowsPerSecond,
    ...(running && left !== undefined && rowsPerSecond > 0 ? { etaSeconds: Math.ceil(left / rowsPerSecond) } : {}),
    chunks: {
      total: chunks.length,
      queued: count('queued'),
      running: count('running'),
      done: count('done'),
      items: chunks.map((c) => ({
        index: c.index,
        firstRow: c.firstRow,
        rowCount: c.rowCount,
        state: c.state,
        ...(c.done?.succeeded !== undefined ? { succeeded: c.done.succeeded } : {}),
        ...(c.done?.failed !== undefined ? { failed: c.done.failed } : {}),
        ...(c.done?.notProcessed ? { notProcessed: c.done.notProcessed } : {}),
      })),
    },
    dataverse: {
      ...(latest ? { concurrency: latest.done!.concurrency! } : {}),
      throttledLastMinute: recent.reduce((sum, c) => sum + (c.done!.throttled ?? 0), 0),
    },
  };
}
