/**
 * The Dataverse client's spans, put around the client from outside (client.ts calls this once): one CLIENT span per
 * call with the message or entity set, the operation count, the rows Dataverse failed and, from the transport's
 * hook (recordDataverseResponse), the status, 429s and Retry-After. Identity: while telemetry is off the client is
 * returned as it is.
 */
import type { DataverseClient } from '../dataverse/client';
import type { OrganizationRequest, WebApiRequest } from '../dataverse/organizationRequest';
import { currentLogFields } from './logScope';
import { inDataverseSpan, observeDataverseConcurrency, telemetryEnabled } from './telemetry';

/** The one entity set a list of requests targets, if they share one. */
function entitySetOf(requests: OrganizationRequest[]): string | undefined {
  const sets = new Set(requests.map((r) => ('entitySetName' in r ? r.entitySetName : undefined)));
  return sets.size === 1 ? [...sets][0] : undefined;
}

/** The first path segment without keys or query (`accounts(accountnumber='A-1')?$select=…` → `accounts`). */
export function webApiTarget(path: string): string {
  const segment = /^\/?([A-Za-z0-9_.]+)/.exec(path)?.[1] ?? 'other';
  return segment.replace(/^Microsoft\.Dynamics\.CRM\./, '');
}

const failedCount = (items: { fault?: unknown }[]) => items.filter((i) => i.fault !== undefined).length;

export function traceDataverseClient(client: DataverseClient): DataverseClient {
  if (!telemetryEnabled()) return client;
  observeDataverseConcurrency(() => client.metrics().concurrency);
  const correlation = (table: string | undefined) => ({
    ...currentLogFields(),
    ...(table !== undefined ? { table } : {}),
  });
  const bulk =
    (operation: 'CreateMultiple' | 'UpdateMultiple' | 'UpsertMultiple', method: keyof DataverseClient) =>
    (entitySetName: string, logicalName: string, targets: unknown[], options?: unknown) =>
      inDataverseSpan(
        { operation, target: entitySetName, operationCount: targets.length },
        correlation(logicalName),
        () =>
          (client[method] as (...args: unknown[]) => ReturnType<DataverseClient['createMultiple']>)(
            entitySetName,
            logicalName,
            targets,
            options,
          ),
        (result) => ({ 'dataverse.rows_failed': failedCount(result.results) }),
      );
  return {
    webApiUrl: client.webApiUrl,
    executeMultiple: (requests, settings, options) => {
      const target = entitySetOf(requests);
      return inDataverseSpan(
        { operation: 'ExecuteMultiple', ...(target ? { target } : {}), operationCount: requests.length },
        correlation(undefined),
        () => client.executeMultiple(requests, settings, options),
        (result) => ({ 'dataverse.rows_failed': failedCount(result.responses) }),
      );
    },
    createMultiple: bulk('CreateMultiple', 'createMultiple'),
    updateMultiple: bulk('UpdateMultiple', 'updateMultiple'),
    upsertMultiple: bulk('UpsertMultiple', 'upsertMultiple'),
    send: (request: WebApiRequest, options) =>
      inDataverseSpan({ operation: request.method, target: webApiTarget(request.path) }, correlation(undefined), () =>
        client.send(request, options),
      ),
    metrics: () => client.metrics(),
  };
}
