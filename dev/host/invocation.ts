import { randomUUID, randomBytes } from 'node:crypto';
import type { CoreRegistry, RegisteredFunction, RpcTypedData } from './coreApi';
import type { HostLogger, HostLogLevel } from './hostLog';
import { readInputBindings } from './inputs';
import { parseRetryOptions, retryHonouredFor, runWithRetries } from './retry';

export interface InvocationRequest {
  inputData: { name: string; data: RpcTypedData }[];
  triggerMetadata?: Record<string, RpcTypedData>;
  retryContext?: RpcRetryContext;
  /** Set by the caller when it must know the id first (HTTP streaming sends it to the worker's proxy). */
  invocationId?: string;
  /** Trigger binding data for binding expressions in input bindings (`{rowKey}`, `{queueTrigger}`). */
  bindingData?: Record<string, unknown>;
  /** For the log line, e.g. `New queue message detected on 'jobs'.` */
  reason: string;
}

/** RpcRetryContext: which retry this is (0 on the first run), of how many, and why the last run failed. */
export interface RpcRetryContext {
  retryCount: number;
  maxRetryCount: number;
  exception?: { message?: string; source?: string; stackTrace?: string };
}

export interface InvocationResponse {
  invocationId: string;
  outputData: { name: string; data: RpcTypedData | null | undefined }[];
  returnValue?: RpcTypedData | null;
}

export class FunctionInvocationError extends Error {
  readonly code = 'FunctionInvocationFailed';
  constructor(
    readonly functionName: string,
    readonly invocationId: string,
    readonly innerError: unknown,
  ) {
    super(
      `Executed 'Functions.${functionName}' (Failed, Id=${invocationId}): ${innerError instanceof Error ? innerError.message : String(innerError)}`,
    );
  }
}

export interface InvocationDeps {
  registry: CoreRegistry;
  log: HostLogger;
  functionTimeoutMs?: number;
  /** Counts in-flight invocations so a graceful stop can wait for them. */
  track<T>(work: Promise<T>): Promise<T>;
}

/**
 * The worker's invocation pipeline (worker `InvocationHandler.ts`): the library's own InvocationModel builds the
 * InvocationContext and the trigger value, hooks run around `handler(...inputs, context)`, and getResponse
 * converts the result back into RPC output data, which the caller acts on like the host.
 */
export function invoke(
  deps: InvocationDeps,
  fn: RegisteredFunction,
  request: InvocationRequest,
): Promise<InvocationResponse> {
  const name = fn.metadata.name;
  activeInvocations.set(name, (activeInvocations.get(name) ?? 0) + 1);
  const trigger = Object.values(fn.metadata.bindings).find((b) => String(b.type).endsWith('Trigger'));
  const policy = retryHonouredFor.has(String(trigger?.type))
    ? parseRetryOptions(name, fn.metadata.retryOptions)
    : undefined;
  const work = policy
    ? runWithRetries(
        policy,
        (retryContext) => runInvocation(deps, fn, { ...request, invocationId: undefined, retryContext }),
        (retry, delayMs) =>
          deps.log({
            level: 'information',
            category: 'host',
            message: `Functions.${name}: waiting ${delayMs} ms before retrying function execution. Next attempt: '${retry}'. Max retry count: '${policy.maxRetryCount}'.`,
            functionName: name,
          }),
      )
    : runInvocation(deps, fn, request);
  return deps.track(work).finally(() => activeInvocations.set(name, activeInvocations.get(name)! - 1));
}

/** Invocations running now, by function name (the host's memory log shows them). */
export const activeInvocations = new Map<string, number>();

