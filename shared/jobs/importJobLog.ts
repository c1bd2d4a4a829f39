/**
 * Summarises an import job log (the `data` column of importjobs: `<importexportxml>` with one element per
 * component, each carrying `<result result="success|failure|warning" errorcode errortext/>`) down to the
 * components that failed, the reason pac users say they no longer get.
 */
import { XMLParser } from 'fast-xml-parser';

export interface ImportLogFailure {
  /** The element the result belongs to: solutionManifest, entity, attribute, workflow, node... */
  componentType: string;
  name: string;
  errorCode?: string;
  errorText: string;
}

export interface ImportLogSummary {
  /** The first `maxFailures` failing components. */
  failures: ImportLogFailure[];
  /** All failing components, shown or not. */
  failureCount: number;
  warnings: number;
  successes: number;
  /** Components the import processed: every result in the log (success, warning or failure). */
  processed: number;
  /** One line per failing component, for the job's message. */
  text: string;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (_name: string, _path: unknown, _leaf: boolean, isAttribute: boolean) => !isAttribute,
});

type Node = Record<string, unknown>;

function attr(node: Node, name: string): string | undefined {
  const value = node[`@${name}`];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

const nameAttributes = ['LocalizedName', 'localizedname', 'name', 'Name', 'id', 'Id', 'OriginalName'];

function walk(
  tag: string,
  node: Node,
  into: { failures: ImportLogFailure[]; warnings: number; successes: number },
): void {
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@') || key === '#text') continue;
    const children = (Array.isArray(value) ? value : [value]).filter(
      (v): v is Node => typeof v === 'object' && v !== null,
    );
    for (const child of children) {
      if (key.toLowerCase() === 'result') {
        const result = (attr(child, 'result') ?? '').toLowerCase();
        if (result === 'failure' || result === 'error') {
          const name = nameAttributes.map((a) => attr(node, a)).find((v) => v !== undefined) ?? tag;
          into.failures.push({
            componentType: tag,
            name,
            errorCode: attr(child, 'errorcode'),
            errorText: attr(child, 'errortext') ?? 'no error text',
          });
        } else if (result === 'warning') into.warnings++;
        else if (result === 'success') into.successes++;
      } else {
        walk(key, child, into);
      }
    }
  }
}

/** Parses the log; text that is not XML yields no failures rather than an error (the AsyncOperation message still stands). */
export function summariseImportJobLog(data: string | undefined | null, maxFailures = 20): ImportLogSummary {
  const into = { failures: [] as ImportLogFailure[], warnings: 0, successes: 0 };
  if (data && data.trim() !== '') {
    try {
      walk('importexportxml', parser.parse(data) as Node, into);
    } catch {
      // not XML: nothing to summarise
    }
  }
  const shown = into.failures.slice(0, maxFailures);
  const lines = shown.map(
    (f) => `${f.componentType} '${f.name}': ${f.errorText}${f.errorCode ? ` (${f.errorCode})` : ''}`,
  );
  if (into.failures.length > shown.length)
    lines.push(`… and ${into.failures.length - shown.length} more failing components`);
  return {
    failures: shown,
    failureCount: into.failures.length,
    warnings: into.warnings,
    successes: into.successes,
    processed: into.failures.length + into.warnings + into.successes,
    text: lines.join('\n'),
  };
}

/**
 * RetrieveFormattedImportJobResults returns the same log as a SpreadsheetML workbook; rows whose cells say
 * "Failure"/"Error" are kept as text lines, for when the importjobs data column is not readable.
 */
export function summariseFormattedResults(formatted: string | undefined | null, maxLines = 20): string[] {
  if (!formatted) return [];
  const rows = formatted.split(/<\/?Row[^>]*>/i);
  const lines: string[] = [];
  for (const row of rows) {
    const cells = [...row.matchAll(/<Data[^>]*>([\s\S]*?)<\/Data>/gi)]
      .map((m) => m[1]!.replace(/<[^>]+>/g, '').trim())
      .filter((c) => c !== '');
    if (cells.some((c) => /^(failure|error|failed)$/i.test(c))) lines.push(cells.join(' | '));
    if (lines.length >= maxLines) break;
  }
  return lines;
}
