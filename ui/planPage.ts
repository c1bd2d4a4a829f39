/**
 * One plan (several tables as one unit): its status and counts summed over its tables, the order chosen and why
 * (stages, the reason for each table, lookups bound after the last stage), and one row per table linking to its load.
 */
import { html } from 'htm/preact';
import type { PlanTable, PlanView } from '../cli/apiClient';
import { api } from './api';
import { ErrorNote, fmt, isRunning, StateBadge, when } from './components';
import { useResource } from './resource';
import { loadHref } from './router';

const baseName = (path: string) => path.split('/').pop() ?? path;

/** Rows processed of the total, summed over the plan's tables (the list shows it for a running plan too). */
export function PlanProgressBar({ plan, label }: { plan: PlanView; label: string }) {
  const total = plan.counts.total;
  const done = plan.counts.processed ?? plan.counts.succeeded + plan.counts.failed;
  // Before the first load has counted its file the total is unknown: an indeterminate bar.
  const known = total !== undefined && plan.tables.some((t) => t.load);
  return html`<div class="progress">
    ${
      known
        ? html`<progress aria-label=${label} max=${total} value=${done}></progress>`
        : html`<progress aria-label=${label}></progress>`
    }
    <span class="progress-text">${fmt(done)} / ${known ? fmt(total) : '–'} rows</span>
  </div>`;
}

function Order({ plan }: { plan: PlanView }) {
  const order = plan.order;
  if (!order)
    return html`<section aria-labelledby="order-heading">
      <h2 id="order-heading">Order</h2>
      <p>${isRunning(plan.status) ? 'Chosen once the plan has been read.' : 'No order: the plan was not read.'}</p>
    </section>`;
  return html`<section aria-labelledby="order-heading">
    <h2 id="order-heading">Order</h2>
    <table>
      <caption>
        Stages: the tables of a stage load side by side; a stage starts when the one before has written its rows
      </caption>
      <thead>
        <tr>
          <th scope="col">Stage</th>
          <th scope="col">Table</th>
          <th scope="col">Why here</th>
        </tr>
      </thead>
      <tbody>
        ${order.stages.flatMap((tables, stage) =>
          tables.map(
            (table) =>
              html`<tr key=${table}>
                <th scope="row">${stage + 1}</th>
                <td>${table}</td>
                <td>${(order.reasons[table] ?? []).join('; ') || 'depends on no other table of the plan'}</td>
              </tr>`,
          ),
        )}
      </tbody>
    </table>
    ${
      order.deferred.length === 0
        ? html`<p>No lookups wait for a second pass.</p>`
        : html`<table>
            <caption>
              Lookups bound afterwards
            </caption>
            <thead>
              <tr>
                <th scope="col">Table</th>
                <th scope="col">Column</th>
                <th scope="col">Points at</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              ${order.deferred.map(
                (d) =>
                  html`<tr key=${`${d.table}/${d.attribute}/${d.target}`}>
                    <td>${d.table}</td>
                    <td>${d.attribute}</td>
                    <td>${d.target}</td>
                    <td>${d.why ?? ''}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
  </section>`;
}

function TableRow({ entry }: { entry: PlanTable }) {
  const load = entry.load;
  return html`<tr>
    <th scope="row">${entry.table}</th>
    <td>${entry.file}</td>
    <td>${entry.stage + 1}</td>
    <td>${load ? html`<${StateBadge} state=${load.status} />` : 'not started'}</td>
    <td>${fmt(load?.counts.total)}</td>
    <td>${fmt(load?.counts.succeeded)}</td>
    <td>${fmt(load?.counts.failed)}</td>
    <td>${fmt(load?.counts.notProcessed)}</td>
    <td>
      ${load ? html`<a href=${loadHref(entry.loadId)}>${entry.loadId}</a>` : `starts with stage ${entry.stage + 1}`}
    </td>
  </tr>`;
}

export function PlanPage({ id }: { id: string }) {
  const plan = useResource(() => api.getPlan(id), [id], { refreshWhile: (p) => isRunning(p.status) });
  const view = plan.data;
  return html`<main>
    <p><a href="#/">← All loads and jobs</a></p>
    <h1>Plan ${view?.file ? baseName(view.file) : id}</h1>
    ${plan.error ? html`<${ErrorNote} error=${plan.error} what="Plan" />` : null}
    ${
      view
        ? html`<div aria-live="polite">
              <p>
                Status
                <${StateBadge} state=${view.status} /> ${view.message ? html`<span>${view.message}</span>` : null}
              </p>
              <${PlanProgressBar} plan=${view} label="Rows processed" />
            </div>
            <dl class="facts">
              <dt>Succeeded</dt>
              <dd>${fmt(view.counts.succeeded)}</dd>
              <dt>Failed</dt>
              <dd>${fmt(view.counts.failed)}</dd>
              <dt>Not processed</dt>
              <dd>${fmt(view.counts.notProcessed)}</dd>
              <dt>Stage</dt>
              <dd>
                ${view.stage === undefined ? '–' : view.stage + 1}${view.order ? ` of ${view.order.stages.length}` : ''}
              </dd>
              <dt>Format</dt>
              <dd>${view.format ?? '–'}</dd>
              <dt>Created</dt>
              <dd>${when(view.timings.createdAt)}</dd>
              <dt>Finished</dt>
              <dd>${when(view.timings.finishedAt)}</dd>
            </dl>
            <${Order} plan=${view} />
            <section aria-labelledby="tables-heading">
              <h2 id="tables-heading">Tables</h2>
              ${
                view.tables.length === 0
                  ? html`<p>${isRunning(view.status) ? 'Listed once the plan has been read.' : 'No tables.'}</p>`
                  : html`<table>
                      <caption>
                        One load per table, with its counts
                      </caption>
                      <thead>
                        <tr>
                          <th scope="col">Table</th>
                          <th scope="col">File</th>
                          <th scope="col">Stage</th>
                          <th scope="col">Status</th>
                          <th scope="col">Rows</th>
                          <th scope="col">Succeeded</th>
                          <th scope="col">Failed</th>
                          <th scope="col">Not processed</th>
                          <th scope="col">Load</th>
                        </tr>
                      </thead>
                      <tbody>
                        ${view.tables.map((t) => html`<${TableRow} key=${t.loadId} entry=${t} />`)}
                      </tbody>
                    </table>`
              }
            </section>`
        : plan.loading
          ? html`<p>Loading…</p>`
          : null
    }
  </main>`;
}
