import { z } from 'zod';
import { isNcrontab } from '../ncrontab';
import { containerOrQueueName, defineSection, integerInRange, setting, tableName } from '../settingTypes';

export interface LoadsSettings {
  container: string;
  resultsContainer: string;
  chunkQueue: string;
  chunkSize: number;
  maxFileBytes: number;
  inlineScanMaxBytes: number;
  loadsTable: string;
  loadRowsTable: string;
  sweepSchedule: string;
  stallSeconds: number;
  /** Deliveries of a chunk message before the host poisons it (host.json extensions.queues.maxDequeueCount). */
  maxChunkAttempts: number;
}

const gib = 1024 ** 3;

export const loadsSection = defineSection(
  {
    LOAD_CONTAINER: setting(containerOrQueueName().default('incoming'), {
      description: 'Blob container watched for files to load.',
      expected: 'a blob container name (3-63 lowercase letters, digits, single hyphens)',
    }),
    LOAD_RESULTS_CONTAINER: setting(containerOrQueueName().default('load-results'), {
      description: 'Blob container receiving per-load result files (failed rows, created record ids).',
      expected: 'a blob container name (3-63 lowercase letters, digits, single hyphens)',
    }),
    LOAD_CHUNK_QUEUE: setting(containerOrQueueName().default('load-chunks'), {
      description: 'Queue of chunk messages; each message names a row range of one load file.',
      expected: 'a queue name (3-63 lowercase letters, digits, single hyphens)',
    }),
    LOAD_CHUNK_SIZE: setting(integerInRange(1, 10_000).default(1000), {
      description:
        'Rows per chunk message. The default 1000 is one full $batch/CreateMultiple call, so one message is one Dataverse request at the default batch size and a retried message re-sends at most one batch.',
      expected: 'an integer from 1 to 10000',
    }),
    LOAD_MAX_FILE_BYTES: setting(integerInRange(1, Number.MAX_SAFE_INTEGER).default(gib), {
      description:
        'Largest file accepted for loading (bytes, after decompression); larger files are rejected before any row is sent. Default 1 GiB.',
      expected: 'a positive integer (bytes)',
    }),
    LOAD_INLINE_SCAN_MAX_BYTES: setting(integerInRange(0, 64 * 1024 ** 2).default(4 * 1024 ** 2), {
      description:
        'A dropped file up to this size (bytes, as stored) is cut into chunks by the blob trigger itself; a larger one by a queued scan message, so the trigger stays short. Default 4 MiB (~25k rows of a typical CSV); 0 always queues the scan.',
      expected: 'an integer from 0 to 67108864 (bytes)',
    }),
    LOADS_TABLE: setting(tableName().default('loads'), {
      description: 'Table storage table holding one entity per load (status, counters).',
      expected: 'a table name (3-63 letters and digits, starting with a letter)',
    }),
    LOAD_ROWS_TABLE: setting(tableName().default('loadrows'), {
      description:
        'Table storage table holding one entity per failed row of a load (row number, key values, error code, message, the row itself).',
      expected: 'a table name (3-63 letters and digits, starting with a letter)',
    }),
    LOAD_SWEEP_SCHEDULE: setting(z.string().refine(isNcrontab).default('0 */1 * * * *'), {
      description:
        'NCRONTAB schedule of the load sweeper, which resumes loads that stopped making progress (a host killed mid-load: its queue messages stay invisible for their 10-minute lease) and finalizes loads whose last worker crashed. Default every minute.',
      expected: 'a six-field NCRONTAB expression (second minute hour day month day-of-week)',
    }),
    LOAD_STALL_SECONDS: setting(integerInRange(5, 24 * 3600).default(300), {
      description:
        'A running load with no progress for this long is resumed by the sweeper (missing chunks re-enqueued, an unfinished scan re-run; chunk work is idempotent, so a resume racing a slow worker does no harm).',
      expected: 'an integer number of seconds from 5 to 86400',
    }),
    AzureFunctionsJobHost__extensions__queues__maxDequeueCount: setting(integerInRange(1, 100).default(5), {
      description:
        'The host.json extensions.queues.maxDequeueCount override (default 5, as in host.json). The chunk worker reads it to know the last delivery of a chunk message: rows that still fail then are reported as failed rows instead of poisoning the message.',
      expected: 'an integer from 1 to 100',
    }),
  },
  (v): LoadsSettings => ({
    container: v.LOAD_CONTAINER,
    resultsContainer: v.LOAD_RESULTS_CONTAINER,
    chunkQueue: v.LOAD_CHUNK_QUEUE,
    chunkSize: v.LOAD_CHUNK_SIZE,
    maxFileBytes: v.LOAD_MAX_FILE_BYTES,
    inlineScanMaxBytes: v.LOAD_INLINE_SCAN_MAX_BYTES,
    loadsTable: v.LOADS_TABLE,
    loadRowsTable: v.LOAD_ROWS_TABLE,
    sweepSchedule: v.LOAD_SWEEP_SCHEDULE,
    stallSeconds: v.LOAD_STALL_SECONDS,
    maxChunkAttempts: v.AzureFunctionsJobHost__extensions__queues__maxDequeueCount,
  }),
);
