/** Start-up binding checks: what the local host can serve, and retry options where Azure ignores them. */
import { checkBindings } from '../../../dev/host/inputs';
import type { RegisteredFunction } from '../../../dev/host/coreApi';

const fn = (bindings: RegisteredFunction['metadata']['bindings'], retryOptions?: unknown): RegisteredFunction => ({
  metadata: { name: 'f', bindings, retryOptions },
  callback: () => undefined,
});

test('served bindings pass; every other binding is an error naming function, binding, type and direction', () => {
  expect(
    checkBindings(
      fn({
        t: { type: 'httpTrigger', direction: 'in' },
        $return: { type: 'http', direction: 'out' },
        q: { type: 'queue', direction: 'out' },
        rows: { type: 'table', direction: 'in', tableName: 'x' },
      }),
    ),
  ).toEqual({ errors: [], warnings: [] });
  const { errors } = checkBindings(
    fn({
      t: { type: 'cosmosDBTrigger', direction: 'in' },
      b: { type: 'blob', direction: 'in' },
      e: { type: 'eventHub', direction: 'out' },
      r: { type: 'table', direction: 'in' },
    }),
  );
  expect(errors).toEqual([
    "Functions.f: binding 't' (type 'cosmosDBTrigger', direction 'in'): the local host has no 'cosmosDBTrigger' trigger.",
    "Functions.f: binding 'b' (type 'blob', direction 'in'): the local host cannot read this input binding.",
    "Functions.f: binding 'e' (type 'eventHub', direction 'out'): the local host cannot write this output binding.",
    "Functions.f: binding 'r' (type 'table', direction 'in'): tableName is missing.",
  ]);
});

test('retry options: honoured on timers, a warning on queue triggers, an error when malformed', () => {
  const retry = { strategy: 'fixedDelay', maxRetryCount: 2, delayInterval: { seconds: 1 } };
  expect(checkBindings(fn({ t: { type: 'timerTrigger', direction: 'in' } }, retry))).toEqual({
    errors: [],
    warnings: [],
  });
  const queue = checkBindings(fn({ t: { type: 'queueTrigger', direction: 'in' } }, retry));
  expect(queue.errors).toEqual([]);
  expect(queue.warnings[0]).toMatch(/Functions\.f: retry options are ignored for 'queueTrigger'/);
  expect(checkBindings(fn({ t: { type: 'timerTrigger', direction: 'in' } }, { strategy: 'x' })).errors[0]).toMatch(
    /Functions\.f: retry options/,
  );
});
