/** The job runtime the functions share, built once per worker from app settings. */
import { loadSettings } from '../config/settings';
import { createAccessTokenSource } from '../dataverse/auth/createAccessTokenSource';
import { createDataverseClient } from '../dataverse/index';
import { createScopedLogger } from '../observability/logScope';
import { createStorageClients, storageConnectionFromEnv } from '../storage/storageClients';
import { createJobRuntime, type JobRuntime } from './jobRuntime';

let cached: JobRuntime | undefined;

export function getJobRuntime(env: Record<string, string | undefined> = process.env): JobRuntime {
  if (cached) return cached;
  const settings = loadSettings(env);
  // Built once per worker: the logger writes to whichever invocation's log scope it is called in.
  const log = createScopedLogger({ level: settings.logging.level });
  const client = createDataverseClient({
    webApiUrl: `${settings.dataverse.url.replace(/\/+$/, '')}/api/data/v9.2/`,
    accessTokenSource: createAccessTokenSource(settings, {
      log: (level, message) =>
        level === 'error' || level === 'warning' ? log.warn(`msal: ${message}`) : log.info(`msal: ${message}`),
    }),
    maxConcurrency: settings.dataverse.maxConcurrency,
    logger: log,
  });
  const jobs = settings.jobs;
  cached = createJobRuntime({
    storage: createStorageClients(storageConnectionFromEnv(env)),
    send: (request, options) => client.send(request, options),
    environment: settings.dataverse.url,
    names: {
      jobsTable: jobs.jobsTable,
      eventsQueue: jobs.eventsQueue,
      asyncQueue: jobs.asyncQueue,
      solutionsContainer: jobs.solutionsContainer,
    },
    maxWaitMinutes: jobs.maxWaitMinutes,
    maxImportBodyBytes: jobs.importsMaxBodyBytes,
    log,
    ...(jobs.eventsWebhookUrl ? { webhookUrl: jobs.eventsWebhookUrl.reveal() } : {}),
  });
  return cached;
}
