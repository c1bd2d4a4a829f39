/** `createDataverseClient(options)`: the one object the loads and jobs talk to Dataverse through. */
import { randomUUID } from 'node:crypto';
import type { AccessTokenSource } from './auth/accessTokenSource';
import type { DataverseIdentity } from './identityPool';
import {
  createRows,
  runBulk,
  updateRows,
  upsertRows,
  type BulkOptions,
  type BulkResult,
  type BulkSupport,
  type UpdateTarget,
  type UpsertTarget,
} from './bulkMessages';
import type { CallOptions } from './callOptions';
import { executeMultiple, type ExecuteMultipleResponse } from './executeMultiple';
import { traceDataverseClient } from '../observability/dataverseTelemetry';
import type { Attributes, ExecuteMultipleSettings, OrganizationRequest, WebApiRequest } from './organizationRequest';
import { systemClock, type Clock } from './throttle';
import { Transport, type DataverseLogger, type TransportMetrics } from './transport';
import { sendWebApiRequest, type WebApiContext, type WebApiResponse } from './webApi';

export interface DataverseClientOptions {
  /** `${DATAVERSE_URL}/api/data/v9.2/` */
  webApiUrl: string;
  /** One identity (named `default`); or give `identities`. */
  accessTokenSource?: AccessTokenSource;
  /**
   * Several application users (issue 17): each with its own token source, concurrency, Retry-After pause and
   * spacing; each request goes to the one with most headroom. The first is the default (impersonation, pinned calls).
   */
  identities?: readonly DataverseIdentity[];
  /** Told how many operations Dataverse executed for each answer (the daily request meter). */
  onOperationsCounted?: (operations: number) => void;
  /** Operations per `$batch` (default and maximum 1000); lowered automatically when Dataverse reports less. */
  maxBatchSize?: number;
  /** Upper bound on concurrent requests per identity, whatever `x-ms-dop-hint` says (default 16). */
  maxConcurrency?: number;
  /** Concurrency before the first `x-ms-dop-hint` arrives (default min(4, maxConcurrency)). */
  initialConcurrency?: number;
  /** Retries of 502/503/504 and network errors, for requests a retry cannot duplicate (default 5). */
  maxRetries?: number;
  /** Retries after 429s per call (default 20). */
  maxThrottleRetries?: number;
  fetch?: typeof fetch;
  logger?: DataverseLogger;
  /** Time source (tests inject a virtual clock so Retry-After pauses don't sleep). */
  clock?: Clock;
  /** Random source for backoff jitter (default Math.random). */
  random?: () => number;
  /** Id generator for client-generated record ids (default crypto.randomUUID). */
  newId?: () => string;
}

export interface DataverseMetrics extends TransportMetrics {
  /** The `$batch` size currently used (after any limit Dataverse reported). */
  maxBatchSize: number;
  /** `<entityset>/<message>` pairs found unsupported and served by `$batch`. */
  bulkUnsupported: string[];
}

export interface DataverseClient {
  readonly webApiUrl: string;
  executeMultiple(
    requests: OrganizationRequest[],
    settings: ExecuteMultipleSettings,
    options?: CallOptions,
  ): Promise<ExecuteMultipleResponse>;
  createMultiple(
    entitySetName: string,
    logicalName: string,
    targets: Attributes[],
    options?: BulkOptions,
  ): Promise<BulkResult>;
  updateMultiple(
    entitySetName: string,
    logicalName: string,
    targets: UpdateTarget[],
    options?: BulkOptions,
  ): Promise<BulkResult>;
  upsertMultiple(
    entitySetName: string,
    logicalName: string,
    targets: UpsertTarget[],
    options?: BulkOptions,
  ): Promise<BulkResult>;
  send(request: WebApiRequest, options?: CallOptions): Promise<WebApiResponse>;
  metrics(): DataverseMetrics;
}

export function createDataverseClient(options: DataverseClientOptions): DataverseClient {
  const webApiUrl = options.webApiUrl.endsWith('/') ? options.webApiUrl : `${options.webApiUrl}/`;
  const parsedUrl = new URL(webApiUrl);
  const maxBatchSize = Math.min(1000, Math.max(1, Math.floor(options.maxBatchSize ?? 1000)));
  const maxConcurrency = Math.max(1, Math.floor(options.maxConcurrency ?? 16));
  const transport = new Transport({
    ...(options.identities ? { identities: options.identities } : {}),
    ...(options.accessTokenSource ? { accessTokenSource: options.accessTokenSource } : {}),
    ...(options.onOperationsCounted ? { onOperationsCounted: options.onOperationsCounted } : {}),
    fetch: options.fetch ?? globalThis.fetch,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    maxConcurrency,
    initialConcurrency: options.initialConcurrency ?? Math.min(4, maxConcurrency),
    maxRetries: options.maxRetries ?? 5,
    maxThrottleRetries: options.maxThrottleRetries ?? 20,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const context: WebApiContext = {
    transport,
    webApiUrl,
    webApiPath: parsedUrl.pathname,
    newId: options.newId ?? randomUUID,
    batchLimit: { current: maxBatchSize },
    ...(options.logger ? { logger: options.logger } : {}),
  };
  const support: BulkSupport = new Set();
  const idColumn = (logicalName: string, bulkOptions: BulkOptions | undefined) =>
    bulkOptions?.primaryIdAttribute ?? `${logicalName}id`;

  // Spans and metrics when telemetry is on (the same object otherwise).
  return traceDataverseClient({
    webApiUrl,
    executeMultiple: (requests, settings, callOptions) => executeMultiple(context, requests, settings, callOptions),
    createMultiple: (entitySetName, logicalName, targets, bulkOptions = {}) =>
      runBulk(
        context,
        support,
        'CreateMultiple',
        entitySetName,
        createRows(context, entitySetName, logicalName, targets, idColumn(logicalName, bulkOptions)),
        bulkOptions,
      ),
    updateMultiple: (entitySetName, logicalName, targets, bulkOptions = {}) =>
      runBulk(
        context,
        support,
        'UpdateMultiple',
        entitySetName,
        updateRows(entitySetName, logicalName, targets, idColumn(logicalName, bulkOptions)),
        bulkOptions,
      ),
    upsertMultiple: (entitySetName, logicalName, targets, bulkOptions = {}) =>
      runBulk(
        context,
        support,
        'UpsertMultiple',
        entitySetName,
        upsertRows(entitySetName, logicalName, targets),
        bulkOptions,
      ),
    send: (request, callOptions) => sendWebApiRequest(context, request, callOptions),
    metrics: () => ({
      ...transport.metrics(),
      maxBatchSize: context.batchLimit.current,
      bulkUnsupported: [...support],
    }),
  });
}
