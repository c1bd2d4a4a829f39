/** Per-call options and the Dataverse headers they become. */
import type { HeaderMap } from './httpMessage';

export interface CallOptions {
  /** `MSCRM.BypassBusinessLogicExecution` (needs prvBypassCustomBusinessLogic). */
  bypassBusinessLogic?: 'CustomSync' | 'CustomAsync' | 'CustomSync,CustomAsync';
  /** Legacy `MSCRM.BypassCustomPluginExecution: true` (sync plug-ins only). */
  bypassCustomPluginExecution?: boolean;
  /** `MSCRM.SuppressDuplicateDetection`; Web API default is suppressed, `false` turns detection on. */
  suppressDuplicateDetection?: boolean;
  /** Impersonation by Entra object id (`CallerObjectId`); applies to every request of a batch. */
  callerObjectId?: string;
  /** Send as the default identity, never another of the pool (solution operations; impersonation always is). */
  useDefaultIdentity?: boolean;
  abortSignal?: AbortSignal;
}

export function callOptionHeaders(options: CallOptions | undefined): HeaderMap {
  const headers: HeaderMap = {};
  if (!options) return headers;
  if (options.bypassBusinessLogic) headers['MSCRM.BypassBusinessLogicExecution'] = options.bypassBusinessLogic;
  if (options.bypassCustomPluginExecution) headers['MSCRM.BypassCustomPluginExecution'] = 'true';
  if (options.suppressDuplicateDetection !== undefined) {
    headers['MSCRM.SuppressDuplicateDetection'] = String(options.suppressDuplicateDetection);
  }
  if (options.callerObjectId) headers['CallerObjectId'] = options.callerObjectId;
  return headers;
}
