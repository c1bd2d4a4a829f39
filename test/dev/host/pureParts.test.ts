/** Pure parts of the local host: route templates, blob path patterns, NCRONTAB rules, queue message encoding, host.json. */
import fc from 'fast-check';
import { compileBlobPath, matchBlobPath } from '../../../dev/host/blobPath';
import { parseTimeSpan, toHostConfig } from '../../../dev/host/hostJson';
import { parseSchedule, NcrontabError } from '../../../dev/host/ncrontab';
import {
  decodeQueueMessage,
  encodeQueueMessage,
  resolveBindingExpression,
  dotnetDate,
} from '../../../dev/host/rpcData';
import { compileRouteTemplate, matchRoute, compareRoutes, RouteTemplateError } from '../../../dev/host/routeTemplate';
import { poisonQueueName } from '../../../dev/host/queuePump';

describe('route templates', () => {
  test('parameters, constraints, optionals and catch-alls', () => {
    const item = compileRouteTemplate('items/{id:int}');
    expect(matchRoute(item, '/items/42')).toEqual({ id: '42' });
    expect(matchRoute(item, '/ITEMS/42')).toEqual({ id: '42' });
    expect(matchRoute(item, '/items/abc')).toBeUndefined();
    expect(matchRoute(item, '/items/42/more')).toBeUndefined();
    const g = compileRouteTemplate('loads/{loadId:guid}/rows/{row?}');
    expect(matchRoute(g, '/loads/3f2504e0-4f89-11d3-9a0c-0305e82c3301/rows')).toEqual({
      loadId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
    });
    expect(matchRoute(g, '/loads/not-a-guid/rows/1')).toBeUndefined();
    expect(matchRoute(compileRouteTemplate('files/{*path}'), '/files/a/b%20c')).toEqual({ path: 'a/b c' });
    expect(matchRoute(compileRouteTemplate('r/{n:range(1,5)}'), '/r/6')).toBeUndefined();
    expect(() => compileRouteTemplate('x/{id:nope}')).toThrow(RouteTemplateError);
    expect(() => compileRouteTemplate('{*a}/b')).toThrow(RouteTemplateError);
  });

  test('literals sort before parameters', () => {
    const routes = [compileRouteTemplate('items/{id}'), compileRouteTemplate('items/new')].sort(compareRoutes);
    expect(routes[0]!.template).toBe('items/new');
  });

  test('any single-segment value round-trips through a plain parameter', () => {
    const route = compileRouteTemplate('things/{name}');
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => !s.includes('/')),
        (name) => {
          expect(matchRoute(route, `/things/${encodeURIComponent(name)}`)).toEqual({ name });
        },
      ),
    );
  });
});

describe('blob path patterns', () => {
  test('placeholders bind, the container is literal, escapes work', () => {
    const p = compileBlobPath('incoming/{table}/{name}');
    expect(p.container).toBe('incoming');
    expect(matchBlobPath(p, 'account/2024/file.csv')).toEqual({ table: 'account', name: '2024/file.csv' });
    expect(matchBlobPath(p, 'file.csv')).toBeUndefined();
    expect(matchBlobPath(compileBlobPath('in/{name}.csv'), 'a.json')).toBeUndefined();
    expect(matchBlobPath(compileBlobPath('in/{{x}}-{name}'), '{x}-y')).toEqual({ name: 'y' });
    expect(() => compileBlobPath('{c}/{name}')).toThrow();
  });
});

