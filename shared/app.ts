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
import { createIdentityTokenSource, type AccessTokenSourceOptions } from './dataverse/auth/createAccessTokenSource';
import { createDataverseClient, type DataverseClient, type DataverseIdentity } from './dataverse/index';
import type { Clock } from './dataverse/throttle';
import { createJobRuntime, type JobRuntime } from './jobs/jobRuntime';
import { createLoadContext } from './loads/loadRuntime';
import type { LoadContext } from './loads/loadContext';
import type { PlanContext } from './planLoads/planContext';
import { createPlanContext, hookPlans } from './planLoads/planRuntime';
import type { Logger } from './observability/logger';
import { createScopedLogger } from './observability/logScope';
import { createRequestMeter, type RequestMeter } from './storage/requestMeter';
import { createStorageClients, type StorageClients } from './storage/storageClients';

/** What the app holds for one Dataverse environment: its URL and the one client every engine sends through. */
export interface DataverseConnection {
  /** DATAVERSE_URL, without a trailing slash: the environment (and the job lane's key). */
  environmentUrl: string;
  /**
   * Holds the identities (each with its token source, Retry-After pause and AIMD concurrency) and the batch size
   * learned. Impersonated calls and the job engine's calls go as the default identity.
   */
  client: DataverseClient;
  /** The environment's daily request meter (Table storage, shared by every instance); absent without storage. */
  requestMeter?: RequestMeter;
}

export interface DataverseConnectionOptions {
  /** Replaces the default identity's token source built from the settings (tests). */
  accessTokenSource?: AccessTokenSource;
  /** Replaces the token sources of named identities (tests). */
  accessTokenSources?: Readonly<Record<string, AccessTokenSource>>;
  /** Passed to msal-node (tests send token requests to the local identity). Never a setting. */
  accessToken?: Pick<AccessTokenSourceOptions, 'networkClient' | 'logLevel'>;
  /** Wraps the token source (tests record the tokens issued, to scan logs for them). */
  wrapAccessTokenSource?: (source: AccessTokenSource) => AccessTokenSource;
  fetch?: typeof fetch;
  clock?: Clock;
}

/**
 * Builds the connection to the settings' environment; the app builds it once and shares it. With storage it
 * also meters the requests sent (the daily request budget).
 */
export function createDataverseConnection(
  settings: Pick<Settings, 'dataverse'> & Partial<Pick<Settings, 'jobs'>>,
  log: Logger,
  options: DataverseConnectionOptions = {},
  storage?: StorageClients,
): DataverseConnection {
  const environmentUrl = settings.dataverse.url.replace(/\/+$/, '');
  const identities: DataverseIdentity[] = settings.dataverse.identities.map((identity, index) => {
    const built =
      (index === 0 ? options.accessTokenSource : undefined) ??
      options.accessTokenSources?.[identity.name] ??
      createIdentityTokenSource(
        settings.dataverse.url,
        identity.auth,
        {
          ...options.accessToken,
          log: (level, message) =>
            level === 'error' || level === 'warning' ? log.warn(`msal: ${message}`) : log.info(`msal: ${message}`),
        },
        index === 0 ? undefined : identity.name,
      );
    return {
      name: identity.name,
      accessTokenSource: options.wrapAccessTokenSource ? options.wrapAccessTokenSource(built) : built,
    };
  });
  const requestMeter = storage
    ? createRequestMeter({
        table: storage.table(settings.dataverse.requestMeterTable),
        environment: environmentUrl,
        ...(settings.dataverse.dailyRequestBudget !== undefined
          ? { budget: settings.dataverse.dailyRequestBudget }
          : {}),
        ...(settings.jobs ? { events: storage.queueService.getQueueClient(settings.jobs.eventsQueue) } : {}),
        log,
      })
    : undefined;
  const client = createDataverseClient({
    webApiUrl: `${environmentUrl}/api/data/v9.2/`,
    identities,
    maxBatchSize: settings.dataverse.maxBatchSize,
    maxConcurrency: settings.dataverse.maxConcurrency,
    logger: log,
    ...(requestMeter ? { onOperationsCounted: (operations: number) => requestMeter.record(operations) } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return { environmentUrl, client, ...(requestMeter ? { requestMeter } : {}) };
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
  /** Plans of several tables (shared/planLoads), on the load engine. */
  readonly plans: PlanContext;
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
    : createDataverseConnection(settings, log, options.dataverse, storage);
  const webhookUrl = settings.jobs.eventsWebhookUrl?.reveal();
  const shared = {
    storage,
    log,
    ...(webhookUrl ? { webhookUrl } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  };
  const { loads, jobs } = settings;
  const app: Omit<App, 'plans'> = {
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
      ...(dataverse.requestMeter ? { requestBudget: dataverse.requestMeter } : {}),
    }),
    jobs: createJobRuntime({
      ...shared,
      // Solution operations stay with one application user: the default identity.
      send: (request, callOptions) => dataverse.client.send(request, { ...callOptions, useDefaultIdentity: true }),
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
  const plans = createPlanContext(app.loads, storage.table(loads.loadsTable));
  hookPlans(plans);
  return { ...app, plans };
}

let memoised: App | undefined;

/** The app of this worker, assembled from its settings on first use. */
export function getApp(env: Record<string, string | undefined> = process.env): App {
  memoised ??= createApp({ settings: loadSettings(env) });
  return memoised;
}
