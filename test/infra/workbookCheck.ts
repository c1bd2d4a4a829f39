/**
 * The Azure Monitor workbook (infra/app/workbook.bicep, queries in workbook.json) against what the app emits:
 * every `dataverse_loader.*` name its KQL uses must be a metric the app records or an attribute it sets
 * (shared/observability/telemetry.ts), every chart queries at least one of them, and the workbook reads the
 * Application Insights component the app exports to. A renamed metric would otherwise leave an empty chart.
 */
import {
  correlationAttributeNames,
  metricAttributeNames,
  metricNames,
} from '../../shared/observability/telemetry';
import { isObject, Unknown, type Value } from './bicepDeployment';

interface Resource {
  file: string;
  symbol: string;
  type: string;
  existing: boolean;
  body: Value;
}

const emittedMetrics = new Set<string>(Object.values(metricNames));
const emittedAttributes = new Set<string>([
  ...Object.values(correlationAttributeNames),
  ...Object.values(metricAttributeNames),
]);
/** Log records carry their fields under their own names besides the ids: those the queries may read. */
const logFieldsRead = new Set(['succeeded', 'failed']);

/** The KQL of each query item (type 3) of a workbook's serializedData, by item name. */
export function workbookQueries(serializedData: string): Map<string, string> {
  const data = JSON.parse(serializedData) as { items?: { type?: number; name?: string; content?: { query?: unknown } }[] };
  const queries = new Map<string, string>();
  for (const [i, item] of (data.items ?? []).entries())
    if (item.type === 3 && typeof item.content?.query === 'string') queries.set(item.name ?? `item ${i}`, item.content.query);
  return queries;
}

export function checkWorkbook(resources: Resource[], at: string): string[] {
  const problems: string[] = [];
  const workbooks = resources.filter((r) => r.type.toLowerCase() === 'microsoft.insights/workbooks' && !r.existing);
  if (workbooks.length !== 1) return [`${at} expected one Microsoft.Insights/workbooks resource, found ${workbooks.length}`];
  const body = workbooks[0]!.body;
  const properties = isObject(body) && isObject(body.properties ?? null) ? (body.properties as Record<string, Value>) : {};
  // `sourceId: applicationInsights.id`: the id of a component declared in the workbook's own file.
  const source = properties.sourceId instanceof Unknown ? /^(\w+)\.id$/.exec(properties.sourceId.why)?.[1] : undefined;
  const component = resources.find(
    (r) => r.symbol === source && r.file === workbooks[0]!.file && r.type.toLowerCase() === 'microsoft.insights/components',
  );
  if (!component) problems.push(`${at} the workbook's sourceId is not the Application Insights component`);
  const serialized = properties.serializedData;
  if (typeof serialized !== 'string') return [...problems, `${at} the workbook's serializedData is not known before deployment`];
  let queries: Map<string, string>;
  try {
    queries = workbookQueries(serialized);
  } catch {
    return [...problems, `${at} the workbook's serializedData is not JSON`];
  }
  if (queries.size === 0) problems.push(`${at} the workbook has no query`);
  for (const [name, query] of queries) {
    const names = [...query.matchAll(/["'](dataverse_loader\.[a-z_.]+)["']/g)].map((m) => m[1]!);
    const metricsUsed = names.filter((n) => emittedMetrics.has(n));
    const unknown = names.filter((n) => !emittedMetrics.has(n) && !emittedAttributes.has(n));
    for (const n of new Set(unknown))
      problems.push(`${at} workbook query '${name}' uses ${n}, which the app neither records as a metric nor sets as an attribute`);
    for (const m of query.matchAll(/customDimensions\["([^"\]]+)"\]/g)) {
      const dimension = m[1]!;
      if (!dimension.startsWith('dataverse_loader.') && !logFieldsRead.has(dimension) && dimension !== 'http.response.status_code')
        problems.push(`${at} workbook query '${name}' reads customDimensions["${dimension}"], which the app does not set`);
    }
    if (/\bcustomMetrics\b/.test(query) && metricsUsed.length === 0)
      problems.push(`${at} workbook query '${name}' reads customMetrics but names no metric the app records`);
    if (!/\bcustomMetrics\b/.test(query) && names.length === 0)
      problems.push(`${at} workbook query '${name}' names none of the app's metrics or dimensions`);
  }
  const charted = new Set([...queries.values()].flatMap((q) => [...q.matchAll(/["'](dataverse_loader\.[a-z_.]+)["']/g)].map((m) => m[1]!)));
  for (const metric of emittedMetrics)
    if (!charted.has(metric)) problems.push(`${at} the workbook charts no query of the metric ${metric}`);
  return problems;
}
