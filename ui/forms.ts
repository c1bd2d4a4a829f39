/** Start a load (a file and its table) or a solution import from the page. */
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { contentTypeForFile, formatForFile } from '../cli/apiClient';
import { api } from './api';
import { ErrorNote } from './components';
import { jobHref, loadHref, navigate } from './router';

const field = (form: HTMLFormElement, name: string) =>
  (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null)?.value.trim() ?? '';
const fileOf = (form: HTMLFormElement, name: string) =>
  (form.elements.namedItem(name) as HTMLInputElement | null)?.files?.[0];

export function UploadForm({ onStarted }: { onStarted: () => void }) {
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const file = fileOf(form, 'file');
    if (!file) return setError(new Error('choose a file to load'));
    setBusy(true);
    setError(undefined);
    try {
      const format = formatForFile(file.name);
      const accepted = await api.submitLoad({
        table: field(form, 'table'),
        body: file,
        contentType: contentTypeForFile(file.name) ?? 'application/octet-stream',
        query: {
          operation: field(form, 'operation') || undefined,
          key: field(form, 'key') || undefined,
          format: format ?? (contentTypeForFile(file.name) ? undefined : 'csv'),
        },
      });
      onStarted();
      navigate(loadHref(accepted.id));
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="card" aria-labelledby="upload-heading" onSubmit=${submit}>
    <h2 id="upload-heading">Load a file</h2>
    <label
      >File (CSV, TSV, JSON, NDJSON, XLSX)
      <input name="file" type="file" required accept=".csv,.tsv,.json,.ndjson,.jsonl,.xlsx,.gz"
    /></label>
    <label>Table <input name="table" required placeholder="account" pattern="[A-Za-z0-9_]+" /></label>
    <label
      >Operation
      <select name="operation">
        <option value="">auto</option>
        <option>create</option>
        <option>update</option>
        <option>upsert</option>
        <option>delete</option>
      </select>
    </label>
    <label>Alternate key <input name="key" placeholder="accountnumber" /></label>
    <button type="submit" disabled=${busy}>${busy ? 'Uploading…' : 'Start load'}</button>
    ${error ? html`<${ErrorNote} error=${error} what="Upload" />` : null}
  </form>`;
}

export function ImportForm({ onStarted }: { onStarted: () => void }) {
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const file = fileOf(form, 'solution');
    if (!file) return setError(new Error('choose a solution zip'));
    setBusy(true);
    setError(undefined);
    try {
      const stage = (form.elements.namedItem('stageAndUpgrade') as HTMLInputElement).checked;
      const accepted = await api.submitImport(file, stage ? { stageAndUpgrade: 'true' } : {});
      onStarted();
      navigate(jobHref(accepted.id));
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="card" aria-labelledby="import-heading" onSubmit=${submit}>
    <h2 id="import-heading">Import a solution</h2>
    <label>Solution zip <input name="solution" type="file" required accept=".zip" /></label>
    <label class="check"><input name="stageAndUpgrade" type="checkbox" /> Stage and upgrade</label>
    <button type="submit" disabled=${busy}>${busy ? 'Uploading…' : 'Import'}</button>
    ${error ? html`<${ErrorNote} error=${error} what="Import" />` : null}
  </form>`;
}
