import type { AccessTokenSource } from './accessTokenSource';

/**
 * Concurrent callers share one in-flight token request: at startup fifty parallel Web API calls must
 * not make fifty token requests. A forced refresh (after a 401) never joins a plain request, which
 * could hand back the token that was just refused; concurrent forced refreshes share one request.
 */
export function withSharedTokenRequests(acquire: (forceRefresh: boolean) => Promise<string>): AccessTokenSource {
  let inFlight: { forced: boolean; promise: Promise<string> } | undefined;

  const start = (forced: boolean): Promise<string> => {
    const promise = acquire(forced).finally(() => {
      if (inFlight?.promise === promise) inFlight = undefined;
    });
    inFlight = { forced, promise };
    return promise;
  };

  return {
    getAccessToken(options = {}) {
      const { forceRefresh = false, abortSignal } = options;
      if (abortSignal?.aborted) return Promise.reject(abortReason(abortSignal));
      const shared = inFlight && (inFlight.forced || !forceRefresh) ? inFlight.promise : start(forceRefresh);
      if (!abortSignal) return shared;
      // The caller stops waiting; the shared request goes on for the others.
      return new Promise<string>((resolve, reject) => {
        const onAbort = () => reject(abortReason(abortSignal));
        abortSignal.addEventListener('abort', onAbort, { once: true });
        shared.then(
          (token) => {
            abortSignal.removeEventListener('abort', onAbort);
            resolve(token);
          },
          (error: unknown) => {
            abortSignal.removeEventListener('abort', onAbort);
            reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
      });
    },
  };
}

/** The signal's reason when it is an Error (AbortSignal.timeout and abort(error) give one), else an AbortError. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('The operation was aborted.', 'AbortError');
}
