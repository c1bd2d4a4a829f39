/**
 * What `GET /api/releases/{id}` and `GET /api/solutions/{uniqueName}` answer: a release with each solution's
 * decision, state, times and failure reason; a solution as the target has it, with a half-done upgrade named.
 */
import { z } from 'zod';
import type { Job } from './jobRecord';
import type { SolutionRunState } from './release/releasePlan';
import { describeUpgradeState, type InstalledSolution, type TargetSolutionState } from './release/installedSolutions';

const planSchema = z.array(
  z.object({ file: z.string(), uniqueName: z.string(), versionText: z.string(), managed: z.boolean() }),
);

/** A release child's state in the release's terms (a skip is `skipped`, never-started ones `notStarted`). */
export function solutionRunState(job: Job): SolutionRunState {
  switch (job.state) {
    case 'queued':
      return 'pending';
    case 'submitted':
    case 'running':
      return 'running';
    case 'succeeded':
      return job.decision === 'skip' ? 'skipped' : 'succeeded';
    case 'canceled':
      return job.submittedAt ? 'failed' : 'notStarted';
    default:
      return 'failed';
  }
}

export interface ReleaseView {
  id: string;
  state: Job['state'];
  continueOnError: boolean;
  createdAt: string;
  startedAt?: string;
  completedAt?: string;
  message?: string;
  solutions: Record<string, unknown>[];
}

export function releaseView(release: Job, children: readonly Job[]): ReleaseView {
  const plan = release.releasePlan ? planSchema.safeParse(JSON.parse(release.releasePlan)) : undefined;
  const planned = plan?.success ? plan.data : [];
  const solutions =
    children.length > 0
      ? children.map((child, i) => ({
          position: i + 1,
          file: planned[i]?.file,
          uniqueName: child.solutionName,
          version: child.solutionVersion,
          managed: planned[i]?.managed,
          state: solutionRunState(child),
          decision: child.decision,
          reason: child.decisionReason,
          jobId: child.id,
          statusUrl: `/api/imports/${encodeURIComponent(child.id)}`,
          ...(child.progress !== undefined ? { progress: child.progress } : {}),
          ...(child.componentsProcessed !== undefined ? { componentsProcessed: child.componentsProcessed } : {}),
          ...(child.submittedAt ? { submittedAt: child.submittedAt } : {}),
          ...(child.startedAt ? { startedAt: child.startedAt } : {}),
          ...(child.completedAt ? { completedAt: child.completedAt } : {}),
          ...(solutionRunState(child) !== 'succeeded' && solutionRunState(child) !== 'skipped' && child.message
            ? { failureReason: child.message }
            : {}),
        }))
      : // A rejected release never made children: what it read, unordered.
        planned.map((p, i) => ({
          position: i + 1,
          file: p.file,
          uniqueName: p.uniqueName,
          version: p.versionText,
          managed: p.managed,
          state: 'notStarted',
        }));
  return {
    id: release.id,
    state: release.state,
    continueOnError: release.continueOnError ?? false,
    createdAt: release.createdAt,
    ...(release.startedAt ? { startedAt: release.startedAt } : {}),
    ...(release.completedAt ? { completedAt: release.completedAt } : {}),
    ...(release.message ? { message: release.message } : {}),
    solutions,
  };
}

const installedView = (s: InstalledSolution) => ({
  uniqueName: s.uniqueName,
  version: s.versionText,
  managed: s.managed,
  solutionId: s.solutionId,
  ...(s.installedOn ? { installedOn: s.installedOn } : {}),
});

/** `GET /api/solutions/{uniqueName}`: the installed solution, its holding solution and the upgrade state. */
export function solutionView(state: TargetSolutionState) {
  const holding = state.upgrade.kind === 'none' ? undefined : state.upgrade.holding;
  return {
    uniqueName: state.installed?.uniqueName ?? state.uniqueName,
    installed: state.installed ? installedView(state.installed) : null,
    holding: holding ? installedView(holding) : null,
    upgrade: state.upgrade.kind,
    description: describeUpgradeState(state),
  };
}
