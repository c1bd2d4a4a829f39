import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { startEmulator, type EmulatorHandle, type EmulatorOptions } from '../emulator/index';
import { createLocalIdentity } from '../identity/localIdentity';
import { startAzurite, type AzuriteHandle } from '../azurite';
import { startHost, type FunctionHost, type HostOptions } from './host';
import { startHostProcess, type HostProcess } from './hostProcess';
import { storageAccountFor } from './storageAccount';

export interface LocalStackOptions extends Omit<HostOptions, 'log' | 'localSettings'> {
  /** `memory` (default): Azurite in memory on free ports. `{ location }`: on disk (standard ports unless given). `{ connectionString }`: an Azurite already running. */
  storage?:
    | 'memory'
    | { location: string; ports?: { blob: number; queue: number; table: number } }
    | { connectionString: string };
  /** A real environment's org URL: no emulator is started. Default: none (the emulator runs). */
  dataverseUrl?: string;
  emulator?: EmulatorOptions;
  /** `child` (default): the host runs in a child process that can be killed and restarted. `process`: in this process (npm start). */
  hostIn?: 'child' | 'process';
  /** Extra settings for the app (merged over process.env). */
  env?: NodeJS.ProcessEnv;
  /** Create the containers, queues and tables the app uses (default true). */
  createResources?: boolean;
  onOutput?: (line: string) => void;
}

export interface LocalStack {
  /** HTTP base of the app, e.g. `http://127.0.0.1:7071/api`. */
  api: string;
  /** Web API base in use (`…/api/data/v9.2/`). */
  dataverse: string;
  /** Storage connection string. */
  storage: string;
  emulator?: EmulatorHandle;
  /** The settings the app runs with (what was added to its environment). */
  settings: NodeJS.ProcessEnv;
  host: HostProcess | FunctionHost;
  /** Restarts the host (child mode): graceful unless `hard` (SIGKILL first). */
  restartHost(options?: { hard?: boolean }): Promise<HostProcess>;
  /** SIGKILL the host (child mode). */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** The app's storage names (docs/design.md §Storage), under the same setting names the app reads. */
export function appStorageNames(env: NodeJS.ProcessEnv = process.env): {
  containers: string[];
  queues: string[];
  tables: string[];
} {
  return {
    containers: [
      env.LOAD_CONTAINER ?? 'incoming',
      env.LOAD_RESULTS_CONTAINER ?? 'load-results',
      env.SOLUTIONS_CONTAINER ?? 'solutions',
    ],
    queues: [
      env.LOAD_CHUNK_QUEUE ?? 'load-chunks',
      env.ASYNC_QUEUE ?? 'dataverse-async',
      env.JOB_EVENTS_QUEUE ?? 'job-events',
    ],
    tables: [
      env.LOADS_TABLE ?? 'loads',
      env.LOAD_ROWS_TABLE ?? 'loadrows',
      env.JOBS_TABLE ?? 'jobs',
      env.DATAVERSE_REQUEST_METER_TABLE ?? 'requestmeter',
    ],
  };
}

export async function createAppStorage(connectionString: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const account = storageAccountFor('X', { X: connectionString });
  const names = appStorageNames(env);
  await Promise.all([
    ...names.containers.map((c) => account.blobService.getContainerClient(c).createIfNotExists()),
    ...names.queues.map((q) => account.queue(q).createIfNotExists()),
    ...names.tables.map((t) => account.table(t).createTable()),
  ]);
}

/**
 * Azurite + Dataverse emulator (unless a real DATAVERSE_URL is given) + the local host, wired as `npm start` wires
 * them: the app authenticates with managed identity against the emulator's identity endpoint.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const {
    storage = 'memory',
    dataverseUrl,
    emulator: emulatorOptions,
    hostIn = 'child',
    env: extraEnv = {},
    createResources = true,
    onOutput,
    ...hostOptions
  } = options;
  const cleanup: (() => Promise<void>)[] = [];
  try {
    let azurite: AzuriteHandle | undefined;
    let connectionString: string;
    if (typeof storage === 'object' && 'connectionString' in storage) connectionString = storage.connectionString;
    else {
      azurite = await startAzurite(storage === 'memory' ? {} : { location: storage.location, ports: storage.ports });
      cleanup.push(() => azurite!.stop());
      connectionString = azurite.connectionString;
    }

    const settings: NodeJS.ProcessEnv = { AzureWebJobsStorage: connectionString, ...extraEnv };
    let emulator: EmulatorHandle | undefined;
    let webApi: string;
    if (dataverseUrl) {
      settings.DATAVERSE_URL = dataverseUrl;
      webApi = `${dataverseUrl.replace(/\/+$/, '')}/api/data/v9.2/`;
    } else {
      const identityHeader = randomBytes(16).toString('hex');
      emulator = await startEmulator(emulatorOptions ?? {}, { identity: createLocalIdentity({ identityHeader }) });
      cleanup.push(() => emulator!.close());
      webApi = emulator.webApiUrl;
      Object.assign(settings, {
        DATAVERSE_URL: emulator.url,
        DATAVERSE_AUTH: 'managedIdentity',
        IDENTITY_ENDPOINT: `${emulator.url}/_identity/msi/token`,
        IDENTITY_HEADER: identityHeader,
      });
    }
    if (createResources) await createAppStorage(connectionString, { ...process.env, ...settings });

    const appDir = resolve(hostOptions.appDir ?? process.cwd());
    const common = {
      dataverse: webApi,
      storage: connectionString,
      emulator,
      settings,
      stop: () => runCleanup(cleanup),
    };
    if (hostIn === 'process') {
      Object.assign(process.env, settings);
      const inProcess = await startHost({ ...hostOptions, appDir });
      cleanup.push(async () => {
        await inProcess.stop();
      });
      return {
        ...common,
        api: inProcess.url,
        host: inProcess,
        restartHost: () => Promise.reject(new Error('restartHost needs hostIn: "child".')),
        kill: () => Promise.reject(new Error('kill needs hostIn: "child".')),
      };
    }
    const startChild = (port: number) => startHostProcess({ ...hostOptions, appDir, port, env: settings, onOutput });
    let child = await startChild(hostOptions.port ?? 0);
    cleanup.push(async () => {
      await child.stop();
    });
    const stack: LocalStack = {
      ...common,
      api: child.url,
      host: child,
      async restartHost(restart) {
        if (restart?.hard) await child.kill('SIGKILL');
        else await child.stop();
        // Same port, so the api URL callers hold stays valid.
        child = await startChild(child.port);
        stack.host = child;
        return child;
      },
      async kill() {
        await child.kill('SIGKILL');
      },
    };
    return stack;
  } catch (error) {
    await runCleanup(cleanup);
    throw error;
  }
}

async function runCleanup(cleanup: (() => Promise<void>)[]): Promise<void> {
  while (cleanup.length > 0) await cleanup.pop()!().catch(() => undefined);
}

export const defaultAzuriteLocation = (appDir: string) => join(appDir, '.azurite');
