import type { CellValue } from './readers/readerTypes';
import type { LoadProfile } from './loadProfile';
import type { AttributeMetadata, ChoiceOption } from './tableMetadata';

/**
 * Converts one cell to the Web API JSON value of an attribute, using the table's metadata. Pure: returns the
 * value or a message a user can act on (the caller adds row and column). Numbers that JSON can't carry exactly
 * as a double (big BigInt, long decimals) are returned as JSON.rawJSON so their digits go out unchanged.
 */

export type Conversion = { ok: true; value: unknown } | { ok: false; message: string };

export interface ConversionContext {
  dateFormat: LoadProfile['dateFormat'];
  timeZone: LoadProfile['timeZone'];
  choiceLabelLanguage?: number;
}

const fail = (message: string): Conversion => ({ ok: false, message });
const done = (value: unknown): Conversion => ({ ok: true, value });

const rawJson = (text: string): unknown => (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(text);

const integerPattern = /^[+-]?\d+$/;
const decimalPattern = /^[+-]?(\d+\.?\d*|\.\d+)$/;
const doublePattern = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** Canonical decimals of at most 15 significant digits: Number() and back gives the same text. */
const plainShortDecimal = /^-?(0|[1-9]\d*)(\.\d*[1-9])?$/;
const guidPattern = /^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$/;

/** Defaults Dataverse applies when the metadata has no range (documented column limits). */
const defaultRanges: Record<string, [number, number]> = {
  Integer: [-2147483648, 2147483647],
  Decimal: [-100000000000, 100000000000],
  Double: [-100000000000, 100000000000],
  Money: [-922337203685477, 922337203685477],
};

function numberHint(text: string): string {
  if (/^[+-]?\d{1,3}([,.' ]\d{3})+([.,]\d+)?$/.test(text) || /^[+-]?\d+,\d+$/.test(text)) {
    return ": use '.' as the decimal separator and no thousands separators";
  }
  return '';
}

export function normalizeGuid(text: string): string | undefined {
  const match = guidPattern.exec(text.trim());
  return match ? match[1]!.toLowerCase() : undefined;
}

function cellText(value: CellValue): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function describe(value: CellValue): string {
  return Array.isArray(value)
    ? 'an array'
    : value === null
      ? 'null'
      : typeof value === 'object'
        ? 'an object'
        : `'${String(value)}'`;
}

/** '1.50' → '1.5', '+007' → '7', '-0.0' → '0'. */
function canonicalDecimal(text: string): string {
  let t = text.replace(/^\+/, '');
  const negative = t.startsWith('-');
  if (negative) t = t.slice(1);
  let [whole = '', fraction = ''] = t.split('.');
  whole = whole.replace(/^0+(?=\d)/, '') || '0';
  fraction = fraction.replace(/0+$/, '');
  const body = fraction ? `${whole}.${fraction}` : whole;
  return negative && body !== '0' ? `-${body}` : body;
}

function exactNumber(canonical: string): unknown {
  const n = Number(canonical);
  return String(n) === canonical ? n : rawJson(canonical);
}

function convertWholeNumber(attribute: AttributeMetadata, value: CellValue): Conversion {
  const text =
    typeof value === 'number' ? (Number.isInteger(value) ? String(value) : undefined) : cellText(value)?.trim();
  if (text === undefined || !integerPattern.test(text)) {
    return fail(`${describe(value)} is not a whole number${typeof value === 'string' ? numberHint(value.trim()) : ''}`);
  }
  if (attribute.type === 'BigInt') {
    const big = BigInt(text);
    const min = attribute.minValue !== undefined ? BigInt(Math.trunc(attribute.minValue)) : -(2n ** 63n);
    const max = attribute.maxValue !== undefined ? BigInt(Math.trunc(attribute.maxValue)) : 2n ** 63n - 1n;
    if (big < min || big > max) return fail(`${text} is out of range for ${attribute.logicalName} (${min} to ${max})`);
    return done(exactNumber(big.toString()));
  }
  const n = Number(text);
  const [min, max] = [attribute.minValue ?? defaultRanges.Integer![0], attribute.maxValue ?? defaultRanges.Integer![1]];
  if (n < min || n > max) return fail(`${text} is out of range for ${attribute.logicalName} (${min} to ${max})`);
  return done(n);
}

/**
 * The decimal places of `text` when it matches plainShortDecimal and has at most 15 significant digits (a double
 * then carries it exactly), else undefined. One pass, no regex and no allocation: most money and decimal cells
 * take this path.
 */
export function plainShortDecimalPlaces(text: string): number | undefined {
  const length = text.length;
  let i = text.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  const first = text.charCodeAt(i);
  if (first === 48 /* 0 */) i++;
  else if (first >= 49 && first <= 57) {
    i++;
    while (i < length && isDigit(text.charCodeAt(i))) i++;
  } else return undefined;
  let dot = -1;
  if (i < length) {
    if (text.charCodeAt(i) !== 46 /* . */ || i + 1 === length) return undefined;
    dot = i;
    for (i++; i < length; i++) if (!isDigit(text.charCodeAt(i))) return undefined;
    if (text.charCodeAt(length - 1) === 48) return undefined; // a trailing zero is not canonical
  }
  // Significant digits: what is left after the sign, leading zeros, a dot and the zeros after it, minus a dot.
  let p = text.charCodeAt(0) === 45 ? 1 : 0;
  while (p < length && text.charCodeAt(p) === 48) p++;
  if (p === dot) {
    p++;
    while (p < length && text.charCodeAt(p) === 48) p++;
  }
  const significant = length - p - (dot >= p ? 1 : 0);
  if (significant > 15) return undefined;
  return dot < 0 ? 0 : length - dot - 1;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function convertFractional(attribute: AttributeMetadata, value: CellValue): Conversion {
  if (typeof value === 'string') {
    const places = plainShortDecimalPlaces(value);
    // Doubles take any number of places (as below); decimals and money at most their precision.
    if (
      places !== undefined &&
      (attribute.type === 'Double' || attribute.precision === undefined || places <= attribute.precision)
    ) {
      const n = Number(value);
      const [defaultMin, defaultMax] = defaultRanges[attribute.type] ?? defaultRanges.Decimal!;
      if (n >= (attribute.minValue ?? defaultMin) && n <= (attribute.maxValue ?? defaultMax)) return done(n);
    }
  }
  const text = typeof value === 'number' ? String(value) : cellText(value)?.trim();
  const pattern = attribute.type === 'Double' || typeof value === 'number' ? doublePattern : decimalPattern;
  if (text === undefined || !pattern.test(text)) {
    return fail(`${describe(value)} is not a number${typeof value === 'string' ? numberHint(value.trim()) : ''}`);
  }
  const n = Number(text);
  const [defaultMin, defaultMax] = defaultRanges[attribute.type] ?? defaultRanges.Decimal!;
  const [min, max] = [attribute.minValue ?? defaultMin, attribute.maxValue ?? defaultMax];
  if (n < min || n > max) return fail(`${text} is out of range for ${attribute.logicalName} (${min} to ${max})`);
  if (attribute.type === 'Double') return done(n);
  // Fast path: already canonical and short enough that a double carries it exactly.
  if (plainShortDecimal.test(text) && text.replace(/^-?0*\.?0*/, '').replace('.', '').length <= 15) {
    const decimals = text.includes('.') ? text.length - text.indexOf('.') - 1 : 0;
    if (attribute.precision === undefined || decimals <= attribute.precision) return done(n);
  }
  const canonical = /[eE]/.test(text) ? String(n) : canonicalDecimal(text);
  const decimals = canonical.includes('.') ? canonical.split('.')[1]!.length : 0;
  if (attribute.precision !== undefined && decimals > attribute.precision) {
    return fail(
      `${text} has ${decimals} decimal places; ${attribute.logicalName} allows at most ${attribute.precision}`,
    );
  }
  return done(exactNumber(canonical));
}

const trueWords = new Set(['true', '1', 'yes', 'y']);
const falseWords = new Set(['false', '0', 'no', 'n']);

function labelsOf(option: ChoiceOption | undefined): string[] {
  return option ? option.labels.map((l) => l.label.trim().toLowerCase()) : [];
}

function convertBoolean(attribute: AttributeMetadata, value: CellValue): Conversion {
  if (typeof value === 'boolean') return done(value);
  if (value === 1 || value === 0) return done(value === 1);
  const text = cellText(value)?.trim().toLowerCase();
  if (text !== undefined) {
    if (trueWords.has(text) || labelsOf(attribute.trueOption).includes(text)) return done(true);
    if (falseWords.has(text) || labelsOf(attribute.falseOption).includes(text)) return done(false);
  }
  const labels = [attribute.trueOption?.labels[0]?.label, attribute.falseOption?.labels[0]?.label]
    .filter(Boolean)
    .map((l) => `'${l}'`);
  return fail(
    `${describe(value)} is not a yes/no value: use true/false, 1/0, yes/no${labels.length ? ` or ${labels.join('/')}` : ''}`,
  );
}

function convertChoice(attribute: AttributeMetadata, value: CellValue, context: ConversionContext): Conversion {
  const options = attribute.options;
  const text = cellText(value)?.trim();
  if (text === undefined) return fail(`${describe(value)} is not a choice value or label`);
  const allowed = () => {
    const list = (options ?? []).slice(0, 12).map((o) => `${o.value} '${o.labels[0]?.label ?? ''}'`);
    return `${list.join(', ')}${(options?.length ?? 0) > 12 ? ', …' : ''}`;
  };
  if (/^[+-]?\d+$/.test(text)) {
    const n = Number(text);
    if (options && !options.some((o) => o.value === n))
      return fail(`${n} is not a value of choice ${attribute.logicalName} (allowed: ${allowed()})`);
    return done(n);
  }
  if (!options)
    return fail(
      `'${text}' is not a number and the labels of choice ${attribute.logicalName} are unknown: use the numeric value`,
    );
  const wanted = text.toLowerCase();
  const matches = (preferred: boolean) =>
    options.filter((o) =>
      o.labels.some(
        (l) =>
          l.label.trim().toLowerCase() === wanted && (!preferred || l.languageCode === context.choiceLabelLanguage),
      ),
    );
  let found = context.choiceLabelLanguage !== undefined ? matches(true) : [];
  if (found.length === 0) found = matches(false);
  if (found.length === 1) return done(found[0]!.value);
  if (found.length > 1)
    return fail(
      `label '${text}' matches several values of choice ${attribute.logicalName} (${found.map((o) => o.value).join(', ')}): use the numeric value`,
    );
  return fail(`'${text}' is not a label of choice ${attribute.logicalName} (allowed: ${allowed()})`);
}

const isoDate = /^(\d{4})-(\d{2})-(\d{2})$/;
const isoDateTime = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,7})?)?(Z|[+-]\d{2}:?\d{2})?$/;
const customDate: Record<string, RegExp> = {
  'DD/MM/YYYY': /^(?<d>\d{1,2})\/(?<m>\d{1,2})\/(?<y>\d{4})(?:[ T](?<h>\d{1,2}):(?<i>\d{2})(?::(?<s>\d{2}))?)?$/,
  'MM/DD/YYYY': /^(?<m>\d{1,2})\/(?<d>\d{1,2})\/(?<y>\d{4})(?:[ T](?<h>\d{1,2}):(?<i>\d{2})(?::(?<s>\d{2}))?)?$/,
  'DD.MM.YYYY': /^(?<d>\d{1,2})\.(?<m>\d{1,2})\.(?<y>\d{4})(?:[ T](?<h>\d{1,2}):(?<i>\d{2})(?::(?<s>\d{2}))?)?$/,
  'YYYY/MM/DD': /^(?<y>\d{4})\/(?<m>\d{1,2})\/(?<d>\d{1,2})(?:[ T](?<h>\d{1,2}):(?<i>\d{2})(?::(?<s>\d{2}))?)?$/,
};

interface DateParts {
  y: number;
  m: number;
  d: number;
  h: number;
  i: number;
  s: number;
  ms: number;
  offsetMinutes?: number;
  hasTime: boolean;
}

function offsetMinutes(zone: string): number {
  if (zone === 'Z' || zone === 'UTC') return 0;
  const match = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
}

function parseDate(text: string, context: ConversionContext): DateParts | undefined {
  let m = isoDate.exec(text);
  if (m) return { y: +m[1]!, m: +m[2]!, d: +m[3]!, h: 0, i: 0, s: 0, ms: 0, hasTime: false };
  m = isoDateTime.exec(text);
  if (m) {
    return {
      y: +m[1]!,
      m: +m[2]!,
      d: +m[3]!,
      h: +m[4]!,
      i: +m[5]!,
      s: m[6] ? +m[6] : 0,
      ms: m[7] ? Math.round(Number(m[7]) * 1000) : 0,
      offsetMinutes: m[8] ? offsetMinutes(m[8]) : undefined,
      hasTime: true,
    };
  }
  const pattern = context.dateFormat !== 'iso' ? customDate[context.dateFormat] : undefined;
  const g = pattern?.exec(text)?.groups;
  if (g)
    return {
      y: +g.y!,
      m: +g.m!,
      d: +g.d!,
      h: g.h ? +g.h : 0,
      i: g.i ? +g.i : 0,
      s: g.s ? +g.s : 0,
      ms: 0,
      hasTime: g.h !== undefined,
    };
  return undefined;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

const canonicalUtc = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

function daysInMonth(y: number, m: number): number {
  return m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31;
}

function convertDateTime(attribute: AttributeMetadata, value: CellValue, context: ConversionContext): Conversion {
  const text = cellText(value)?.trim();
  // Fast path: already the canonical UTC form Dataverse returns (the common case in machine-made files).
  const canonical = text !== undefined && attribute.format !== 'DateOnly' ? canonicalUtc.exec(text) : null;
  if (canonical) {
    const [y, m, d, h, i, s] = canonical.slice(1).map(Number) as [number, number, number, number, number, number];
    if (y >= 1753 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m) && h <= 23 && i <= 59 && s <= 59)
      return done(text);
  }
  const expected = `expected ISO 8601 (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)${context.dateFormat !== 'iso' ? ` or ${context.dateFormat}` : ', or set dateFormat in the load profile'}`;
  const parts = text !== undefined ? parseDate(text, context) : undefined;
  if (!parts) return fail(`${describe(value)} is not a date: ${expected}`);
  const { y, m, d, h, i, s } = parts;
  const calendar = new Date(Date.UTC(y, m - 1, d));
  if (
    m < 1 ||
    m > 12 ||
    calendar.getUTCMonth() !== m - 1 ||
    calendar.getUTCDate() !== d ||
    h > 23 ||
    i > 59 ||
    s > 59
  ) {
    return fail(`'${text}' is not a valid date or time`);
  }
  if (y < 1753 || y > 9999) return fail(`'${text}' is outside the range Dataverse stores (1753-01-01 to 9999-12-31)`);
  if (attribute.format === 'DateOnly') return done(`${pad(y, 4)}-${pad(m)}-${pad(d)}`);
  const offset = parts.offsetMinutes ?? offsetMinutes(context.timeZone);
  const utc = new Date(Date.UTC(y, m - 1, d, h, i, s, parts.ms) - offset * 60_000);
  return done(utc.toISOString().replace('.000Z', 'Z'));
}

function convertText(attribute: AttributeMetadata, value: CellValue): Conversion {
  const text = cellText(value);
  if (text === undefined) return fail(`${describe(value)} is not text`);
  if (attribute.maxLength !== undefined && text.length > attribute.maxLength) {
    return fail(
      `the value is ${text.length} characters long; ${attribute.logicalName} allows at most ${attribute.maxLength}`,
    );
  }
  return done(text);
}

/** A cell that counts as empty: '' (and whitespace only, except for text attributes). */
export function isEmptyCell(attribute: AttributeMetadata, value: CellValue): boolean {
  if (typeof value !== 'string') return false;
  return attribute.type === 'String' || attribute.type === 'Memo' ? value === '' : value.trim() === '';
}

/** Converts a non-empty cell of a non-lookup attribute. */
export function convertValue(attribute: AttributeMetadata, value: CellValue, context: ConversionContext): Conversion {
  if (value === null) return done(null);
  switch (attribute.type) {
    case 'String':
    case 'Memo':
      return convertText(attribute, value);
    case 'Integer':
    case 'BigInt':
      return convertWholeNumber(attribute, value);
    case 'Decimal':
    case 'Double':
    case 'Money':
      return convertFractional(attribute, value);
    case 'Boolean':
      return convertBoolean(attribute, value);
    case 'DateTime':
      return convertDateTime(attribute, value, context);
    case 'Picklist':
    case 'State':
    case 'Status':
      return convertChoice(attribute, value, context);
    case 'Uniqueidentifier': {
      const text = cellText(value);
      const guid = text !== undefined ? normalizeGuid(text) : undefined;
      return guid ? done(guid) : fail(`${describe(value)} is not a GUID (e.g. 00000000-0000-0000-0000-000000000000)`);
    }
    default:
      return fail(`attributes of type ${attribute.type} can't be loaded`);
  }
}
