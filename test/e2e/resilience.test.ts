/**
 * Resilience through the local host (child process running dist/, `npm test` builds first), Azurite and the
 * emulator, at a small size (bench/resilience.ts runs the same at 100k rows):
 * (a) a 24,000-row load with the host SIGKILLed at 3 seeded random points (a random delay after the POST, then
 *     random chunk counts) and restarted each time;
 * (b) a load while the emulator injects 429s, 503s and dropped connections, some after it processed the request;
 * (c) a solution import with the host killed between its submission and its completion.
 * Rows lost and duplicated (the emulator's accounts against the input, by account number) must both be 0, and each
 * load and job must yield exactly one end event (one eventId; raw duplicates would be reported).
 * The seed is logged; set RESILIENCE_SEED to replay a run's kill points.
 */
import {
  EventLog,
  runFaultedLoad,
  runKilledImport,
  runKilledLoad,
  startResilienceStack,
  summarise,
  formatResilience,
  type JobRunResult,
  type LoadRunResult,
} from '../../bench/resilience';
import type { LocalStack } from '../../dev/host/localStack';

jest.setTimeout(600_000);

const seed = Number(process.env.RESILIENCE_SEED) || Math.floor(Math.random() * 2 ** 31);
const rows = 24_000;
const chunkSize = 400;
let stack: LocalStack;
let events: EventLog;
const loads: LoadRunResult[] = [];
const imports: JobRunResult[] = [];
const log = (line: string) => process.stdout.write(`${line}\n`);

beforeAll(async () => {
  log(`resilience: seed ${seed} (RESILIENCE_SEED=${seed} replays it)`);
  stack = await startResilienceStack({
    chunkSize,
    emulator: { solutions: { timing: { queuedMs: 300, runMs: 3000 } } },
  });
  events = new EventLog(stack.storage);
});
afterAll(async () => {
  if (loads.length + imports.length > 0) log(formatResilience(summarise(seed, loads, imports)));
  await stack?.stop();
});

test(`(a) ${rows} rows, the host SIGKILLed 3 times at random points and restarted: nothing lost, nothing doubled, one event`, async () => {
  const run = await runKilledLoad(stack, events, { rows, kills: 3, seed, log, chunkSize });
  loads.push(run);
  expect(run.kills).toHaveLength(3);
  expect({ lost: run.rowsLost, duplicated: run.rowsDuplicated }).toEqual({ lost: 0, duplicated: 0 });
  expect(run).toMatchObject({
    status: 'succeeded',
    counts: { total: rows, succeeded: rows, failed: 0, notProcessed: 0 },
  });
  expect(run.events.unique).toBe(1);
  if (run.events.raw > 1) log(`resilience: load ${run.loadId} event delivered ${run.events.raw} times (same eventId)`);
  expect(events.about(run.loadId).eventIds).toEqual([`${run.loadId}:succeeded`]);
});

test('(b) emulator faults (429, 503, dropped connections incl. after processing): nothing lost, nothing doubled, one event', async () => {
  const run = await runFaultedLoad(stack, events, {
    rows: 12_000,
    seed,
    faults: { rate429: 0.1, rate503: 0.1, rateDrop: 0.1 },
  });
  loads.push(run);
  expect(run.faults!['429'] + run.faults!['503'] + run.faults!.drop).toBeGreaterThan(0);
  expect(run.throttled + run.retries).toBeGreaterThan(0);
  expect({ lost: run.rowsLost, duplicated: run.rowsDuplicated }).toEqual({ lost: 0, duplicated: 0 });
  expect(run).toMatchObject({
    status: 'succeeded',
    counts: { total: 12_000, succeeded: 12_000, failed: 0, notProcessed: 0 },
  });
  expect(run.events).toEqual({ raw: 1, unique: 1 });
});

test('(c) a solution import with the host killed between submit and completion ends 30 with one event', async () => {
  const run = await runKilledImport(stack, events, { seed, log });
  imports.push(run);
  expect(['submitted', 'running']).toContain(run.killedInState);
  expect(run).toMatchObject({ state: 'succeeded', statusCode: 30 });
  expect(run.events.eventIds).toEqual([`${run.jobId}:succeeded`]);
  if (run.events.raw > 1) log(`resilience: job ${run.jobId} event delivered ${run.events.raw} times (same eventId)`);
});

test('no end event is missing or stray: one eventId per load and job, across the runs', async () => {
  await events.drain();
  const ids = [...loads.map((l) => l.loadId), ...imports.map((j) => j.jobId)];
  expect(ids).toHaveLength(3);
  const unique = new Set(events.events.map((e) => e.eventId));
  expect([...unique].sort()).toEqual(ids.map((id) => `${id}:succeeded`).sort());
});
