/** Small pieces every page uses: state badges, progress bars, API errors. */
import { html } from 'htm/preact';
import { ApiError, finalStates, type LoadView } from '../cli/apiClient';
import { formatDuration, loadProgress } from '../cli/progress';

export function StateBadge({ state }: { state: string }) {
  return html`<span class=${`state state-${state}`}>${state}</span>`;
}

export const fmt = (n: number | undefined) => (n === undefined ? '–' : n.toLocaleString('en-US'));

export const isRunning = (state: string) => !finalStates.has(state);

/** The bar and the numbers under it: rows done/total, rows/s, ETA, failed, 429s. */
export function LoadProgressBar({ view, label }: { view: LoadView; label: string }) {
  const p = loadProgress(view, Date.now());
  const percent = p.fraction === undefined ? undefined : Math.round(p.fraction * 100);
  return html`<div class="progress">
    ${
      p.total === undefined
        ? html`<progress aria-label=${label}></progress>`
        : html`<progress aria-label=${label} max=${p.total} value=${p.done}>${percent}%</progress>`
    }
    <span class="progress-text">
      ${fmt(p.done)} / ${fmt(p.total)} rows${percent !== undefined ? ` (${percent}%)` : ''}
      ${p.rowsPerSecond !== undefined ? ` · ${fmt(p.rowsPerSecond)} rows/s` : ''}
      ${p.etaSeconds !== undefined && isRunning(view.status) ? ` · ETA ${formatDuration(p.etaSeconds)}` : ''}
      ${p.failed > 0 ? ` · ${fmt(p.failed)} failed` : ''} ${p.throttled > 0 ? ` · throttled ${fmt(p.throttled)}×` : ''}
      ${p.concurrency !== undefined ? ` · concurrency ${p.concurrency}` : ''}
    </span>
  </div>`;
}

/** An API error as the page says it; a route the app does not have is "not available", not a failure. */
export function ErrorNote({ error, what }: { error: Error; what: string }) {
  if (error instanceof ApiError && error.routeNotAvailable)
    return html`<p class="note" role="status">${what}: not available from this app (${error.message}).</p>`;
  return html`<p class="error" role="alert">
    ${what}: ${error.message}${error instanceof ApiError ? ` (${error.code})` : ''}
  </p>`;
}

export const when = (iso: string | undefined) => (iso ? new Date(iso).toLocaleString() : '–');
