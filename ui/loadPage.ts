/** One load: live progress, counts, error groups, failed rows (paged), the failed-rows file, Retry. */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { contentTypeForFile, type ErrorGroup, type FailedRow, type LoadView } from '../cli/apiClient';
import { api } from './api';
import { ErrorNote, fmt, isRunning, LoadProgressBar, StateBadge, when } from './components';
import { useResource } from './resource';
import { loadHref, navigate } from './router';

const rowsPageSize = 20;
const text = (value: unknown) =>
  value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);

function sampleText(sample: unknown): string {
  if (typeof sample !== 'object' || sample === null) return text(sample);
  const s = sample as Record<string, unknown>;
  const message = text(s.message ?? s);
  // Messages usually start with their row already ("row 3, column …").
  return typeof s.rowNumber === 'number' && !message.startsWith('row ') ? `row ${s.rowNumber}: ${message}` : message;
}

function ErrorGroups({ load }: { load: LoadView }) {
  const groups = useResource(() => api.getErrorGroups(load.id), [load.id, load.status, load.counts.failed]);
  return html`<section aria-labelledby="groups-heading">
    <h2 id="groups-heading">Errors by code and column</h2>
    ${groups.error ? html`<${ErrorNote} error=${groups.error} what="Error groups" />` : null}
    ${groups.data && groups.data.length === 0 ? html`<p>No errors.</p>` : null}
    ${
      groups.data && groups.data.length > 0
        ? html`<table>
            <thead>
              <tr>
                <th scope="col">Code</th>
                <th scope="col">Column</th>
                <th scope="col">Rows</th>
                <th scope="col">Example</th>
              </tr>
            </thead>
            <tbody>
              ${groups.data.map(
                (g: ErrorGroup) =>
                  html`<tr key=${`${g.code}/${g.column ?? ''}`}>
                    <td>${g.code}</td>
                    <td>${g.column ?? '–'}</td>
                    <td>${fmt(g.count)}</td>
                    <td>${sampleText(g.sample)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : null
    }
  </section>`;
}

function FailedRows({ load }: { load: LoadView }) {
  const [tokens, setTokens] = useState<(string | undefined)[]>([undefined]);
  const token = tokens[tokens.length - 1];
  const rows = useResource(
    () => api.listFailedRows(load.id, { pageSize: rowsPageSize, ...(token ? { continuationToken: token } : {}) }),
    [load.id, token, load.status, load.counts.failed],
  );
  return html`<section aria-labelledby="rows-heading">
    <h2 id="rows-heading">Failed rows</h2>
    ${
      load.counts.failed > 0
        ? html`<p>
            <a href=${api.linkTo(api.failedRowsPath(load.id))} download>Download the failed rows</a> (the file's format,
            with an error column)
          </p>`
        : null
    }
    ${rows.error ? html`<${ErrorNote} error=${rows.error} what="Failed rows" />` : null}
    ${rows.data && rows.data.items.length === 0 ? html`<p>No failed rows.</p>` : null}
    ${
      rows.data && rows.data.items.length > 0
        ? html`<table>
              <thead>
                <tr>
                  <th scope="col">Row</th>
                  <th scope="col">Column</th>
                  <th scope="col">Value</th>
                  <th scope="col">Code</th>
                  <th scope="col">Message</th>
                </tr>
              </thead>
              <tbody>
                ${rows.data.items.map(
                  (r: FailedRow) =>
                    html`<tr key=${r.rowNumber}>
                      <td>${r.rowNumber}</td>
                      <td>${r.column ?? '–'}</td>
                      <td>${text(r.value)}</td>
                      <td>${r.code}</td>
                      <td>${r.message}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
            <nav class="pager" aria-label="Failed row pages">
              <button type="button" disabled=${tokens.length === 1} onClick=${() => setTokens((t) => t.slice(0, -1))}>
                Previous
              </button>
              <button
                type="button"
                disabled=${!rows.data.continuationToken}
                onClick=${() => setTokens((t) => [...t, rows.data?.continuationToken])}
              >
                Next
              </button>
            </nav>`
        : null
    }
  </section>`;
}

function Retry({ load }: { load: LoadView }) {
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const canRetry = !isRunning(load.status) && load.counts.failed > 0;
  const retry = async (file?: File) => {
    setBusy(true);
    setError(undefined);
    try {
      const accepted = await api.retryLoad(
        load.id,
        file ? { body: file, contentType: contentTypeForFile(file.name) ?? 'application/octet-stream' } : undefined,
      );
      navigate(loadHref(accepted.id));
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const withFile = (event: SubmitEvent) => {
    event.preventDefault();
    const input = (event.currentTarget as HTMLFormElement).elements.namedItem('corrected') as HTMLInputElement;
    const file = input.files?.[0];
    if (file) void retry(file);
  };
  return html`<section aria-labelledby="retry-heading">
    <h2 id="retry-heading">Retry</h2>
    <p>
      <button type="button" disabled=${!canRetry || busy} onClick=${() => void retry()}>Retry failed rows</button>
      ${canRetry ? '' : isRunning(load.status) ? ' (once the load has ended)' : ' (no failed rows)'}
    </p>
    <form onSubmit=${withFile}>
      <label>Corrected failed-rows file <input name="corrected" type="file" disabled=${!canRetry} /></label>
      <button type="submit" disabled=${!canRetry || busy}>Load the corrected file</button>
    </form>
    ${error ? html`<${ErrorNote} error=${error} what="Retry" />` : null}
  </section>`;
}

export function LoadPage({ id }: { id: string }) {
  const load = useResource(() => api.getLoad(id), [id], { refreshWhile: (v) => isRunning(v.status) });
  const view = load.data;
  return html`<main>
    <p><a href="#/">← All loads and jobs</a></p>
    <h1>Load ${view ? `${view.table} · ${view.file ?? id}` : id}</h1>
    ${load.error ? html`<${ErrorNote} error=${load.error} what="Load" />` : null}
    ${
      view
        ? html`<div aria-live="polite">
              <p>
                Status
                <${StateBadge} state=${view.status} /> ${view.message ? html`<span>${view.message}</span>` : null}
                ${view.waiting ? html`<strong>waiting: ${view.waiting}</strong>` : null}
              </p>
              <${LoadProgressBar} view=${view} label="Rows processed" />
            </div>
            <dl class="facts">
              <dt>Succeeded</dt>
              <dd>${fmt(view.counts.succeeded)}</dd>
              <dt>Failed</dt>
              <dd>${fmt(view.counts.failed)}</dd>
              <dt>Not processed</dt>
              <dd>${fmt(view.counts.notProcessed)}</dd>
              <dt>Operation</dt>
              <dd>${view.operation ?? 'auto'}</dd>
              <dt>Throttled (429)</dt>
              <dd>${fmt(view.throttling?.throttled)}</dd>
              <dt>Created</dt>
              <dd>${when(view.timings.createdAt)}</dd>
              <dt>Finished</dt>
              <dd>${when(view.timings.finishedAt)}</dd>
              ${
                view.retryOf
                  ? html`<dt>Retry of</dt>
                      <dd><a href=${loadHref(view.retryOf)}>${view.retryOf}</a></dd>`
                  : null
              }
            </dl>
            <${ErrorGroups} load=${view} />
            <${FailedRows} load=${view} />
            <${Retry} load=${view} />`
        : load.loading
          ? html`<p>Loading…</p>`
          : null
    }
  </main>`;
}
