/** One background job (solution import, DeleteAndPromote, Merge): its progress and, once it ends, the import log. */
import { html } from 'htm/preact';
import { finalStates } from '../cli/apiClient';
import { jobPercent } from '../cli/progress';
import { api } from './api';
import { ErrorNote, isRunning, StateBadge, when } from './components';
import { useResource } from './resource';

export function JobPage({ id }: { id: string }) {
  const job = useResource(() => api.getImport(id), [id], { refreshWhile: (j) => isRunning(j.state), refreshMs: 2000 });
  const view = job.data;
  const percent = view ? jobPercent(view, finalStates.has(view.state)) : undefined;
  return html`<main>
    <p><a href="#/">← All loads and jobs</a></p>
    <h1>${view ? `${view.kind}${view.solutionName ? ` · ${view.solutionName}` : ''}` : id}</h1>
    ${job.error ? html`<${ErrorNote} error=${job.error} what="Job" />` : null}
    ${
      view
        ? html`<div aria-live="polite">
              <p>State <${StateBadge} state=${view.state} /></p>
              <div class="progress">
                ${
                  percent === undefined
                    ? html`<progress aria-label="Job progress"></progress>`
                    : html`<progress aria-label="Job progress" max="100" value=${percent}>${percent}%</progress>`
                }
                <span class="progress-text"
                  >${percent === undefined ? 'progress not reported yet' : `${percent}%`}</span
                >
              </div>
              ${view.waitReason && isRunning(view.state) ? html`<p>Waiting: ${view.waitReason}</p>` : null}
              ${(view.friendlyMessage ?? view.message) ? html`<p>${view.friendlyMessage ?? view.message}</p>` : null}
            </div>
            <dl class="facts">
              <dt>Created</dt>
              <dd>${when(view.createdAt)}</dd>
              <dt>Started</dt>
              <dd>${when(view.startedAt)}</dd>
              <dt>Completed</dt>
              <dd>${when(view.completedAt)}</dd>
            </dl>
            <section aria-labelledby="log-heading">
              <h2 id="log-heading">Import log</h2>
              ${
                view.importLog
                  ? html`<pre tabindex="0">${view.importLog}</pre>`
                  : html`<p>
                      ${isRunning(view.state) ? 'Shown when the job ends.' : 'No failures in the import log.'}
                    </p>`
              }
            </section>`
        : job.loading
          ? html`<p>Loading…</p>`
          : null
    }
  </main>`;
}
