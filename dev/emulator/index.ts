/**
 * Local Dataverse emulator: `startEmulator(options)` starts an HTTP server that answers the Web API
 * like Dataverse does on the wire (docs/design.md §Emulator). Records and metadata come from
 * `records/`, solution operations from `solutions/`; this layer owns transport, `$batch`, limits,
 * latency, faults, auth, stats and persistence.
 */
import { createServer, type Server } from 'node:http';
import { createLocalIdentity, type LocalIdentity } from '../identity/localIdentity';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { createFaultInjector } from './faults';
import { createServiceProtection } from './limits';
import {
  applyPatch,
  emulatorPatchSchema,
  resolveOptions,
  type EmulatorOptions,
  type EmulatorPatch,
  type ResolvedEmulatorOptions,
} from './options';
import { loadPersistedRecords, savePersistedRecords } from './persistence';
import { createRecordService, type RecordService } from './records/index';
import { createDispatch } from './router';
import { createRequestHandler } from './server';
import { createSolutionOperations, type SolutionOperations } from './solutions/index';
import { emptyCounters, type EmulatorStats, type StatCounters, type WriteLogEntry } from './stats';
import type { EmulatorResponse, EmulatorRoute } from './types';

export type { EmulatorOptions, EmulatorPatch } from './options';
export type { CallerStats, EmulatorStats, WriteLogEntry } from './stats';
export type { IdentityEndpoint } from './server';

export interface EmulatorHandle {
  /** Organization URL, no trailing slash: `http://127.0.0.1:<port>`. */
  url: string;
  /** `${url}/api/data/v9.2/` */
  webApiUrl: string;
  port: number;
  stats(): EmulatorStats;
  /** The write log (empty unless the `writeLog` option is on): every create attempted, with its request. */
  writes(): WriteLogEntry[];
  /** Empties records, solution operations, limit windows, counters, and reseeds faults. */
  reset(): void;
  configure(patch: EmulatorPatch): void;
  close(): Promise<void>;
  /** The local identity served under `/_identity/` (issue tokens for strict mode with it). */
  identity: LocalIdentity;
}

export interface EmulatorExtras {
  /** Serves `/_identity/...` and verifies tokens in strict mode; default: a new local identity for the emulator's tenant. */
  identity?: LocalIdentity;
  /** Extra routes tried before the built-in ones (tests, custom APIs). */
  routes?: EmulatorRoute[];
}

