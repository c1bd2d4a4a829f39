import { readFileSync, globSync } from 'node:fs';
import { hostname as machineName } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import {
  createCoreModule,
  createCoreRegistry,
  installCoreModule,
  type CoreRegistry,
  type RegisteredFunction,
} from './coreApi';
import { readHostJson, toHostConfig, type HostConfig, type HostJson } from './hostJson';
import { consoleHostLogger, type HostLogger } from './hostLog';
import { HttpTriggers, type HttpKeys } from './httpTrigger';
import { isFunctionDisabled } from './httpRpc';
import { checkBindings } from './inputs';
import { applyLocalSettings } from './localSettings';
import { createQueueTrigger, type TriggerDeps } from './queueTrigger';
import type { QueuePump } from './queuePump';
import { BlobTriggers, hostsContainer } from './blobTrigger';
import { listenerLockBlobName, SingletonListener } from './listenerLock';
import { storageAccountFor } from './storageAccount';
import { TimerTrigger } from './timerTrigger';

export interface HostOptions {
  /** The function app folder (package.json, host.json, local.settings.json). Default: cwd. */
  appDir?: string;
  /** Compiled entry files to load instead of package.json `main`. Relative to appDir. */
  files?: string[];
  /** Deep-merged over host.json (tests shorten intervals this way). */
  hostJson?: HostJson;
  /** HTTP port; default env PORT, else local.settings.json Host.LocalHttpPort, else 7071. 0 picks a free port. */
  port?: number;
  hostname?: string;
  /** Host id used in receipts and internal queue names; default host.json `id`, else derived from the machine and app. */
  hostId?: string;
  /** Function keys; default env FUNCTIONS_HOST_KEY / FUNCTIONS_MASTER_KEY. Unset: nothing enforced, like Core Tools. */
  keys?: HttpKeys;
  /** Blob container scan interval (the host's is 10 s). */
  blobScanIntervalMs?: number;
  /**
   * How often an instance without a timer's singleton lock tries to take it (host.json
   * `singleton.listenerLockRecoveryPollingInterval`, at least 15 s there); tests shorten it to fail over fast.
   */
  listenerLockRecoveryPollingMs?: number;
  /** How long stop() waits for in-flight invocations. */
  stopTimeoutMs?: number;
  /** Read local.settings.json into process.env (default true). */
  localSettings?: boolean;
  log?: HostLogger;
}

export interface FunctionSummary {
  name: string;
  trigger: string;
  detail: string;
  /** `AzureWebJobs.<name>.Disabled`: listed, never invoked (HTTP answers 404). */
  disabled?: boolean;
}

export interface FunctionHost {
  /** HTTP base including the route prefix, e.g. `http://127.0.0.1:7071/api`. */
  url: string;
  port: number;
  hostId: string;
  config: HostConfig;
  functions: FunctionSummary[];
  /** True when the app turned HTTP streaming on (app.setup({ enableHttpStream: true })): requests are proxied. */
  httpStreaming: boolean;
  /** Invocations running now. */
  inFlight(): number;
  /** Stops triggers, waits for in-flight invocations (up to stopTimeoutMs), runs appTerminate hooks. */
  stop(options?: { timeoutMs?: number }): Promise<{ drained: boolean }>;
}

export class HostStartError extends Error {
  readonly code = 'HostStartFailed';
}

