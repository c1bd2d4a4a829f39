/** The pure parts of the release wiring: release zips, run states, who may not start, the release's outcome. */
import fc from 'fast-check';
import { strToU8, zipSync } from 'fflate';
import { buildSolutionZip } from '../../../dev/emulator/solutions/solutionZip';
import { jobView } from '../../../shared/jobs/importRequest';
import { blockingPredecessor, type Job, type JobState } from '../../../shared/jobs/jobRecord';
import { releaseOutcome, type SolutionRunState } from '../../../shared/jobs/release/releasePlan';
import {
  readReleaseZip,
  releaseOptionsFromStringsSchema,
  releaseRequestSchema,
} from '../../../shared/jobs/releaseIntake';
import { releaseView, solutionRunState } from '../../../shared/jobs/releaseView';

const job = (patch: Partial<Job>): Job => ({
  id: 'r.1',
  kind: 'ImportSolution',
  state: 'queued',
  environment: 'https://org.example',
  laneSeq: '0',
  source: 'http',
  correlationId: 'c',
  createdAt: '2026-12-07T00:00:00.000Z',
  ...patch,
});

describe('readReleaseZip', () => {
  test('returns the solution zips of a zip of zips in name order, at any depth, and nothing else', () => {
    const a = buildSolutionZip({ uniqueName: 'a' });
    const b = buildSolutionZip({ uniqueName: 'b' });
    const read = readReleaseZip(
      zipSync({ '2-b.zip': b, 'deep/1-a.zip': a, 'notes.txt': strToU8('x'), '__MACOSX/._a.zip': a }),
      'release.zip',
    );
    expect(read.ok && read.zips.map((z) => [z.file, z.bytes.length])).toEqual([
      ['2-b.zip', b.length],
      ['deep/1-a.zip', a.length],
    ]);
  });

  test('a zip with no solution zip, bytes that are not a zip and a zip bomb are problems naming the file', () => {
    const none = readReleaseZip(zipSync({ 'readme.txt': strToU8('hello') }), 'release.zip');
    expect(!none.ok && none.problems[0]!.message).toMatch(/release\.zip holds no solution zip/);
    const junk = readReleaseZip(strToU8('not a zip at all'), 'junk.zip');
    expect(!junk.ok && junk.problems[0]).toMatchObject({ code: 'SolutionZipUnreadable', file: 'junk.zip' });
    const bomb = readReleaseZip(zipSync({ 'big.zip': new Uint8Array(5_000_000) }, { level: 9 }), 'bomb.zip');
    expect(!bomb.ok && bomb.problems[0]!.message).toMatch(/bomb\.zip: .*expands to/);
  });
});

describe('release requests', () => {
  test('JSON: blob references alone or with settings; unknown fields are named', () => {
    const parsed = releaseRequestSchema.parse({
      solutions: [{ container: 'solutions', name: 'a.zip' }, { solution: { container: 'solutions', name: 'b.zip' } }],
    });
    expect(parsed.solutions.map((s) => s.solution.name)).toEqual(['a.zip', 'b.zip']);
    expect(parsed).toMatchObject({ continueOnError: false, mode: 'auto', force: false, finishUpgrade: false });
    const unknown = releaseRequestSchema.safeParse({ solutions: [{ container: 'solutions', name: 'a.zip' }], x: 1 });
    expect(unknown.success).toBe(false);
    expect(JSON.stringify(unknown.error?.issues)).toMatch(/"x"/);
  });

  test('string options: true/false only, a known mode, nothing else', () => {
    expect(releaseOptionsFromStringsSchema.parse({ continueOnError: 'true', mode: 'upgrade' })).toEqual({
      continueOnError: true,
      mode: 'upgrade',
    });
    expect(releaseOptionsFromStringsSchema.safeParse({ force: 'yes' }).success).toBe(false);
    expect(releaseOptionsFromStringsSchema.safeParse({ mode: 'sideways' }).success).toBe(false);
    expect(releaseOptionsFromStringsSchema.safeParse({ colour: 'blue' }).success).toBe(false);
  });
});