export async function startEmulator(input: EmulatorOptions = {}, extras: EmulatorExtras = {}): Promise<EmulatorHandle> {
  let options: ResolvedEmulatorOptions = resolveOptions(input);
  const identity = extras.identity ?? createLocalIdentity({ tenantId: options.tenantId });
  let counters: StatCounters = emptyCounters();
  let orgUrl = '';
  // Assigned once the server listens (they need its URL); the closures below read them.
  let records: RecordService | undefined;
  let solutions: SolutionOperations | undefined;
  let writes: WriteLogEntry[] = [];
  let recordWork = { request: 0, call: '' };

  const limits = createServiceProtection((callerId, appId) => {
    const override =
      (callerId !== undefined ? options.callerLimits[callerId] : undefined) ??
      (appId !== undefined ? options.callerLimits[appId] : undefined);
    return override ? { ...options.limits, ...override } : options.limits;
  });
  const faults = createFaultInjector(() => options.faults);
  const routes = (): EmulatorRoute[] => [
    ...(extras.routes ?? []),
    ...(solutions ? [solutions.route] : []),
    ...(records ? [records.route] : []),
  ];

  const stats = (): EmulatorStats => {
    const peaks = limits.peaks();
    return {
      ...structuredClone(counters),
      callers: Object.fromEntries(
        Object.entries(counters.callers).map(([id, caller]) => [id, { ...structuredClone(caller), ...peaks[id] }]),
      ),
      inFlight: limits.inFlight(),
      recordsPerTable: records?.stats().recordsPerTable ?? {},
      solutions: solutions?.stats(),
    };
  };
  const reset = (): void => {
    records?.reset();
    solutions?.reset();
    limits.reset();
    counters = emptyCounters();
    writes = [];
    faults.reseed(options.faults.seed);
  };
  const configure = (patch: EmulatorPatch): void => {
    const before = options.faults.seed;
    options = applyPatch(options, patch);
    if (options.faults.seed !== before) faults.reseed(options.faults.seed);
    if (options.solutions) solutions?.configure(options.solutions);
  };

  const answerControl = (method: string, path: string, body: string): EmulatorResponse | undefined => {
    if (method === 'GET' && path === '/_emulator/stats') return { status: 200, body: stats() };
    if (method === 'GET' && path === '/_emulator/writes') return { status: 200, body: { writes } };
    if (method === 'POST' && path === '/_emulator/reset') {
      reset();
      return { status: 204 };
    }
    if (path === '/_emulator/config' && (method === 'POST' || method === 'PATCH')) {
      let patch: unknown;
      try {
        patch = JSON.parse(body || '{}');
      } catch {
        return { status: 400, body: { error: { code: '', message: 'The body is not JSON.' } } };
      }
      const parsed = emulatorPatchSchema.safeParse(patch);
      if (!parsed.success)
        return { status: 400, body: { error: { code: '', message: z.prettifyError(parsed.error) } } };
      configure(parsed.data);
    }
    if (path === '/_emulator/config' && ['GET', 'POST', 'PATCH'].includes(method)) {
      return { status: 200, body: { ...options, schema: undefined } };
    }
    return undefined;
  };

  const handler = createRequestHandler({
    options: () => options,
    orgUrl: () => orgUrl,
    dispatch: createDispatch(routes),
    transaction: (fn) => (records ? records.transaction(fn) : fn()),
    limits,
    faults,
    counters: () => counters,
    logicalNameOf: (entitySet) => records?.logicalNameOf(entitySet) ?? solutions?.logicalNameOf(entitySet),
    identity,
    control: (method, path, body) => Promise.resolve(answerControl(method, path, body)),
    onRecordWork: (call) => {
      recordWork = { request: recordWork.request + 1, call };
    },
  });

  // Dataverse takes GET URLs up to 32,768 characters (a `$filter` naming hundreds of ids); Node's default 16 KB header limit would answer 431.
  const server: Server = createServer({ keepAlive: true, maxHeaderSize: 64 * 1024 }, handler);
  // Longer than common client idle timeouts, so a client never reuses a socket the server is closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  orgUrl = `http://${options.host}:${port}`;

  records = createRecordService({
    schema: options.schema,
    baseUrl: orgUrl,
    onCreateAttempt: (table, id) => {
      if (options.writeLog) writes.push({ ...recordWork, table, id });
    },
  });
  solutions = createSolutionOperations({ baseUrl: orgUrl, ...options.solutions });

  let persistTimer: NodeJS.Timeout | undefined;
  let persisting: Promise<void> = Promise.resolve();
  const persist = (): Promise<void> => {
    if (!options.persistPath || !records) return persisting;
    const path = options.persistPath;
    const state = records.exportState();
    persisting = persisting.then(() => savePersistedRecords(path, state));
    return persisting;
  };
  if (options.persistPath) {
    try {
      const saved = await loadPersistedRecords(options.persistPath);
      if (saved !== undefined) records.importState(saved);
    } catch (err) {
      server.close();
      throw err;
    }
    persistTimer = setInterval(() => {
      persist().catch((err: unknown) =>
        process.emitWarning(`emulator: saving ${options.persistPath} failed: ${String(err)}`),
      );
    }, options.persistIntervalMs);
    persistTimer.unref();
  }

  let closing: Promise<void> | undefined;
  return {
    url: orgUrl,
    webApiUrl: `${orgUrl}/api/data/v9.2/`,
    port,
    identity,
    stats,
    writes: () => [...writes],
    reset,
    configure,
    close() {
      closing ??= (async () => {
        if (persistTimer) clearInterval(persistTimer);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await persist();
      })();
      return closing;
    },
  };
}
