/**
 * Multi-select choices: a cell holds labels or values separated by `;` (configurable). A separator or backslash
 * inside a label is written escaped with a backslash (`Green\; Blue`); `joinMultiSelect` writes what
 * `splitMultiSelect` reads. Each item must be an option (value, or label in any case) of the column; the Web API
 * value is the option values comma-separated (`"1,9"`, as Microsoft's "Choices columns" article sends it).
 */
import { done, failed, kindFault, quote, type KindAttribute, type KindOption, type KindResult } from './types';

export const DEFAULT_MULTI_SELECT_SEPARATOR = ';';

export function checkSeparator(separator: string): string | undefined {
  if (separator.length !== 1) return `the multi-select separator must be one character, not ${quote(separator)}`;
  if (separator === '\\') return 'the multi-select separator cannot be a backslash (it escapes the separator)';
  return undefined;
}

/** `a;b\;c` → `['a', 'b;c']`; empty items dropped. A dangling backslash is an error message (string). */
export function splitMultiSelect(text: string, separator = DEFAULT_MULTI_SELECT_SEPARATOR): string[] | string {
  const items: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      const next = text[i + 1];
      if (next !== separator && next !== '\\')
        return `a backslash must escape the separator '${separator}' or another backslash (at character ${i + 1})`;
      current += next;
      i++;
    } else if (c === separator) {
      items.push(current);
      current = '';
    } else current += c;
  }
  items.push(current);
  return items.map((s) => s.trim()).filter((s) => s !== '');
}

export function joinMultiSelect(items: string[], separator = DEFAULT_MULTI_SELECT_SEPARATOR): string {
  return items.map((item) => item.replace(/\\/g, '\\\\').split(separator).join(`\\${separator}`)).join(separator);
}

/** Labels that need escaping in a file with this separator (listed in the load plan's notes). */
export function labelsWithSeparator(options: KindOption[], separator = DEFAULT_MULTI_SELECT_SEPARATOR): string[] {
  return options.flatMap((o) => o.labels).filter((l) => l.includes(separator));
}

function describeOptions(options: KindOption[]): string {
  const list = options.map((o) => `${o.value} ${o.labels[0] ?? ''}`.trim());
  return list.length > 10 ? `${list.slice(0, 10).join(', ')}, … (${list.length} options)` : list.join(', ');
}

/** One cell → `"1,9"` (empty cell → null), or the row's fault naming the first item that is no option. */
export function convertMultiSelect(
  attribute: KindAttribute,
  text: string,
  rowNumber: number,
  column: string,
  separator = DEFAULT_MULTI_SELECT_SEPARATOR,
): KindResult<string | null> {
  const items = splitMultiSelect(text, separator);
  if (typeof items === 'string') return failed(kindFault(rowNumber, column, text, items));
  if (items.length === 0) return done(null);
  const options = attribute.options ?? [];
  const values: number[] = [];
  for (const item of items) {
    const t = item.toLowerCase();
    const option =
      options.find((o) => /^[+-]?\d+$/.test(item) && o.value === Number(item)) ??
      options.find((o) => o.labels.some((l) => l.toLowerCase() === t));
    if (!option)
      return failed(
        kindFault(
          rowNumber,
          column,
          text,
          `${quote(item)} is not an option of ${attribute.logicalName} (${describeOptions(options)})`,
        ),
      );
    if (!values.includes(option.value)) values.push(option.value);
  }
  // "only 150 options can be selected for a single column" (Choices columns).
  if (values.length > 150)
    return failed(kindFault(rowNumber, column, text, `${values.length} options selected; a column takes at most 150`));
  return done(values.join(','));
}
