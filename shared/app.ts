/**
 * The composition root: the one place the app is assembled. From the settings it builds the logger, the storage
 * clients and ONE Dataverse connection per environment (token source, client, and with it the throttle state and
 * concurrency), then hands the load engine (`LoadContext`) and the job engine (`JobRuntime`) what they need.
 * Loads and jobs share the connection, so a 429 answered to any part of the app (poller, job submission, chunk)
 * paces every other request to that environment. The functions call `getApp()`, built once per worker; tests
 * call `createApp` with injected clients.
 */
import { loadSettings, type Settings } from './config/settings';
import type { AccessTokenSource } from './dataverse/auth/accessTokenSource';
import { createAccessTokenSource, type AccessTokenSourceOptions } from './dataverse/auth/createAccessTokenSource';
import { createDataverseClient, type DataverseClient } from './dataverse/index';
import type { Clock } from './dataverse/throttle';
import { createJobRuntime, type JobRuntime } from './jobs/jobRuntime';
import { createLoadContext } from './loads/loadRuntime';
import type { LoadContext } from './loads/loadContext';
import type { Logger } from './observability/logger';
import { createScopedLogger } from './observability/logScope';
import { createStorageClients, type StorageClients } from './storage/storageClients';

/** What the app holds for one Dataverse environment: its URL and the one client every engine sends through. */
export interface DataverseConnection {
  /** DATAVERSE_URL, without a trailing slash: the environment (and the job lane's key). */
  environmentUrl: string;
  /** Holds the token source, the throttle state (Retry-After pause, AIMD concurrency) and the batch size learned. */
  client: DataverseClient;
}

export interface DataverseConnectionOptions {
  /** Replaces the token source built from the settings (tests). */
  accessTokenSource?: AccessTokenSource;
  /** Passed to msal-node (tests send token requests to the local identity). Never a setting. */
  accessToken?: Pick<AccessTokenSourceOptions, 'networkClient' | 'logLevel'>;
  /** Wraps the token source (tests record the tokens issued, to scan logs for them). */
  wrapAccessTokenSource?: (source: AccessTokenSource) => AccessTokenSource;
  fetch?: typeof fetch;
  clock?: Clock;
}

/** Builds the connection to the settings' environment; the app builds it once and shares it. */
export function createDataverseConnection(
  settings: Pick<Settings, 'dataverse'>,
  log: Logger,
  options: DataverseConnectionOptions = {},
): DataverseConnection {
  const environmentUrl = settings.dataverse.url.replace(/\/+$/, '');
  const built =
    options.accessTokenSource ??
    createAccessTokenSource(settings, {
      ...options.accessToken,
      log: (level, message) =>
        level === 'error' || level === 'warning' ? log.warn(`msal: ${message}`) : log.info(`msal: ${message}`),
    });
  const client = createDataverseClient({
    webApiUrl: `${environmentUrl}/api/data/v9.2/`,
    accessTokenSource: options.wrapAccessTokenSource ? options.wrapAccessTokenSource(built) : built,
    maxBatchSize: settings.dataverse.maxBatchSize,
    maxConcurrency: settings.dataverse.maxConcurrency,
    logger: log,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return { environmentUrl, client };
}

export interface AppOptions {
  settings: Settings;
  /** Storage clients (tests pass Azurite's); default: built from the settings' storage connection. */
  storage?: StorageClients;
  /** The Dataverse connection (tests may build one on a test server), or options for the one built here. */
  dataverse?: DataverseConnection | DataverseConnectionOptions;
  /** Default: a scoped logger at LOG_LEVEL, writing to whichever invocation's log scope it is called in. */
  log?: Logger;
  now?: () => number;
  /** Webhook POSTs of the job events (tests). */
  fetch?: typeof fetch;
}

/** The assembled app: what each function reaches for. */
export interface App {
  readonly settings: Settings;
  readonly log: Logger;
  readonly dataverse: DataverseConnection;
  readonly loads: LoadContext;
  readonly jobs: JobRuntime;
}

const isConnection = (value: AppOptions['dataverse']): value is DataverseConnection =>
  value !== undefined && 'client' in value;

export function createApp(options: AppOptions): App {
  const { settings } = options;
  const log = options.log ?? createScopedLogger({ level: settings.logging.level });
  const storage = options.storage ?? createStorageClients(settings.storage.connection);
  const dataverse = isConnection(options.dataverse)
    ? options.dataverse
    : createDataverseConnection(settings, log, options.dataverse);
  const webhookUrl = settings.jobs.eventsWebhookUrl?.reveal();
  const shared = {
    storage,
    log,
    ...(webhookUrl ? { webhookUrl } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  };
  const { loads, jobs } = settings;
  return {
    settings,
    log,
    dataverse,
    loads: createLoadContext({
      ...shared,
      client: dataverse.client,
      names: {
        container: loads.container,
        resultsContainer: loads.resultsContainer,
        chunkQueue: loads.chunkQueue,
        loadsTable: loads.loadsTable,
        loadRowsTable: loads.loadRowsTable,
        jobsTable: jobs.jobsTable,
        eventsQueue: jobs.eventsQueue,
      },
      chunkSize: loads.chunkSize,
      maxFileBytes: loads.maxFileBytes,
      inlineScanMaxBytes: loads.inlineScanMaxBytes,
      stallSeconds: loads.stallSeconds,
    }),
    jobs: createJobRuntime({
      ...shared,
      send: (request, callOptions) => dataverse.client.send(request, callOptions),
      environment: dataverse.environmentUrl,
      names: {
        jobsTable: jobs.jobsTable,
        eventsQueue: jobs.eventsQueue,
        asyncQueue: jobs.asyncQueue,
        solutionsContainer: jobs.solutionsContainer,
      },
      maxWaitMinutes: jobs.maxWaitMinutes,
      maxImportBodyBytes: jobs.importsMaxBodyBytes,
    }),
  };
}

let memoised: App | undefined;

/** The app of this worker, assembled from its settings on first use. */
export function getApp(env: Record<string, string | undefined> = process.env): App {
  memoised ??= createApp({ settings: loadSettings(env) });
  return memoised;
}
