import { z } from 'zod';
import type { RpcRetryContext } from './invocation';

/**
 * Function-level retry policies (`retry:` in app.timer etc., metadata `retryOptions`). Azure honours them only for
 * some triggers (doc functions-bindings-error-pages "Retries": Timer, Event Hubs, Cosmos DB, Kafka); of the triggers
 * the local host runs, that is the timer. Queue and blob triggers retry through the queue (dequeue count, poison).
 * Delays as the WebJobs SDK computes them: FixedDelayRetryAttribute waits delayInterval;
 * ExponentialBackoffRetryAttribute uses RandomizedExponentialBackoffStrategy(min, max):
 * min + (0.8..1.2) × 2^(n-1) × min, capped at max. maxRetryCount -1 means retry forever.
 */
export const retryHonouredFor = new Set(['timerTrigger']);

const duration = z.object({ seconds: z.number().nonnegative(), nanos: z.number().optional() }).loose();
const retryOptionsSchema = z.union([
  z
    .object({ strategy: z.literal('fixedDelay'), maxRetryCount: z.number().int().min(-1), delayInterval: duration })
    .loose(),
  z
    .object({
      strategy: z.literal('exponentialBackoff'),
      maxRetryCount: z.number().int().min(-1),
      minimumInterval: duration,
      maximumInterval: duration,
    })
    .loose(),
]);

export interface RetryPolicy {
  strategy: 'fixedDelay' | 'exponentialBackoff';
  maxRetryCount: number;
  /** Wait before retry number `retry` (1 = the first retry). */
  delayMs(retry: number, random?: () => number): number;
}

export class RetryOptionsError extends Error {
  readonly code = 'RetryOptionsInvalid';
}

const ms = (d: { seconds: number; nanos?: number }) => d.seconds * 1000 + Math.round((d.nanos ?? 0) / 1e6);

export function parseRetryOptions(functionName: string, raw: unknown): RetryPolicy | undefined {
  if (raw === undefined || raw === null) return undefined;
  const parsed = retryOptionsSchema.safeParse(raw);
  if (!parsed.success)
    throw new RetryOptionsError(
      `Functions.${functionName}: retry options ${JSON.stringify(raw)} are not a fixedDelay (maxRetryCount, delayInterval) or exponentialBackoff (maxRetryCount, minimumInterval, maximumInterval) policy.`,
    );
  const options = parsed.data;
  if (options.strategy === 'fixedDelay') {
    const delay = ms(options.delayInterval);
    return { strategy: 'fixedDelay', maxRetryCount: options.maxRetryCount, delayMs: () => delay };
  }
  const min = ms(options.minimumInterval);
  const max = ms(options.maximumInterval);
  if (max < min)
    throw new RetryOptionsError(`Functions.${functionName}: retry maximumInterval is shorter than minimumInterval.`);
  return {
    strategy: 'exponentialBackoff',
    maxRetryCount: options.maxRetryCount,
    delayMs: (retry, random = Math.random) =>
      Math.round(Math.min(max, min + (0.8 + random() * 0.4) * 2 ** Math.min(retry - 1, 30) * min)),
  };
}

/**
 * Runs `attempt` and, while it fails and the policy allows, waits and runs it again; every run gets the retry
 * context (retryCount 0 on the first run, the previous failure as exception), as the host sends it.
 */
export async function runWithRetries<T>(
  policy: RetryPolicy,
  attempt: (retryContext: RpcRetryContext) => Promise<T>,
  onRetry: (retry: number, delayMs: number, error: unknown) => void,
): Promise<T> {
  let exception: RpcRetryContext['exception'];
  for (let retryCount = 0; ; retryCount++) {
    try {
      return await attempt({ retryCount, maxRetryCount: policy.maxRetryCount, exception });
    } catch (error) {
      if (policy.maxRetryCount !== -1 && retryCount >= policy.maxRetryCount) throw error;
      const inner = (error as { innerError?: unknown }).innerError ?? error;
      exception =
        inner instanceof Error
          ? { message: inner.message, source: inner.name, stackTrace: inner.stack ?? '' }
          : { message: String(inner) };
      const delay = policy.delayMs(retryCount + 1);
      onRetry(retryCount + 1, delay, error);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