describe('NCRONTAB', () => {
  const at = new Date('2025-01-01T00:00:00Z');
  test('six fields with seconds, UTC', () => {
    expect(parseSchedule('*/2 * * * * *').next(at).toISOString()).toBe('2025-01-01T00:00:02.000Z');
    expect(parseSchedule('0 */5 * * * *').next(at).toISOString()).toBe('2025-01-01T00:05:00.000Z');
  });
  test('day-of-month AND day-of-week (Friday the 13th), names by prefix, 5 fields and DOW 7 rejected', () => {
    expect(parseSchedule('0 0 0 13 * 5').next(at).toISOString()).toBe('2025-06-13T00:00:00.000Z');
    expect(parseSchedule('0 30 9 * January Monday').next(at).toISOString()).toBe('2025-01-06T09:30:00.000Z');
    expect(() => parseSchedule('*/15 * * * *')).toThrow(NcrontabError);
    expect(() => parseSchedule('0 0 0 * * 7')).toThrow(NcrontabError);
  });
  test('a TimeSpan schedule is an interval', () => {
    expect(parseSchedule('00:05:00').next(at).toISOString()).toBe('2025-01-01T00:05:00.000Z');
  });
});

describe('queue message encoding and host settings', () => {
  test('base64 and none round-trip any bytes / text', () => {
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) =>
        expect(decodeQueueMessage(encodeQueueMessage(bytes, 'base64'), 'base64')).toEqual(Buffer.from(bytes)),
      ),
    );
    fc.assert(
      fc.property(fc.string(), (text) =>
        expect(decodeQueueMessage(encodeQueueMessage(text, 'none'), 'none').toString('utf8')).toBe(text),
      ),
    );
    expect(() => decodeQueueMessage('{"not":"base64"}', 'base64')).toThrow(/base64/);
  });
  test('poison queue names follow the host rules', () => {
    expect(poisonQueueName('jobs')).toBe('jobs-poison');
    expect(poisonQueueName('jobs-poison')).toBeUndefined();
    expect(poisonQueueName('a'.repeat(60))).toBeUndefined();
  });
  test('host.json defaults and TimeSpans', () => {
    expect(parseTimeSpan('00:00:30')).toBe(30_000);
    expect(parseTimeSpan('1.00:00:00')).toBe(86_400_000);
    expect(parseTimeSpan('00:00:00.500')).toBe(500);
    const config = toHostConfig({ extensions: { queues: { batchSize: 8 } } });
    expect(config).toMatchObject({
      routePrefix: 'api',
      queues: {
        batchSize: 8,
        newBatchThreshold: 4,
        maxDequeueCount: 5,
        visibilityTimeoutMs: 0,
        maxPollingIntervalMs: 2000,
        messageEncoding: 'base64',
      },
    });
    expect(() => toHostConfig({ extensions: { queues: { visibilityTimeout: '30s' } } })).toThrow();
  });
  test('host.json singleton: the SDK defaults, and lease periods within what Azure Storage allows', () => {
    expect(toHostConfig({}).singleton).toEqual({
      listenerLockPeriodMs: 60_000,
      listenerLockRecoveryPollingIntervalMs: 60_000,
    });
    expect(
      toHostConfig({
        singleton: { listenerLockPeriod: '00:00:15', listenerLockRecoveryPollingInterval: '00:00:20' },
      }).singleton,
    ).toEqual({ listenerLockPeriodMs: 15_000, listenerLockRecoveryPollingIntervalMs: 20_000 });
    expect(() => toHostConfig({ singleton: { listenerLockPeriod: '00:00:10' } })).toThrow(/00:00:15 and 00:01:00/);
    expect(() => toHostConfig({ singleton: { listenerLockPeriod: '00:02:00' } })).toThrow(/00:00:15 and 00:01:00/);
    expect(() => toHostConfig({ singleton: { listenerLockRecoveryPollingInterval: '00:00:01' } })).toThrow(
      /at least 00:00:15/,
    );
  });
  test('binding expressions resolve settings and trigger data', () => {
    expect(resolveBindingExpression('out/%PREFIX%-{name}', { Name: 'a.csv' }, { PREFIX: 'p' })).toBe('out/p-a.csv');
    expect(() => resolveBindingExpression('{missing}', {})).toThrow();
    expect(dotnetDate(new Date('2019-10-16T17:58:31Z'))).toBe('2019-10-16T17:58:31+00:00');
  });
});
