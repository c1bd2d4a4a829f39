import fc from 'fast-check';

/** Cells biased towards what breaks CSV: delimiters, quotes, CR/LF/CRLF, spaces, non-ASCII, formula starts. */
export const trickyCell = fc.string({
  unit: fc.constantFrom(
    'a',
    'b',
    'Z',
    '1',
    ',',
    ';',
    '\t',
    '"',
    '\n',
    '\r',
    '\r\n',
    ' ',
    'é',
    '日',
    '😀',
    '=',
    '+',
    '-',
    '@',
    "'",
    '[',
    '{',
  ),
  maxLength: 12,
});

export const columnName = fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/);

/** A header of unique names and rows of exactly that many cells. */
export const csvTable = fc.uniqueArray(columnName, { minLength: 1, maxLength: 5 }).chain((columns) =>
  fc.record({
    columns: fc.constant(columns),
    rows: fc.array(fc.array(trickyCell, { minLength: columns.length, maxLength: columns.length }), {
      minLength: 1,
      maxLength: 25,
    }),
    delimiter: fc.constantFrom(',', ';', '\t'),
  }),
);