async function runInvocation(
  deps: InvocationDeps,
  fn: RegisteredFunction,
  request: InvocationRequest,
): Promise<InvocationResponse> {
  const { registry, log } = deps;
  const model = registry.programmingModel;
  if (!model)
    throw new Error('The app did not set a programming model (no function registered through @azure/functions).');
  const functionName = fn.metadata.name;
  const invocationId = request.invocationId ?? randomUUID();
  const started = Date.now();
  // Input bindings (table input) are read by the host before the invocation, as the extensions bind them.
  let inputData = request.inputData;
  try {
    inputData = [...inputData, ...(await readInputBindings(fn, request.bindingData ?? {}))];
  } catch (error) {
    throw invocationFailed(deps, functionName, invocationId, error, started);
  }
  const coreContext: Record<string, unknown> = {
    invocationId,
    request: {
      invocationId,
      functionId: fn.metadata.functionId ?? fn.metadata.name,
      inputData,
      triggerMetadata: request.triggerMetadata ?? {},
      traceContext: {
        traceParent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00`,
        traceState: '',
        attributes: {},
      },
      retryContext: request.retryContext,
    },
    metadata: fn.metadata,
    state: undefined,
    log: (level: HostLogLevel, category: string, message: string) =>
      log({ level, category: category === 'user' ? 'user' : 'system', message, functionName, invocationId }),
  };
  log({
    level: 'information',
    category: 'host',
    message: `Executing 'Functions.${functionName}' (Reason='${request.reason}', Id=${invocationId})`,
    functionName,
    invocationId,
  });

  try {
    return await runInvocationModel(deps, fn, request, coreContext, invocationId, started);
  } finally {
    // The library's objects may outlive the invocation (anything that keeps the InvocationContext keeps the model
    // and this request): the input data (a whole blob for blob triggers) is let go of now.
    (coreContext.request as { inputData: unknown[] }).inputData = [];
  }
}

async function runInvocationModel(
  deps: InvocationDeps,
  fn: RegisteredFunction,
  request: InvocationRequest,
  coreContext: Record<string, unknown>,
  invocationId: string,
  started: number,
): Promise<InvocationResponse> {
  const { registry, log } = deps;
  const model = registry.programmingModel!;
  const functionName = fn.metadata.name;
  const invocationModel = model.getInvocationModel(coreContext);
  const { context, inputs: initialInputs } = await invocationModel.getArguments();
  const hookData: Record<string, unknown> = {};

  // The worker's hook contexts (worker InvocationHandler.ts): hookData, appHookData and invocationContext are
  // read-only (assigning throws), and the post-invocation context starts with `result: null, error: null`.
  const readOnly = (target: Record<string, unknown>) => {
    for (const [key, value] of [
      ['hookData', hookData],
      ['appHookData', registry.appHookData],
      ['invocationContext', context],
    ] as const)
      Object.defineProperty(target, key, {
        enumerable: true,
        get: () => value,
        set: () => {
          throw new TypeError(`Cannot assign to read only property '${key}' of object`);
        },
      });
    return target;
  };
  const pre = readOnly({ inputs: initialInputs, functionCallback: fn.callback });
  coreContext.state = 'preInvocationHooks';
  try {
    for (const hook of registry.hooks.preInvocation) await hook(pre);
  } catch (error) {
    // A failing preInvocation hook fails the invocation before the function runs (no postInvocation hooks).
    coreContext.state = undefined;
    throw invocationFailed(deps, functionName, invocationId, error, started);
  }
  const post = readOnly({ inputs: pre.inputs, result: null, error: null });
  coreContext.state = 'invocation';
  try {
    post.result = await withTimeout(
      invocationModel.invokeFunction(
        context,
        pre.inputs as unknown[],
        pre.functionCallback as RegisteredFunction['callback'],
      ),
      deps.functionTimeoutMs,
      functionName,
    );
  } catch (e) {
    post.error = e;
  }

  coreContext.state = 'postInvocationHooks';
  try {
    for (const hook of registry.hooks.postInvocation) await hook(post);
  } catch (e) {
    post.error = e;
  }
  coreContext.state = undefined;
  const result = post.result;
  const error = post.error;

  const duration = Date.now() - started;
  if (error !== undefined && error !== null) throw invocationFailed(deps, functionName, invocationId, error, started);
  const response = await invocationModel.getResponse(context, result);
  log({
    level: 'information',
    category: 'host',
    message: `Executed 'Functions.${functionName}' (Succeeded, Id=${invocationId}, Duration=${duration}ms)`,
    functionName,
    invocationId,
  });
  return { invocationId, outputData: response.outputData ?? [], returnValue: response.returnValue };
}

function invocationFailed(
  deps: InvocationDeps,
  functionName: string,
  invocationId: string,
  error: unknown,
  started: number,
): FunctionInvocationError {
  const failure = new FunctionInvocationError(functionName, invocationId, error);
  deps.log({
    level: 'error',
    category: 'host',
    message: `${failure.message} (Duration=${Date.now() - started}ms)${error instanceof Error && error.stack ? `\n${error.stack}` : ''}`,
    functionName,
    invocationId,
  });
  return failure;
}

export class FunctionTimeoutError extends Error {
  readonly code = 'FunctionTimeout';
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number | undefined, functionName: string): Promise<T> {
  if (!timeoutMs) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new FunctionTimeoutError(`Timeout value of ${timeoutMs}ms exceeded by function 'Functions.${functionName}'.`),
        ),
      timeoutMs,
    );
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
