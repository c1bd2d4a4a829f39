/**
 * Checks an NCRONTAB expression the way the Functions host parses timer schedules: exactly six fields
 * (second minute hour day month day-of-week), day-of-week 0-6, month/day names matched by prefix.
 * It validates only; computing occurrences is the timer's business.
 */
const fields = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: [
      'january',
      'february',
      'march',
      'april',
      'may',
      'june',
      'july',
      'august',
      'september',
      'october',
      'november',
      'december',
    ],
  },
  {
    name: 'day-of-week',
    min: 0,
    max: 6,
    names: ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'],
  },
] as const;

type Field = (typeof fields)[number];

function value(token: string, field: Field): number | undefined {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    return n >= field.min && n <= field.max ? n : undefined;
  }
  if ('names' in field && /^[a-z]{3,}$/i.test(token)) {
    const index = field.names.findIndex((name) => name.startsWith(token.toLowerCase()));
    return index < 0 ? undefined : index + field.min;
  }
  return undefined;
}

function validItem(item: string, field: Field): boolean {
  const [range, step, ...rest] = item.split('/');
  if (rest.length > 0 || range === undefined) return false;
  if (step !== undefined && !/^[1-9]\d*$/.test(step)) return false;
  if (range === '*') return true;
  const bounds = range.split('-');
  if (bounds.length > 2) return false;
  const numbers = bounds.map((b) => value(b, field));
  if (numbers.some((n) => n === undefined)) return false;
  return numbers.length === 1 || (numbers[0] as number) <= (numbers[1] as number);
}

export function isNcrontab(expression: string): boolean {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== fields.length) return false;
  return parts.every((part, i) => part.split(',').every((item) => validItem(item, fields[i] as Field)));
}