describe('run states and outcome', () => {
  test('a child job in release terms', () => {
    expect(solutionRunState(job({ state: 'queued' }))).toBe('pending');
    expect(solutionRunState(job({ state: 'running' }))).toBe('running');
    expect(solutionRunState(job({ state: 'succeeded', decision: 'install' }))).toBe('succeeded');
    expect(solutionRunState(job({ state: 'succeeded', decision: 'skip' }))).toBe('skipped');
    expect(solutionRunState(job({ state: 'canceled' }))).toBe('notStarted');
    expect(solutionRunState(job({ state: 'canceled', submittedAt: '2026-12-07T00:00:01Z' }))).toBe('failed');
    expect(solutionRunState(job({ state: 'rejected' }))).toBe('failed');
    expect(solutionRunState(job({ state: 'timedOut' }))).toBe('failed');
  });

  test('releaseOutcome: succeeded iff all done, failed iff none, partiallySucceeded otherwise', () => {
    const ended: SolutionRunState[] = ['succeeded', 'skipped', 'failed', 'notStarted'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ended), { minLength: 1, maxLength: 20 }), (states) => {
        const done = states.filter((s) => s === 'succeeded' || s === 'skipped').length;
        const expected = done === states.length ? 'succeeded' : done === 0 ? 'failed' : 'partiallySucceeded';
        expect(releaseOutcome(states)).toBe(expected);
      }),
    );
  });

  test('with continueOnError only a child whose required sibling ended other than succeeded is held back', () => {
    const siblings = [
      job({ id: 'r.1', batchIndex: 0, state: 'failed' }),
      job({ id: 'r.2', batchIndex: 1, state: 'succeeded' }),
    ];
    const needsFailed = job({ id: 'r.3', batchIndex: 2, requires: JSON.stringify(['r.1']) });
    const needsOk = job({ id: 'r.4', batchIndex: 3, requires: JSON.stringify(['r.2']) });
    const free = job({ id: 'r.5', batchIndex: 4 });
    expect(blockingPredecessor(siblings, needsFailed, true)?.id).toBe('r.1');
    expect(blockingPredecessor(siblings, needsOk, true)).toBeUndefined();
    expect(blockingPredecessor(siblings, free, true)).toBeUndefined();
    // Without it, any earlier failure holds every later child back.
    expect(blockingPredecessor(siblings, free, false)?.id).toBe('r.1');
  });

  test('a skipped child does not hold back what requires it', () => {
    const states: JobState[] = ['succeeded'];
    const siblings = states.map((state, i) => job({ id: `r.${i + 1}`, batchIndex: i, state, decision: 'skip' }));
    expect(blockingPredecessor(siblings, job({ id: 'r.2', batchIndex: 1, requires: '["r.1"]' }), true)).toBeUndefined();
  });
});

describe('views', () => {
  test('a release lists its solutions in order with decision, state and failure reason', () => {
    const release = job({
      id: 'r',
      kind: 'Release',
      state: 'failed',
      releasePlan: JSON.stringify([
        { file: 'base.zip', uniqueName: 'base', versionText: '1.0.0.0', managed: true },
        { file: 'app.zip', uniqueName: 'app', versionText: '1.0.0.0', managed: true },
      ]),
    });
    const view = releaseView(release, [
      job({ id: 'r.1', state: 'failed', solutionName: 'base', decision: 'install', message: 'boom', submittedAt: 'x' }),
      job({ id: 'r.2', state: 'canceled', solutionName: 'app', decision: 'install', message: 'Not started: …' }),
    ]);
    expect(view.solutions).toMatchObject([
      { position: 1, file: 'base.zip', uniqueName: 'base', state: 'failed', failureReason: 'boom', jobId: 'r.1' },
      { position: 2, file: 'app.zip', uniqueName: 'app', state: 'notStarted', failureReason: 'Not started: …' },
    ]);
  });

  test('the job view shows steps as message names and hides the stored plan', () => {
    const view = jobView(
      job({
        steps: JSON.stringify([
          { message: 'DeleteAndPromoteAsync', uniqueName: 'a' },
          { message: 'StageAndUpgradeAsync' },
        ]),
        releasePlan: '[]',
        requires: '["r.1"]',
      }),
    );
    expect(view.steps).toEqual(['DeleteAndPromoteAsync', 'StageAndUpgradeAsync']);
    expect(view.requires).toEqual(['r.1']);
    expect(view).not.toHaveProperty('releasePlan');
  });
});
