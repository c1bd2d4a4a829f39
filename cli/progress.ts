/**
 * What a person watching a load wants to see, from GET /api/loads/{id}: rows done of total, rows/s, ETA, failed
 * so far, throttling. The app's live fields win; an app without them still gets an average since the start.
 * Pure, shared by the CLI's progress bar and the status page.
 */
import type { JobView, LoadView } from './apiClient';

export interface LoadProgress {
  done: number;
  total?: number;
  /** 0..1 once the total is known. */
  fraction?: number;
  failed: number;
  rowsPerSecond?: number;
  etaSeconds?: number;
  /** 429s: in the last minute while it runs (when the app says), else since the start. */
  throttled: number;
  throttledSince: 'lastMinute' | 'start';
  concurrency?: number;
}

export function loadProgress(view: LoadView, nowMs: number): LoadProgress {
  const done = view.counts.processed ?? view.counts.succeeded + view.counts.failed;
  const total = view.counts.total;
  const fraction = total === undefined ? undefined : total === 0 ? 1 : Math.min(1, done / total);
  const started = view.timings.startedAt ? Date.parse(view.timings.startedAt) : undefined;
  const finished = view.timings.finishedAt ? Date.parse(view.timings.finishedAt) : undefined;
  const elapsedSeconds = started === undefined ? undefined : ((finished ?? nowMs) - started) / 1000;
  const average = elapsedSeconds !== undefined && elapsedSeconds > 0 && done > 0 ? done / elapsedSeconds : undefined;
  const rowsPerSecond = view.progress?.rowsPerSecond ?? view.timings.rowsPerSecond ?? average;
  const live = view.progress?.etaSeconds;
  const etaSeconds =
    finished !== undefined
      ? undefined
      : typeof live === 'number'
        ? live
        : total !== undefined && rowsPerSecond
          ? Math.max(0, (total - done) / rowsPerSecond)
          : undefined;
  return {
    done,
    failed: view.counts.failed,
    ...throttling(view, finished !== undefined),
    ...(total !== undefined ? { total } : {}),
    ...(fraction !== undefined ? { fraction } : {}),
    ...(rowsPerSecond !== undefined ? { rowsPerSecond: Math.round(rowsPerSecond) } : {}),
    ...(etaSeconds !== undefined ? { etaSeconds: Math.round(etaSeconds) } : {}),
    ...(view.progress?.dataverse?.concurrency !== undefined
      ? { concurrency: view.progress.dataverse.concurrency }
      : {}),
  };
}

function throttling(view: LoadView, ended: boolean): Pick<LoadProgress, 'throttled' | 'throttledSince'> {
  const lastMinute = view.progress?.dataverse?.throttledLastMinute;
  if (!ended && lastMinute !== undefined) return { throttled: lastMinute, throttledSince: 'lastMinute' };
  return { throttled: view.throttling?.throttled ?? 0, throttledSince: 'start' };
}

/** The import's progress 0..100 when the app reports it; a finished job is complete. */
export function jobPercent(job: JobView, isFinal: boolean): number | undefined {
  if (isFinal) return 100;
  return job.progress === undefined ? undefined : Math.max(0, Math.min(100, job.progress));
}

/** 75 → '1m 15s'; 3725 → '1h 2m'. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}
