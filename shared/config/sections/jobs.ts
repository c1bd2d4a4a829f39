import { z } from 'zod';
import { isNcrontab } from '../ncrontab';
import { containerOrQueueName, defineSection, httpsUrl, integerInRange, setting, tableName } from '../settingTypes';
import { SecretValue } from '../secretValue';

export interface JobsSettings {
  solutionsContainer: string;
  asyncQueue: string;
  jobsTable: string;
  eventsQueue: string;
  /** May carry a SAS-like `sig`: a secret. */
  eventsWebhookUrl?: SecretValue;
  pollSchedule: string;
  maxWaitMinutes: number;
  /** Largest POST /api/imports body. */
  importsMaxBodyBytes: number;
}

export const jobsSection = defineSection(
  {
    SOLUTIONS_CONTAINER: setting(containerOrQueueName().default('solutions'), {
      description: 'Blob container for solution zip files to import.',
      expected: 'a blob container name (3-63 lowercase letters, digits, single hyphens)',
    }),
    ASYNC_QUEUE: setting(containerOrQueueName().default('dataverse-async'), {
      description: 'Queue of background operation requests (solution import, DeleteAndPromote, Merge...).',
      expected: 'a queue name (3-63 lowercase letters, digits, single hyphens)',
    }),
    JOBS_TABLE: setting(tableName().default('jobs'), {
      description: 'Table storage table holding one entity per background job and its AsyncOperation state.',
      expected: 'a table name (3-63 letters and digits, starting with a letter)',
    }),
    JOB_EVENTS_QUEUE: setting(containerOrQueueName().default('job-events'), {
      description: 'Queue receiving job and load events (completed, failed...).',
      expected: 'a queue name (3-63 lowercase letters, digits, single hyphens)',
    }),
    JOB_EVENTS_WEBHOOK_URL: setting(
      httpsUrl()
        .transform((url) => new SecretValue(url))
        .optional(),
      {
        description:
          'Optional webhook that also receives the job events (POST, JSON). Treated as a secret since such URLs often carry a signature.',
        expected: 'an https URL (plain http only for localhost/127.0.0.1)',
        secret: true,
      },
    ),
    ASYNC_POLL_SCHEDULE: setting(z.string().refine(isNcrontab).default('*/10 * * * * *'), {
      description:
        'NCRONTAB schedule (six fields, with seconds) of the timer that polls AsyncOperation status. Default every 10 seconds.',
      expected: 'a six-field NCRONTAB expression (second minute hour day month day-of-week)',
    }),
    ASYNC_MAX_WAIT_MINUTES: setting(integerInRange(1, 7 * 24 * 60).default(120), {
      description: 'How long a background operation may run before the job is marked timed out.',
      expected: 'an integer number of minutes from 1 to 10080',
    }),
    IMPORTS_MAX_BODY_BYTES: setting(integerInRange(1, 2 * 1024 ** 3).default(100 * 1024 ** 2), {
      description:
        'Largest body POST /api/imports accepts (a solution zip or JSON); larger bodies get 413 before anything is stored. Default 100 MiB (the Functions host caps HTTP bodies at 100 MB too). The zip itself is also checked for size, entry count and expansion ratio before it is read.',
      expected: 'a positive integer (bytes), at most 2147483648',
    }),
  },
  (v): JobsSettings => ({
    solutionsContainer: v.SOLUTIONS_CONTAINER,
    asyncQueue: v.ASYNC_QUEUE,
    jobsTable: v.JOBS_TABLE,
    eventsQueue: v.JOB_EVENTS_QUEUE,
    ...(v.JOB_EVENTS_WEBHOOK_URL ? { eventsWebhookUrl: v.JOB_EVENTS_WEBHOOK_URL } : {}),
    pollSchedule: v.ASYNC_POLL_SCHEDULE,
    maxWaitMinutes: v.ASYNC_MAX_WAIT_MINUTES,
    importsMaxBodyBytes: v.IMPORTS_MAX_BODY_BYTES,
  }),
);