/** Expands package.json `main` (a glob such as `dist/functions/*.js`) the way the worker does. */
export function resolveEntryFiles(appDir: string, files?: string[]): string[] {
  let patterns = files;
  if (!patterns) {
    const pkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { main?: string };
    if (!pkg.main)
      throw new HostStartError(`${join(appDir, 'package.json')} has no "main" (e.g. "dist/functions/*.js").`);
    patterns = [pkg.main];
  }
  const matched = patterns.flatMap((p) => (/[*?[{]/.test(p) ? globSync(p, { cwd: appDir }).sort() : [p]));
  return matched.map((f) => (isAbsolute(f) ? f : resolve(appDir, f)));
}

export function defaultHostId(appDir: string): string {
  // The real host derives the id from the site name; locally, machine + app folder, lower-case, ≤ 32 chars.
  return `${machineName()}-${basename(appDir)}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 32)
    .replace(/-$/, '');
}

let started = false;

/**
 * Starts the local Functions host in this process: installs `@azure/functions-core`, loads the app's entry files
 * (capturing registrations), runs appStart hooks, then starts one listener per trigger. One host per process.
 */
export async function startHost(options: HostOptions = {}): Promise<FunctionHost> {
  if (started)
    throw new HostStartError(
      'A local host already runs in this process (the app and @azure/functions are process-wide).',
    );
  started = true;
  const appDir = resolve(options.appDir ?? process.cwd());
  const log = options.log ?? consoleHostLogger;
  const settings = options.localSettings === false ? undefined : applyLocalSettings(appDir);
  process.env.AzureWebJobsScriptRoot ??= appDir;
  process.env.FUNCTIONS_WORKER_RUNTIME ??= 'node';
  const config = toHostConfig(readHostJson(appDir, options.hostJson), 1);
  const hostId = options.hostId ?? config.id ?? defaultHostId(appDir);

  const registry = createCoreRegistry();
  installCoreModule(
    createCoreModule(registry, (level, category, message) =>
      log({ level, category: category === 'user' ? 'user' : 'system', message }),
    ),
  );
  for (const file of resolveEntryFiles(appDir, options.files)) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the worker loads CommonJS entry files this way
      require(file);
    } catch (error) {
      throw new HostStartError(`Worker was unable to load entry point "${file}": ${(error as Error).message}`);
    }
  }
  registry.locked = true;
  if (registry.functions.size === 0)
    log({
      level: 'warning',
      category: 'host',
      message: 'No functions registered: check package.json "main" and that the build ran.',
    });
  // App-level hooks share one object as hookData and appHookData (worker startApp.ts).
  await runHooks(registry, 'appStart', {
    hookData: registry.appHookData,
    appHookData: registry.appHookData,
    functionAppDirectory: appDir,
  });
  // The worker asks the library for its capabilities after loading the app; with HTTP streaming on, the library
  // starts its HTTP server and answers with its address as HttpUri (library ProgrammingModel.getCapabilities).
  const capabilities = (await registry.programmingModel?.getCapabilities?.({})) ?? {};
  const httpUri =
    typeof capabilities.HttpUri === 'string' && capabilities.HttpUri !== '' ? capabilities.HttpUri : undefined;

  const inFlight = new Set<Promise<unknown>>();
  const pumpsByQueue = new Map<string, QueuePump[]>();
  const deps: TriggerDeps = {
    registry,
    log,
    config,
    functionTimeoutMs: config.functionTimeoutMs,
    track(work) {
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work)).catch(() => undefined);
      return work;
    },
    notifyQueue: (name) => pumpsByQueue.get(name)?.forEach((p) => p.notify()),
  };

  const keys: HttpKeys = options.keys ?? {
    host: process.env.FUNCTIONS_HOST_KEY || undefined,
    master: process.env.FUNCTIONS_MASTER_KEY || undefined,
  };
  const http = new HttpTriggers(deps, keys, { httpUri });
  const blobs = new BlobTriggers(deps, { hostId, scanIntervalMs: options.blobScanIntervalMs ?? 10_000 });
  const timers: SingletonListener[] = [];
  const pumps: QueuePump[] = [];
  const functions: FunctionSummary[] = [];

  const enabled = [...registry.functions.values()].filter((fn) => !isFunctionDisabled(fn.metadata.name));
  const problems = enabled.map(checkBindings);
  for (const warning of problems.flatMap((p) => p.warnings))
    log({ level: 'warning', category: 'host', message: warning });
  const errors = problems.flatMap((p) => p.errors);
  if (errors.length > 0)
    throw new HostStartError(
      `The local host cannot run ${errors.length === 1 ? 'this binding' : 'these bindings'} (disable the function with AzureWebJobs.<name>.Disabled to start without it):\n  ${errors.join('\n  ')}`,
    );
  for (const fn of registry.functions.values()) {
    const [bindingName, trigger] = triggerOf(fn);
    if (!enabled.includes(fn)) {
      functions.push({ name: fn.metadata.name, trigger: String(trigger.type), detail: 'disabled', disabled: true });
      continue;
    }
    switch (String(trigger.type)) {
      case 'httpTrigger':
        http.add(fn, bindingName);
        break;
      case 'queueTrigger': {
        const { queueName, pump } = createQueueTrigger(deps, fn, bindingName);
        pumps.push(pump);
        pumpsByQueue.set(queueName, [...(pumpsByQueue.get(queueName) ?? []), pump]);
        functions.push({ name: fn.metadata.name, trigger: 'queueTrigger', detail: queueName });
        break;
      }
      case 'blobTrigger':
        blobs.add(fn, bindingName);
        functions.push({ name: fn.metadata.name, trigger: 'blobTrigger', detail: String(trigger.path) });
        break;
      case 'timerTrigger': {
        const timer = new TimerTrigger(deps, fn, bindingName, hostId);
        // One instance of those sharing the host id runs the timer, as on Azure (listenerLock.ts).
        timers.push(
          new SingletonListener(timer, {
            container: storageAccountFor(undefined).blobService.getContainerClient(hostsContainer),
            blobName: listenerLockBlobName(hostId, fn.metadata.name),
            leasePeriodMs: config.singleton.listenerLockPeriodMs,
            recoveryPollingMs:
              options.listenerLockRecoveryPollingMs ?? config.singleton.listenerLockRecoveryPollingIntervalMs,
            log,
            functionName: fn.metadata.name,
          }),
        );
        functions.push({ name: fn.metadata.name, trigger: 'timerTrigger', detail: timer.schedule });
        break;
      }
      // checkBindings has refused every other trigger type.
    }
  }

  const port = await http.listen(
    options.port ?? (process.env.PORT ? Number(process.env.PORT) : (settings?.Host?.LocalHttpPort ?? 7071)),
    options.hostname ?? '127.0.0.1',
  );
  const base = `http://${options.hostname ?? '127.0.0.1'}:${port}${config.routePrefix ? `/${config.routePrefix}` : ''}`;
  for (const route of http.describe())
    functions.push({
      name: route.name,
      trigger: 'httpTrigger',
      detail: `[${route.methods}] http://${options.hostname ?? '127.0.0.1'}:${port}/${route.route}`,
    });
  logFunctions(log, functions, httpUri);
  for (const pump of pumps) pump.start();
  blobs.start();
  await Promise.all(timers.map((t) => t.start()));

  let stopping: Promise<{ drained: boolean }> | undefined;
  return {
    url: base,
    port,
    hostId,
    config,
    functions,
    httpStreaming: httpUri !== undefined,
    inFlight: () => inFlight.size,
    stop(stopOptions) {
      stopping ??= (async () => {
        const timeoutMs = stopOptions?.timeoutMs ?? options.stopTimeoutMs ?? 30_000;
        const drained = Promise.all([
          http.close(),
          blobs.stop(),
          ...pumps.map((p) => p.stop()),
          ...timers.map((t) => t.stop()),
        ]).then(async () => {
          await Promise.allSettled([...inFlight]);
          return true;
        });
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
        const ok = await Promise.race([drained, timedOut]);
        clearTimeout(timer);
        if (!ok)
          log({
            level: 'warning',
            category: 'host',
            message: `Stop timed out after ${timeoutMs} ms with ${inFlight.size} invocation(s) still running.`,
          });
        await runHooks(registry, 'appTerminate', {
          hookData: registry.appHookData,
          appHookData: registry.appHookData,
        }).catch((error: Error) =>
          log({ level: 'error', category: 'host', message: `appTerminate hook failed: ${error.message}` }),
        );
        return { drained: ok };
      })();
      return stopping;
    },
  };
}

/** The start-up list, in the spirit of Core Tools' `Functions:` block; disabled functions are named as such. */
function logFunctions(log: HostLogger, functions: FunctionSummary[], httpUri: string | undefined): void {
  const lines = functions.map((f) =>
    f.disabled
      ? `  ${f.name}: ${f.trigger} (disabled by app setting AzureWebJobs.${f.name}.Disabled)`
      : `  ${f.name}: ${f.trigger === 'httpTrigger' ? f.detail : `${f.trigger} ${f.detail}`}`,
  );
  const mode = httpUri ? `HTTP streaming on: requests are proxied to the worker at ${httpUri}` : 'HTTP streaming off';
  log({ level: 'information', category: 'host', message: `Functions (${mode}):\n${lines.join('\n')}` });
}

function triggerOf(fn: RegisteredFunction): [string, Record<string, unknown>] {
  const entry = Object.entries(fn.metadata.bindings).find(([, b]) => String(b.type).endsWith('Trigger'));
  if (!entry) throw new HostStartError(`Function '${fn.metadata.name}' has no trigger binding.`);
  return entry;
}

async function runHooks(
  registry: CoreRegistry,
  name: 'appStart' | 'appTerminate',
  context: Record<string, unknown>,
): Promise<void> {
  for (const hook of registry.hooks[name]) await hook(context);
}
