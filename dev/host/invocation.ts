import { randomUUID, randomBytes } from 'node:crypto';
import type { CoreRegistry, RegisteredFunction, RpcTypedData } from './coreApi';
import type { HostLogger, HostLogLevel } from './hostLog';

export interface InvocationRequest {
  inputData: { name: string; data: RpcTypedData }[];
  triggerMetadata?: Record<string, RpcTypedData>;
  retryContext?: { retryCount: number; maxRetryCount: number };
  /** For the log line, e.g. `New queue message detected on 'jobs'.` */
  reason: string;
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
  return deps
    .track(runInvocation(deps, fn, request))
    .finally(() => activeInvocations.set(name, activeInvocations.get(name)! - 1));
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
  const invocationId = randomUUID();
  const started = Date.now();
  const coreContext: Record<string, unknown> = {
    invocationId,
    request: {
      invocationId,
      functionId: fn.metadata.functionId ?? fn.metadata.name,
      inputData: request.inputData,
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

  coreContext.state = 'preInvocationHooks';
  const pre: Record<string, unknown> = {
    hookData,
    appHookData: registry.appHookData,
    invocationContext: context,
    inputs: initialInputs,
    functionCallback: fn.callback,
  };
  let result: unknown;
  let error: unknown;
  try {
    for (const hook of registry.hooks.preInvocation) await hook(pre);
    coreContext.state = 'invocation';
    result = await withTimeout(
      invocationModel.invokeFunction(
        context,
        pre.inputs as unknown[],
        pre.functionCallback as RegisteredFunction['callback'],
      ),
      deps.functionTimeoutMs,
      functionName,
    );
  } catch (e) {
    error = e;
  }

  coreContext.state = 'postInvocationHooks';
  const post: Record<string, unknown> = {
    hookData,
    appHookData: registry.appHookData,
    invocationContext: context,
    inputs: pre.inputs,
    result,
    error,
  };
  try {
    for (const hook of registry.hooks.postInvocation) await hook(post);
  } catch (e) {
    post.error = e;
  }
  coreContext.state = undefined;
  result = post.result;
  error = post.error;

  const duration = Date.now() - started;
  if (error !== undefined && error !== null) {
    const failure = new FunctionInvocationError(functionName, invocationId, error);
    log({
      level: 'error',
      category: 'host',
      message: `${failure.message} (Duration=${duration}ms)${error instanceof Error && error.stack ? `\n${error.stack}` : ''}`,
      functionName,
      invocationId,
    });
    throw failure;
  }
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
