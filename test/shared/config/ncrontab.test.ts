import fc from 'fast-check';
import { isNcrontab } from '../../../shared/config/ncrontab';

const ranges = [
  [0, 59],
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 6],
] as const;

function fieldArbitrary([min, max]: readonly [number, number]) {
  const n = fc.integer({ min, max });
  const item = fc.oneof(
    fc.constant('*'),
    n.map(String),
    fc.tuple(n, n).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    fc.tuple(fc.constant('*'), fc.integer({ min: 1, max: 30 })).map(([s, k]) => `${s}/${k}`),
    fc.tuple(n, fc.integer({ min: 1, max: 30 })).map(([a, k]) => `${a}/${k}`),
  );
  return fc.array(item, { minLength: 1, maxLength: 3 }).map((items) => items.join(','));
}

const expression = fc.tuple(...ranges.map(fieldArbitrary)).map((fields) => fields.join(' '));

describe('isNcrontab', () => {
  test('property: any well-formed six-field expression is accepted', () => {
    fc.assert(fc.property(expression, (e) => isNcrontab(e)));
  });

  test('property: dropping or adding a field is rejected (the host needs exactly six)', () => {
    fc.assert(
      fc.property(expression, fc.boolean(), (e, drop) => {
        const fields = e.split(' ');
        const changed = drop ? fields.slice(1) : [...fields, '*'];
        return !isNcrontab(changed.join(' '));
      }),
    );
  });

  test('property: a value past the end of its field is rejected', () => {
    fc.assert(
      fc.property(expression, fc.integer({ min: 0, max: 5 }), (e, i) => {
        const fields = e.split(' ');
        fields[i] = String(ranges[i]![1] + 1);
        return !isNcrontab(fields.join(' '));
      }),
    );
  });

  test.each([
    '*/10 * * * * *',
    '0 */5 * * * *',
    '0 0 0 13 * 5',
    '5/10 * * * * *',
    '0 30 9 * January Monday',
    '0 0 12 * * mon-fri',
  ])('accepts %s', (e) => expect(isNcrontab(e)).toBe(true));
  test.each([
    '*/15 * * * *',
    '0 0 0 * * 7',
    '0 0 24 * * *',
    '0 0 0 0 * *',
    '* * * * * * *',
    '0 0 0 * * Xyz',
    '0 5-1 * * * *',
    '*/0 * * * * *',
    '',
  ])('rejects %s', (e) => expect(isNcrontab(e)).toBe(false));
});
