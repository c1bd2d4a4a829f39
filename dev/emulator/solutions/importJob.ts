/**
 * The importjob row of an import and its log: the `data` XML (one `<result>` per processed part, failures with
 * errorcode and errortext) and the Excel 2003 XML workbook RetrieveFormattedImportJobResults returns.
 */
import { completedAt, isoSeconds, operationPhase, type SolutionOperation } from './solutionOperation';

const xmlText = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** .NET ticks, which the import log writes next to each result. */
const ticks = (ms: number): string => (BigInt(ms) * 10000n + 621355968000000000n).toString();
const timeOfDay = (ms: number): string => new Date(ms).toISOString().slice(11, 22);

/** The import job's cancellation reason (ImportSolutionError). */
export const canceledImportCode = '0x80048033';
export const canceledImportReason = 'The import was stopped because its system job was canceled.';

export interface ImportResultLine {
  /** What was processed: 'SolutionManifest' or the missing component's kind. */
  type: string;
  name: string;
  result: 'success' | 'failure';
  errorcode: string;
  errortext: string;
}

/** The results the log shows at instant `t` (none while the import has not ended). */
export function importResults(op: SolutionOperation, t: number): ImportResultLine[] {
  const phase = operationPhase(op, t);
  const name = op.solutionName;
  if (phase === 'succeeded')
    return [{ type: 'SolutionManifest', name, result: 'success', errorcode: '0', errortext: '' }];
  if (phase === 'canceled')
    return [
      {
        type: 'SolutionManifest',
        name,
        result: 'failure',
        errorcode: canceledImportCode,
        errortext: canceledImportReason,
      },
    ];
  if (phase !== 'failed' || op.outcome.succeeded) return [];
  const { code, reason, unmet } = op.outcome;
  return [
    { type: 'SolutionManifest', name, result: 'failure', errorcode: code, errortext: reason },
    ...(unmet ?? []).map((r): ImportResultLine => ({
      type: 'MissingDependency',
      name: r.schemaName,
      result: 'failure',
      errorcode: code,
      errortext: `Missing component ${r.displayName} (${r.schemaName}, component type ${r.componentType}) from solution ${r.solution}${r.version ? ` (${r.version})` : ''}.`,
    })),
  ];
}

/** Validation failures stop the import before any component, so progress stays where it was (0). */
export function importProgress(op: SolutionOperation, t: number): number {
  const phase = operationPhase(op, t);
  if (phase === 'succeeded') return 100;
  if (phase === 'queued' || !op.outcome.succeeded) return 0;
  const until = phase === 'canceled' ? op.canceledAt! : t;
  const span = Math.max(1, op.endAt - op.startAt);
  return Math.min(99, Math.max(0, Math.floor(((until - op.startAt) / span) * 100)));
}

function resultXml(line: ImportResultLine, at: number): string {
  return `<result result="${line.result}" errorcode="${xmlText(line.errorcode)}" errortext="${xmlText(line.errortext)}" datetime="${timeOfDay(at)}" datetimeticks="${ticks(at)}" />`;
}

/** The `data` column: the import log XML as of instant `t`. */
export function importLogXml(op: SolutionOperation, t: number): string {
  const done = completedAt(op, t);
  const results = importResults(op, t);
  const at = done ?? t;
  const manifest = op.manifest;
  const manifestResult = results.find((r) => r.type === 'SolutionManifest');
  const missing = results.filter((r) => r.type === 'MissingDependency');
  const processed = done !== undefined;
  const manifestXml = manifest
    ? `<UniqueName>${xmlText(manifest.uniqueName)}</UniqueName><LocalizedNames><LocalizedName description="${xmlText(manifest.friendlyName)}" languagecode="1033" /></LocalizedNames>` +
      `<Version>${xmlText(manifest.version)}</Version><Managed>${manifest.managed ? 1 : 0}</Managed>` +
      `<Publisher><UniqueName>${xmlText(manifest.publisherUniqueName)}</UniqueName></Publisher>`
    : '';
  return (
    `<importexportxml start="${ticks(op.startAt)}" stop="${done === undefined ? '' : ticks(done)}" progress="${importProgress(op, t)}" processed="${processed}">` +
    `<solutionManifests><solutionManifest languagecode="1033" id="${xmlText(op.solutionName)}" LocalizedName="${xmlText(manifest?.friendlyName ?? op.solutionName)}" processed="${processed}">` +
    manifestXml +
    `<results />` +
    (manifestResult ? resultXml(manifestResult, at) : '') +
    `</solutionManifest></solutionManifests>` +
    (missing.length > 0
      ? `<missingDependencies>${missing
          .map(
            (m) =>
              `<missingDependency id="${xmlText(m.name)}" processed="true">${resultXml(m, at)}</missingDependency>`,
          )
          .join('')}</missingDependencies>`
      : '') +
    `</importexportxml>`
  );
}

/** The importjob row at instant `t`. */
export function importJobRow(op: SolutionOperation, t: number): Record<string, unknown> {
  const phase = operationPhase(op, t);
  const done = completedAt(op, t);
  const started = phase === 'queued' || (phase === 'canceled' && op.canceledAt! < op.startAt) ? undefined : op.startAt;
  return {
    importjobid: op.importJobId,
    name: op.manifest?.uniqueName ?? 'Customizations',
    solutionname: op.solutionName,
    solutionid: null,
    progress: importProgress(op, t),
    startedon: started === undefined ? null : isoSeconds(started),
    completedon: done === undefined ? null : isoSeconds(done),
    createdon: isoSeconds(op.createdAt),
    modifiedon: isoSeconds(done ?? started ?? op.createdAt),
    operationcontext: op.messageName === 'StageAndUpgradeAsync' ? 'Upgrade' : 'Import',
    _createdby_value: op.ownerId,
    _modifiedby_value: op.ownerId,
    data: importLogXml(op, t),
  };
}

const cell = (value: string): string => `<Cell><Data ss:Type="String">${xmlText(value)}</Data></Cell>`;

/** FormattedResults of RetrieveFormattedImportJobResults: a SpreadsheetML workbook with one row per result. */
export function formattedImportResults(op: SolutionOperation, t: number): string {
  const done = completedAt(op, t) ?? t;
  const rows = importResults(op, t).map(
    (r) =>
      `<Row>${cell(isoSeconds(done))}${cell(r.type)}${cell(r.name)}${cell(r.result === 'success' ? 'Success' : 'Failure')}${cell(r.errorcode)}${cell(r.errortext)}</Row>`,
  );
  return (
    `<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?>` +
    `<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:o="urn:schemas-microsoft-com:office:office" ` +
    `xmlns:x="urn:schemas-microsoft-com:office:excel" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">` +
    `<Worksheet ss:Name="Components"><Table>` +
    `<Row>${cell('Date/Time')}${cell('Type')}${cell('Name')}${cell('Status')}${cell('Error Code')}${cell('Description')}</Row>` +
    rows.join('') +
    `</Table></Worksheet></Workbook>`
  );
}
