/** The front page: start a load or an import, and every load, plan and job, newest first, with live progress. */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import type { JobListItem } from '../cli/apiClient';
import { api } from './api';
import { ErrorNote, isRunning, LoadProgressBar, StateBadge, when } from './components';
import { ImportForm, UploadForm } from './forms';
import { PlanProgressBar } from './planPage';
import { useResource } from './resource';
import { jobHref, loadHref, planHref } from './router';

const pageSize = 25;

/** A running load's bar, read from its own status (the list has no counts). */
function LiveLoadProgress({ id }: { id: string }) {
  const load = useResource(() => api.getLoad(id), [id], { refreshWhile: (v) => isRunning(v.status) });
  if (!load.data) return load.error ? html`<span class="note">${load.error.message}</span>` : null;
  return html`<${LoadProgressBar} view=${load.data} label=${`Progress of load ${id}`} />`;
}

/** A running plan's bar: rows summed over its tables. */
function LivePlanProgress({ id }: { id: string }) {
  const plan = useResource(() => api.getPlan(id), [id], { refreshWhile: (v) => isRunning(v.status) });
  if (!plan.data) return plan.error ? html`<span class="note">${plan.error.message}</span>` : null;
  return html`<${PlanProgressBar} plan=${plan.data} label=${`Progress of plan ${id}`} />`;
}

function Row({ item }: { item: JobListItem }) {
  const isLoad = item.kind === 'load';
  const href = isLoad ? loadHref(item.id) : item.kind === 'plan' ? planHref(item.id) : jobHref(item.id);
  return html`<tr>
    <td><a href=${href}>${item.name ?? item.id}</a></td>
    <td>${isLoad ? 'load' : item.kind}</td>
    <td><${StateBadge} state=${item.state} /></td>
    <td class="wide">
      ${
        isLoad && isRunning(item.state)
          ? html`<${LiveLoadProgress} id=${item.id} />`
          : item.kind === 'plan' && isRunning(item.state)
            ? html`<${LivePlanProgress} id=${item.id} />`
            : isRunning(item.state)
              ? html`<progress aria-label=${`Progress of ${item.kind} ${item.id}`}></progress>`
              : null
      }
    </td>
    <td>${when(item.createdAt)}</td>
  </tr>`;
}

export function ListPage() {
  // Tokens of the pages before this one, so "Newer" can go back.
  const [tokens, setTokens] = useState<(string | undefined)[]>([undefined]);
  const token = tokens[tokens.length - 1];
  const list = useResource(() => api.listJobs({ pageSize, ...(token ? { continuationToken: token } : {}) }), [token], {
    refreshWhile: (page) => page.items.some((i) => isRunning(i.state)),
    refreshMs: 2000,
  });
  return html`<main>
    <h1>Dataverse loads and jobs</h1>
    <div class="forms">
      <${UploadForm} onStarted=${list.reload} />
      <${ImportForm} onStarted=${list.reload} />
    </div>
    <section aria-labelledby="list-heading">
      <h2 id="list-heading">Newest first <button type="button" onClick=${list.reload}>Refresh</button></h2>
      ${list.error ? html`<${ErrorNote} error=${list.error} what="Loads and jobs" />` : null}
      ${
        list.data
          ? list.data.items.length === 0
            ? html`<p>No loads or jobs yet: upload a file above.</p>`
            : html`<table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Kind</th>
                    <th scope="col">State</th>
                    <th scope="col">Progress</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  ${list.data.items.map((item) => html`<${Row} key=${item.id} item=${item} />`)}
                </tbody>
              </table>`
          : list.loading
            ? html`<p>Loading…</p>`
            : null
      }
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled=${tokens.length === 1} onClick=${() => setTokens((t) => t.slice(0, -1))}>
          Newer
        </button>
        <button
          type="button"
          disabled=${!list.data?.continuationToken}
          onClick=${() => setTokens((t) => [...t, list.data?.continuationToken])}
        >
          Older
        </button>
      </nav>
    </section>
  </main>`;
}
