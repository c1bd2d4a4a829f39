/**
 * Solution operations of the emulator: ImportSolutionAsync, StageAndUpgradeAsync, DeleteAndPromoteAsync,
 * the asyncoperations / importjobs / solutions entity sets and RetrieveFormattedImportJobResults.
 * (Contract first; the implementation follows in later commits.)
 */
import type { EmulatorRoute } from '../types.js';

export interface SolutionOperationsOptions {
  /** The organization URL (no trailing slash), used in `@odata.context`. */
  baseUrl: string;
  /** How long an operation stays queued (0/0) and then running (2/20) before it ends. */
  timing?: { queuedMs?: number; runMs?: number };
  /** HTTP status of the "Cannot start another [Import]" refusal (default 400). */
  refusalStatus?: number;
  /** Clock, injectable so tests can move time. */
  now?: () => number;
}

export interface SolutionOperationsStats {
  asyncOperationsByStatus: Record<string, number>;
  solutionQueries: number;
}

export interface SolutionOperations {
  route: EmulatorRoute;
  reset(): void;
  stats(): SolutionOperationsStats;
}

export function createSolutionOperations(options: SolutionOperationsOptions): SolutionOperations {
  void options;
  return {
    route: () => undefined,
    reset: () => {},
    stats: () => ({ asyncOperationsByStatus: {}, solutionQueries: 0 }),
  };
}
