import fc from 'fast-check';
import { buildSolutionZip, type SolutionZipOptions } from '../../../../dev/emulator/solutions/solutionZip';
import { readInstalledSolutions, type InstalledSolutions } from '../../../../shared/jobs/release/installedSolutions';
import {
  advanceRelease,
  initialStates,
  planRelease,
  releaseOptionsSchema,
  type PlannedSolution,
  type ReleaseEntryWithContents,
  type SolutionRunState,
} from '../../../../shared/jobs/release/releasePlan';
import { readSolutionContents } from '../../../../shared/jobs/release/solutionContents';

const entry = (options: SolutionZipOptions): ReleaseEntryWithContents => {
  const file = `${options.uniqueName}.zip`;
  const read = readSolutionContents(buildSolutionZip(options), file);
  if (!read.ok) throw new Error(read.problems[0]!.message);
  return { file, contents: read.value };
};
const installed = (...rows: Array<[string, string, boolean]>): InstalledSolutions => {
  const read = readInstalledSolutions({
    value: rows.map(([uniquename, version, ismanaged]) => ({ solutionid: uniquename, uniquename, version, ismanaged })),
  });
  if (!read.ok) throw new Error('bad rows');
  return read.value;
};
const options = releaseOptionsSchema.parse({});

describe('release plan', () => {
  test('orders the solutions and decides for each from one look at the target', () => {
    const plan = planRelease(
      [
        entry({ uniqueName: 'app', version: '2.0.0.0', managed: true, missingDependencies: ['base'] }),
        entry({ uniqueName: 'base', version: '1.0.0.0', managed: true }),
        entry({ uniqueName: 'tools', version: '1.0.0.0', managed: true }),
      ],
      installed(['base', '1.0.0.0', true], ['app', '1.0.0.0', true]),
      options,
    );
    if (!plan.ok) throw new Error(plan.problems[0]!.message);
    expect(plan.value.map((p) => [p.uniqueName, p.decision.action, p.requires])).toEqual([
      ['base', 'skip', []],
      ['app', 'upgrade', [0]],
      ['tools', 'install', []],
    ]);
    expect(initialStates(plan.value)).toEqual(['skipped', 'pending', 'pending']);
  });

  test('a refused decision rejects the whole release before anything runs, naming the file', () => {
    const plan = planRelease(
      [entry({ uniqueName: 'dev', managed: true, version: '2.0.0.0' })],
      installed(['dev', '1.0.0.0', false]),
      options,
    );
    expect(plan).toMatchObject({ ok: false, problems: [{ code: 'ImportRefused', file: 'dev.zip', item: 'dev' }] });
  });
});

const planned = (requires: number[][]): PlannedSolution[] =>
  requires.map((r, i) => ({
    file: `s${i}.zip`,
    uniqueName: `s${i}`,
    versionText: '1.0.0.0',
    decision: {
      action: 'install',
      reason: '',
      steps: [{ message: 'ImportSolutionAsync', holdingSolution: false }],
      packageVersion: '1.0.0.0',
    },
    requires: r,
  }));

describe('advancing a release', () => {
  test('a failure stops the rest (notStarted) unless continueOnError, which still skips what needs the failed one', () => {
    const plan = planned([[], [0], []]);
    expect(advanceRelease(plan, ['pending', 'pending', 'pending'], false)).toEqual({
      states: ['pending', 'pending', 'pending'],
      next: 0,
    });
    expect(advanceRelease(plan, ['running', 'pending', 'pending'], false).next).toBeUndefined();
    expect(advanceRelease(plan, ['failed', 'pending', 'pending'], false)).toEqual({
      states: ['failed', 'notStarted', 'notStarted'],
      outcome: 'failed',
    });
    expect(advanceRelease(plan, ['failed', 'pending', 'pending'], true)).toEqual({
      states: ['failed', 'notStarted', 'pending'],
      next: 2,
    });
    expect(advanceRelease(plan, ['failed', 'notStarted', 'succeeded'], true).outcome).toBe('partiallySucceeded');
    expect(advanceRelease(plan, ['skipped', 'succeeded', 'succeeded'], false).outcome).toBe('succeeded');
  });

  test('property: any sequence of results ends with an outcome, never starts a solution whose requirement did not succeed', () => {
    const dag = fc
      .integer({ min: 1, max: 8 })
      .chain((n) =>
        fc.tuple(
          fc.tuple(...Array.from({ length: n }, (_, i) => fc.subarray([...Array(i).keys()]))),
          fc.array(fc.boolean(), { minLength: n, maxLength: n }),
          fc.boolean(),
        ),
      );
    fc.assert(
      fc.property(dag, ([requires, succeeds, continueOnError]) => {
        const plan = planned(requires);
        let step = advanceRelease(plan, initialStates(plan), continueOnError);
        let guard = 0;
        while (step.next !== undefined) {
          const i = step.next;
          for (const r of plan[i]!.requires) expect(['succeeded', 'skipped']).toContain(step.states[r]);
          const states: SolutionRunState[] = [...step.states];
          states[i] = succeeds[i] ? 'succeeded' : 'failed';
          step = advanceRelease(plan, states, continueOnError);
          expect(++guard).toBeLessThanOrEqual(plan.length);
        }
        expect(step.outcome).toBeDefined();
        expect(step.states).not.toContain('pending');
        if (!continueOnError && step.states.includes('failed')) {
          const first = step.states.indexOf('failed');
          expect(step.states.slice(first + 1).every((s) => s === 'notStarted')).toBe(true);
        }
      }),
    );
  });
});
