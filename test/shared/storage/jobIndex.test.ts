import fc from 'fast-check';
import { startAzurite, type AzuriteFixture } from '../jobs/azurite';
import { createJobIndex, indexRowKey, type JobIndex } from '../../../shared/storage/jobIndex';

let azurite: AzuriteFixture;
let index: JobIndex;

beforeAll(async () => {
  azurite = await startAzurite();
  const table = azurite.clients.table('jobsindextest');
  await table.createTable();
  index = createJobIndex(table);
});
afterAll(async () => azurite?.close());

describe('indexRowKey', () => {
  it('sorts newer creation times first', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date(0), max: new Date('2200-01-01'), noInvalidDate: true }),
        fc.date({ min: new Date(0), max: new Date('2200-01-01'), noInvalidDate: true }),
        (a, b) => {
          fc.pre(a.getTime() !== b.getTime());
          const ka = indexRowKey(a.toISOString(), 'x');
          const kb = indexRowKey(b.toISOString(), 'x');
          return a.getTime() > b.getTime() === ka < kb;
        },
      ),
    );
  });
  it('refuses a non-date', () => {
    expect(() => indexRowKey('yesterday', 'x')).toThrow(RangeError);
  });
});

describe('job index on Azurite', () => {
  const base = Date.parse('2026-01-01T00:00:00Z');
  beforeAll(async () => {
    for (let i = 0; i < 25; i++) {
      await index.recordJob({
        id: `job-${String(i).padStart(2, '0')}`,
        kind: i % 2 === 0 ? 'load' : 'ImportSolution',
        state: i % 3 === 0 ? 'running' : 'queued',
        createdAt: new Date(base + i * 1000).toISOString(),
        name: `thing ${i}`,
      });
    }
  });

  it('lists newest first, paged by continuation token, without gaps or repeats', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await index.listJobs({ pageSize: 10, continuationToken: token });
      expect(page.items.length).toBeLessThanOrEqual(10);
      seen.push(...page.items.map((e) => e.id));
      token = page.continuationToken;
      pages++;
    } while (token && pages < 10);
    const expected = Array.from({ length: 25 }, (_, i) => `job-${String(24 - i).padStart(2, '0')}`);
    expect(seen).toEqual(expected);
  });

  it('filters by state and moves entries between states', async () => {
    const running = await index.listJobs({ state: 'running', pageSize: 100 });
    expect(running.items.map((e) => e.id)).toEqual([
      'job-24',
      'job-21',
      'job-18',
      'job-15',
      'job-12',
      'job-09',
      'job-06',
      'job-03',
      'job-00',
    ]);
    expect(await index.updateJobState('job-24', 'succeeded')).toBe(true);
    const after = await index.listJobs({ state: 'running', pageSize: 100 });
    expect(after.items.map((e) => e.id)).not.toContain('job-24');
    const done = await index.listJobs({ state: 'succeeded', pageSize: 100 });
    expect(done.items).toEqual([
      expect.objectContaining({ id: 'job-24', kind: 'load', name: 'thing 24', state: 'succeeded' }),
    ]);
  });

  it('never replaces a terminal state, and reports unknown ids', async () => {
    await index.updateJobState('job-23', 'failed');
    await index.updateJobState('job-23', 'running');
    const page = await index.listJobs({ state: 'failed', pageSize: 100 });
    expect(page.items.map((e) => e.id)).toContain('job-23');
    expect(await index.updateJobState('no-such-job', 'running')).toBe(false);
  });

  it('keeps state updates consistent under concurrent writers', async () => {
    await index.recordJob({
      id: 'race',
      kind: 'Merge',
      state: 'queued',
      createdAt: new Date(base - 1000).toISOString(),
    });
    await Promise.all([
      index.updateJobState('race', 'running'),
      index.updateJobState('race', 'succeeded'),
      index.updateJobState('race', 'running'),
    ]);
    const page = await index.listJobs({ state: 'succeeded', pageSize: 100 });
    expect(page.items.map((e) => e.id)).toContain('race');
  });

  it('rejects an entry that is not valid', async () => {
    await expect(index.recordJob({ id: '', kind: 'load', state: 'queued', createdAt: 'now' })).rejects.toThrow();
  });
});
