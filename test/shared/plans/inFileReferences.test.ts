import fc from 'fast-check';
import { inFileReferences, unboundMessage, type RowReferences } from '../../../shared/plans/inFileReferences';

const account = (rowNumber: number, key: string, parent?: string): RowReferences => ({
  rowNumber,
  key,
  references: parent === undefined ? [] : [{ column: 'parentaccountid', value: parent }],
});

test('a parent later in the file, or in another chunk, is deferred; earlier in the same chunk or outside the file is not', () => {
  const rows = [
    account(1, 'A-1', 'A-4'), // later: deferred
    account(2, 'A-2', 'A-1'), // earlier, same chunk: inline
    account(3, 'A-3', 'X-9'), // not in the file: inline (Dataverse resolves it)
    account(4, 'A-4', 'A-2'), // earlier but another chunk: deferred
    account(5, 'A-5', 'A-5'), // itself: deferred
  ];
  expect(inFileReferences(rows, { chunkSize: 3, inOrderWithinChunk: true })).toEqual([
    { rowNumber: 1, deferred: ['parentaccountid'] },
    { rowNumber: 4, deferred: ['parentaccountid'] },
    { rowNumber: 5, deferred: ['parentaccountid'] },
  ]);
  expect(inFileReferences(rows, { chunkSize: 3, inOrderWithinChunk: false }).map((d) => d.rowNumber)).toEqual([
    1, 2, 4, 5,
  ]);
});

test('the unbound message names row, column and value', () => {
  expect(unboundMessage(7, 'parentaccountid', 'A-99')).toBe(
    "row 7, column 'parentaccountid': 'A-99' matches no row of the plan or of Dataverse, so the lookup was not bound (the row was created without it)",
  );
});

test('property: every reference left inline is to a row earlier in its chunk or to no row of the file', () => {
  fc.assert(
    fc.property(
      fc.array(fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }), { minLength: 1, maxLength: 60 }),
      fc.integer({ min: 1, max: 10 }),
      fc.boolean(),
      (parents, chunkSize, inOrderWithinChunk) => {
        const rows = parents.map((p, i) => account(i + 1, `K${i + 1}`, p === undefined ? undefined : `K${p}`));
        const decisions = inFileReferences(rows, { chunkSize, inOrderWithinChunk });
        const deferred = new Set(decisions.map((d) => d.rowNumber));
        for (const row of rows) {
          const value = row.references[0]?.value;
          const target = rows.find((r) => r.key === value)?.rowNumber;
          if (target === undefined) expect(deferred.has(row.rowNumber)).toBe(false);
          else if (!deferred.has(row.rowNumber)) {
            expect(inOrderWithinChunk).toBe(true);
            expect(target).toBeLessThan(row.rowNumber);
            expect(Math.floor((target - 1) / chunkSize)).toBe(Math.floor((row.rowNumber - 1) / chunkSize));
          }
        }
      },
    ),
  );
});
