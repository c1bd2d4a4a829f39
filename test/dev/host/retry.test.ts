/** Retry policies from function metadata: parsing, delays, and the retry loop's context. */
import fc from 'fast-check';
import { parseRetryOptions, RetryOptionsError, runWithRetries, type RetryPolicy } from '../../../dev/host/retry';

describe('parseRetryOptions', () => {
  test('fixedDelay waits delayInterval; exponentialBackoff stays within [minimum, maximum]', () => {
    const fixed = parseRetryOptions('f', { strategy: 'fixedDelay', maxRetryCount: 4, delayInterval: { seconds: 10 } });
    expect(fixed!.delayMs(1)).toBe(10_000);
    const exp = parseRetryOptions('f', {
      strategy: 'exponentialBackoff',
      maxRetryCount: -1,
      minimumInterval: { seconds: 2 },
      maximumInterval: { seconds: 60 },
    })!;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (retry, r) => {
        const delay = exp.delayMs(retry, () => r);
        expect(delay).toBeGreaterThanOrEqual(2000);
        expect(delay).toBeLessThanOrEqual(60_000);
      }),
    );
    expect(exp.delayMs(1, () => 0.5)).toBe(4000); // 2 s + 1.0 × 2^0 × 2 s
  });

  test('absent → no policy; malformed or inverted → an error naming the function', () => {
    expect(parseRetryOptions('f', undefined)).toBeUndefined();
    expect(() => parseRetryOptions('f', { strategy: 'sometimes' })).toThrow(RetryOptionsError);
    expect(() =>
      parseRetryOptions('g', {
        strategy: 'exponentialBackoff',
        maxRetryCount: 1,
        minimumInterval: { seconds: 5 },
        maximumInterval: { seconds: 1 },
      }),
    ).toThrow(/Functions\.g/);
  });
});

test('runWithRetries passes the retry count and the previous failure, and gives up after maxRetryCount retries', async () => {
  const policy: RetryPolicy = { strategy: 'fixedDelay', maxRetryCount: 2, delayMs: () => 1 };
  const seen: unknown[] = [];
  await expect(
    runWithRetries(
      policy,
      (context) => {
        seen.push(context);
        return Promise.reject(new Error(`fail ${context.retryCount}`));
      },
      () => undefined,
    ),
  ).rejects.toThrow('fail 2');
  expect(seen).toEqual([
    { retryCount: 0, maxRetryCount: 2, exception: undefined },
    expect.objectContaining({ retryCount: 1, exception: expect.objectContaining({ message: 'fail 0' }) as unknown }),
    expect.objectContaining({ retryCount: 2, exception: expect.objectContaining({ message: 'fail 1' }) as unknown }),
  ]);
});
