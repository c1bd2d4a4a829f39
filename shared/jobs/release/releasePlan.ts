/**
 * A release from start to end, as values: the plan (order and each solution's decision, made once from one
 * `solutions` query, since importing one solution does not change another's installed row) and the step from
 * one state of the release to the next (which solution runs next, what is not started after a failure, the
 * release's outcome). The wiring stores the states and sends the steps.
 */
import { z } from 'zod';
import { decideImport, importDecisionOptionsSchema, type ImportDecision } from './importDecision';
import { targetStateOf, type InstalledSolutions } from './installedSolutions';
import { orderRelease, type ReleaseEntry } from './releaseOrder';
import type { SolutionContents } from './solutionContents';
import { problem, type ReleaseProblem, type ReleaseResult } from './releaseProblem';

export const releaseOptionsSchema = importDecisionOptionsSchema.extend({
  /** Go on with the solutions that do not depend on a failed one. */
  continueOnError: z.boolean().default(false),
});
export type ReleaseOptions = z.infer<typeof releaseOptionsSchema>;

export interface PlannedSolution {
  file: string;
  uniqueName: string;
  versionText: string;
  decision: Exclude<ImportDecision, { action: 'reject' }>;
  /** Positions (in the plan) of the solutions of the release this one requires. */
  requires: number[];
}

export interface ReleaseEntryWithContents extends ReleaseEntry {
  contents: SolutionContents;
}

/** Orders the release and decides for each solution; any problem (order or a refused decision) rejects it all. */
export function planRelease(
  entries: readonly ReleaseEntryWithContents[],
  installed: InstalledSolutions,
  options: ReleaseOptions,
): ReleaseResult<PlannedSolution[]> {
  const ordered = orderRelease(entries, installed);
  if (!ordered.ok) return ordered;
  const position = new Map(ordered.value.map((e, i) => [e.contents.uniqueName.toLowerCase(), i]));
  const problems: ReleaseProblem[] = [];
  const plan: PlannedSolution[] = [];
  for (const entry of ordered.value) {
    const decision = decideImport(entry.contents, targetStateOf(installed, entry.contents.uniqueName), options);
    if (decision.action === 'reject') {
      problems.push(
        problem('ImportRefused', `${entry.file}: ${decision.reason}`, entry.file, entry.contents.uniqueName),
      );
      continue;
    }
    plan.push({
      file: entry.file,
      uniqueName: entry.contents.uniqueName,
      versionText: entry.contents.versionText,
      decision,
      requires: entry.contents.dependencies
        .map((d) => position.get(d.solution.toLowerCase()))
        .filter((i): i is number => i !== undefined),
    });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: plan };
}

export type SolutionRunState = 'pending' | 'running' | 'succeeded' | 'skipped' | 'failed' | 'notStarted';
export type ReleaseOutcome = 'succeeded' | 'partiallySucceeded' | 'failed';

/** The states a plan starts from: a skip with nothing to send is done already. */
export const initialStates = (plan: readonly PlannedSolution[]): SolutionRunState[] =>
  plan.map((p) => (p.decision.steps.length === 0 ? 'skipped' : 'pending'));

export interface ReleaseAdvance {
  states: SolutionRunState[];
  /** The solution to start now, if any (one at a time: the lane serialises solution operations anyway). */
  next?: number;
  /** Set once nothing is pending or running. */
  outcome?: ReleaseOutcome;
}

/**
 * After a solution ends (or at the start): a failure makes the rest `notStarted`, or with continueOnError only
 * the solutions that require a failed or not-started one; then the first pending solution is next.
 */
export function advanceRelease(
  plan: readonly PlannedSolution[],
  current: readonly SolutionRunState[],
  continueOnError: boolean,
): ReleaseAdvance {
  const states = [...current];
  const blocked = (i: number): boolean =>
    plan[i]!.requires.some((r) => states[r] === 'failed' || states[r] === 'notStarted');
  const anyFailed = states.includes('failed');
  for (let i = 0; i < states.length; i++) {
    // Plan order puts requirements first, so one pass sees every blocked chain.
    if (states[i] === 'pending' && ((anyFailed && !continueOnError) || blocked(i))) states[i] = 'notStarted';
  }
  if (states.includes('running')) return { states };
  const next = states.indexOf('pending');
  if (next >= 0) return { states, next };
  return { states, outcome: releaseOutcome(states) };
}

/** The outcome of a release whose solutions all ended: skipped counts as done. */
export function releaseOutcome(states: readonly SolutionRunState[]): ReleaseOutcome {
  const done = states.filter((s) => s === 'succeeded' || s === 'skipped').length;
  return done === states.length ? 'succeeded' : done > 0 ? 'partiallySucceeded' : 'failed';
}
