import { CronExpressionParser } from 'cron-parser';
import { parseTimeSpan } from './hostJson';

/**
 * NCRONTAB as the timer trigger reads it (NCrontab with seconds): exactly 6 fields, day-of-week 0–6, names matched
 * by prefix, and day-of-month AND day-of-week when both are restricted (Vixie cron uses OR). Always UTC.
 * cron-parser does the field arithmetic; this module supplies NCrontab's rules on top. A TimeSpan (`00:05:00`) is
 * an interval schedule. Pure.
 */
export interface TimerSchedule {
  expression: string;
  /** The first occurrence strictly after `after`. */
  next(after: Date): Date;
}

export class NcrontabError extends Error {
  readonly code = 'InvalidSchedule';
}

const months = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function normalizeNames(field: string, names: string[]): string {
  return field.replace(/[a-z]+/gi, (word) => {
    const index = names.findIndex((n) => word.toLowerCase().startsWith(n) || n.startsWith(word.toLowerCase()));
    if (index < 0 || word.length < 3) throw new NcrontabError(`Unknown name '${word}' in schedule.`);
    return names[index]!;
  });
}

export function parseSchedule(expression: string): TimerSchedule {
  const trimmed = expression.trim();
  if (/^\d+(\.\d+)?:\d{2}(:\d{2})?$/.test(trimmed) || /^\d{1,2}:\d{2}:\d{2}$/.test(trimmed)) {
    const ms = parseTimeSpan(trimmed.split(':').length === 2 ? `${trimmed}:00` : trimmed);
    if (ms <= 0) throw new NcrontabError(`Schedule interval must be positive: '${expression}'.`);
    return { expression, next: (after) => new Date(after.getTime() + ms) };
  }
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 6) {
    throw new NcrontabError(
      `'${expression}' is not a valid NCRONTAB expression: expected 6 fields ({second} {minute} {hour} {day} {month} {day-of-week}), got ${fields.length}.`,
    );
  }
  fields[4] = normalizeNames(fields[4]!, months);
  fields[5] = normalizeNames(fields[5]!, days);
  if (/(^|[,\-/])7($|[,\-/])/.test(fields[5]))
    throw new NcrontabError(`'${expression}': day-of-week must be 0–6 (Sunday = 0).`);
  const normalized = fields.join(' ');
  let probe;
  try {
    probe = CronExpressionParser.parse(normalized, { tz: 'UTC' });
  } catch (error) {
    throw new NcrontabError(`'${expression}' is not a valid NCRONTAB expression: ${(error as Error).message}`);
  }
  const dom = probe.fields.dayOfMonth;
  const dow = probe.fields.dayOfWeek;
  const both = !dom.isWildcard && !dow.isWildcard;
  const domValues = new Set<unknown>(dom.values);
  const dowValues = new Set<unknown>(dow.values.map((d) => (d === 7 ? 0 : d)));
  return {
    expression,
    next(after) {
      const iterator = CronExpressionParser.parse(normalized, { tz: 'UTC', currentDate: after });
      for (let i = 0; i < 100_000; i++) {
        const candidate = iterator.next().toDate();
        if (!both || (domValues.has(candidate.getUTCDate()) && dowValues.has(candidate.getUTCDay()))) return candidate;
      }
      throw new NcrontabError(`'${expression}' has no occurrence in a reasonable horizon.`);
    },
  };
}

/** The host turns the status monitor off for schedules that fire more than once a minute (TimerSchedule.cs). */
export function firesMoreThanOncePerMinute(schedule: TimerSchedule, from = new Date()): boolean {
  const first = schedule.next(from);
  const second = schedule.next(first);
  return second.getTime() - first.getTime() < 60_000;
}
