import fc from 'fast-check';
import {
  checkSeparator,
  convertMultiSelect,
  joinMultiSelect,
  labelsWithSeparator,
  splitMultiSelect,
} from '../../../../shared/ingestion/columnKinds';
import { tags } from './fixture';

const separator = fc.constantFrom(';', ',', '|', '\t', '#');
const item = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim() === s && s !== '');

test('split(join(items)) gives the items back, separators and backslashes inside labels included', () => {
  fc.assert(
    fc.property(fc.array(item, { maxLength: 8 }), separator, (items, sep) => {
      expect(splitMultiSelect(joinMultiSelect(items, sep), sep)).toEqual(items);
    }),
  );
});

test('join(split(text)) is stable: a second round changes nothing', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 30 }), separator, (text, sep) => {
      const items = splitMultiSelect(text, sep);
      fc.pre(typeof items !== 'string');
      const again = joinMultiSelect(items, sep);
      expect(splitMultiSelect(again, sep)).toEqual(items);
    }),
  );
});

test('splits on the separator, trims, drops empty items; a stray backslash is refused', () => {
  expect(splitMultiSelect(' Red ;; Yellow;')).toEqual(['Red', 'Yellow']);
  expect(splitMultiSelect('Green\\; Blue;Red')).toEqual(['Green; Blue', 'Red']);
  expect(splitMultiSelect('a\\b')).toBe(
    "a backslash must escape the separator ';' or another backslash (at character 2)",
  );
  expect(labelsWithSeparator(tags.options!)).toEqual(['Green; Blue']);
  expect(checkSeparator('\\')).toContain('backslash');
  expect(checkSeparator(';;')).toContain('one character');
  expect(checkSeparator('|')).toBeUndefined();
});

test('converts labels (any case, any language) and values to the comma-separated option values', () => {
  expect(convertMultiSelect(tags, 'red; jaune; 100000000', 1, 'Tags')).toEqual({
    ok: true,
    value: '100000000,100000002',
  });
  expect(convertMultiSelect(tags, 'Green\\; Blue', 1, 'Tags')).toEqual({ ok: true, value: '100000001' });
  expect(convertMultiSelect(tags, 'Red|Yellow', 1, 'Tags', '|')).toEqual({ ok: true, value: '100000000,100000002' });
  expect(convertMultiSelect(tags, '  ', 1, 'Tags')).toEqual({ ok: true, value: null });
});

test('an unknown label fails the row naming row, column, value and the options', () => {
  const r = convertMultiSelect(tags, 'Red;Purple', 12, 'Tags');
  expect(r).toEqual({
    ok: false,
    fault: {
      rowNumber: 12,
      column: 'Tags',
      value: 'Red;Purple',
      message:
        "row 12, column 'Tags': 'Purple' is not an option of new_tags (100000000 Red, 100000001 Green; Blue, 100000002 Yellow)",
    },
  });
  // An unescaped separator inside a label splits it: both halves are unknown.
  const unescaped = convertMultiSelect(tags, 'Green; Blue', 2, 'Tags');
  expect(!unescaped.ok && unescaped.fault.message).toContain("'Green' is not an option");
});
