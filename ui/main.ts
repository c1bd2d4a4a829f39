/** The status page's entry: esbuild bundles this (and app.css) into dist/ui, which GET /api/ui inlines. */
import { html } from 'htm/preact';
import { render } from 'preact';
import './app.css';
import { JobPage } from './jobPage';
import { ListPage } from './listPage';
import { LoadPage } from './loadPage';
import { PlanPage } from './planPage';
import { useRoute } from './router';

function App() {
  const route = useRoute();
  if (route.page === 'load') return html`<${LoadPage} key=${route.id} id=${route.id} />`;
  if (route.page === 'plan') return html`<${PlanPage} key=${route.id} id=${route.id} />`;
  if (route.page === 'job') return html`<${JobPage} key=${route.id} id=${route.id} />`;
  return html`<${ListPage} />`;
}

const root = document.getElementById('app')!;
root.textContent = ''; // the "Loading…" the HTML shows until the script runs
render(html`<${App} />`, root);
