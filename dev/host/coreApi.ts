import Module from 'node:module';

/** The slice of the worker's RPC contract the local host produces and consumes (worker `types-core`). */
export interface RpcTypedData {
  string?: string | null;
  json?: string | null;
  bytes?: Uint8Array | null;
  stream?: Uint8Array | null;
  http?: RpcHttpData | null;
  int?: number | null;
  double?: number | null;
  modelBindingData?: RpcModelBindingData | null;
}

/** A reference in place of a binding's value (deferred, "SDK type" binding). */
export interface RpcModelBindingData {
  version?: string | null;
  source?: string | null;
  contentType?: string | null;
  content?: Uint8Array | null;
}

export interface RpcNullableString {
  value?: string | null;
}

export interface RpcHttpData {
  method?: string | null;
  url?: string | null;
  headers?: Record<string, string> | null;
  query?: Record<string, string> | null;
  params?: Record<string, string> | null;
  nullableHeaders?: Record<string, RpcNullableString> | null;
  nullableQuery?: Record<string, RpcNullableString> | null;
  nullableParams?: Record<string, RpcNullableString> | null;
  body?: RpcTypedData | null;
  statusCode?: string | null;
  cookies?: RpcHttpCookie[] | null;
}

export interface RpcHttpCookie {
  name?: string | null;
  value?: string | null;
  domain?: { value?: string | null } | null;
  path?: { value?: string | null } | null;
  expires?: { value?: { seconds?: number | null } | null } | null;
  secure?: { value?: boolean | null } | null;
  httpOnly?: { value?: boolean | null } | null;
  sameSite?: string | number | null;
  maxAge?: { value?: number | null } | null;
}

export interface RpcBindingInfo {
  type?: string;
  direction?: 'in' | 'out' | 'inout';
  [option: string]: unknown;
}

export interface FunctionMetadata {
  name: string;
  functionId?: string;
  bindings: Record<string, RpcBindingInfo>;
  retryOptions?: unknown;
}

export type FunctionCallback = (...args: unknown[]) => unknown;
export type HookName = 'appStart' | 'appTerminate' | 'preInvocation' | 'postInvocation' | 'log';
export type HookCallback = (context: Record<string, unknown>) => unknown;
export type RpcLogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical' | 'none';

export interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], callback: FunctionCallback): Promise<unknown>;
  getResponse(
    context: unknown,
    result: unknown,
  ): Promise<{
    invocationId: string;
    outputData?: { name: string; data: RpcTypedData | null | undefined }[];
    returnValue?: RpcTypedData | null;
  }>;
}

export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreContext: Record<string, unknown>): InvocationModel;
  getCapabilities?(capabilities: Record<string, string>): Promise<Record<string, string>>;
}

export interface RegisteredFunction {
  metadata: FunctionMetadata;
  callback: FunctionCallback;
}

/** What the app registered through `@azure/functions-core` while it loaded. */
export interface CoreRegistry {
  functions: Map<string, RegisteredFunction>;
  hooks: Record<HookName, HookCallback[]>;
  programmingModel?: ProgrammingModel;
  /** Shared by all hooks of the app (`appHookData`). */
  appHookData: Record<string, unknown>;
  /** Set once the app is loaded: like the worker, late registrations are refused. */
  locked: boolean;
}

class Disposable {
  static from(...inputs: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => inputs.forEach((d) => d.dispose()));
  }
  #callOnDispose?: () => unknown;
  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }
  dispose(): unknown {
    const call = this.#callOnDispose;
    this.#callOnDispose = undefined;
    return call?.();
  }
}

export function createCoreRegistry(): CoreRegistry {
  return {
    functions: new Map(),
    hooks: { appStart: [], appTerminate: [], preInvocation: [], postInvocation: [], log: [] },
    appHookData: {},
    locked: false,
  };
}

/** The object `require('@azure/functions-core')` returns inside the worker (worker `src/setupCoreModule.ts`). */
export function createCoreModule(
  registry: CoreRegistry,
  systemLog: (level: RpcLogLevel, category: string, message: string) => void,
) {
  return {
    version: '3.10.1-local',
    get hostVersion() {
      return '4.1037.0-local';
    },
    registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable {
      if (registry.locked) throw new Error('A function can only be registered during app startup.');
      const functionId = metadata.functionId || metadata.name;
      if (registry.functions.has(functionId))
        throw new Error(`A function with id '${functionId}' has already been registered.`);
      registry.functions.set(functionId, { metadata, callback });
      return new Disposable(() => registry.functions.delete(functionId));
    },
    registerHook(name: HookName, callback: HookCallback): Disposable {
      const list = registry.hooks[name];
      if (!list) throw new RangeError(`Unrecognized hook "${name}"`);
      list.push(callback);
      return new Disposable(() => {
        const i = list.indexOf(callback);
        if (i >= 0) list.splice(i, 1);
      });
    },
    setProgrammingModel(model: ProgrammingModel): void {
      registry.programmingModel = model;
    },
    getProgrammingModel(): ProgrammingModel | undefined {
      return registry.programmingModel;
    },
    log(level: RpcLogLevel, category: string, message: string): void {
      systemLog(level, category, message);
    },
    Disposable,
  };
}

let installed = false;

/**
 * Makes `require('@azure/functions-core')` answer with `core`, the worker's own technique: a Proxy on
 * Module.prototype.require, so nothing is written into node_modules. One app per process, like the worker.
 */
export function installCoreModule(core: object): void {
  if (installed)
    throw new Error(
      '@azure/functions-core is already installed in this process: the local host runs one app per process.',
    );
  installed = true;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- the Proxy's apply trap calls it with the caller's own `this`
  const original = Module.prototype.require;
  Module.prototype.require = new Proxy(original, {
    apply(target, thisArg, args: [string]) {
      if (args[0] === '@azure/functions-core') return core;
      return Reflect.apply(target, thisArg, args) as unknown;
    },
  });
}
