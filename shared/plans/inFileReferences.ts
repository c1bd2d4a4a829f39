/**
 * Which rows of one file must leave a lookup to the same file's rows for the second pass. Chunks of a load run
 * at the same time, so a row can count on another row of the file existing only when that row is earlier in
 * the same chunk (a `$batch` ExecuteMultiple runs its requests in order). Every other reference to a row of the
 * file — later in the file, or in another chunk — is deferred; a reference to a key no row of the file has is
 * left inline and resolved against Dataverse as today.
 */
export interface RowReferences {
  rowNumber: number;
  /** The row's own key value (e.g. its accountnumber), when it has one. */
  key?: string;
  /** Key values the row's lookups to the same table hold (parentaccountid by accountnumber…), by column. */
  references: { column: string; value: string }[];
}

export interface InFileDecision {
  rowNumber: number;
  /** Columns whose binds wait for the second pass. */
  deferred: string[];
}

/**
 * Keys are compared exactly as written (like alternate keys). With `inOrderWithinChunk` false (CreateMultiple,
 * whose order Dataverse doesn't promise) every in-file reference is deferred.
 */
export function inFileReferences(
  rows: readonly RowReferences[],
  options: { chunkSize: number; firstRow?: number; inOrderWithinChunk: boolean },
): InFileDecision[] {
  const firstRow = options.firstRow ?? 1;
  const chunkOf = (rowNumber: number) => Math.floor((rowNumber - firstRow) / options.chunkSize);
  const rowOfKey = new Map<string, number>();
  for (const row of rows) if (row.key !== undefined && !rowOfKey.has(row.key)) rowOfKey.set(row.key, row.rowNumber);
  const decisions: InFileDecision[] = [];
  for (const row of rows) {
    const deferred = row.references
      .filter(({ value }) => {
        const target = rowOfKey.get(value);
        if (target === undefined) return false;
        const earlierInChunk =
          options.inOrderWithinChunk && target < row.rowNumber && chunkOf(target) === chunkOf(row.rowNumber);
        return !earlierInChunk;
      })
      .map((r) => r.column);
    if (deferred.length > 0) decisions.push({ rowNumber: row.rowNumber, deferred });
  }
  return decisions;
}

/** The failure of a deferred bind whose value matched no row, naming the column and the value. */
export function unboundMessage(rowNumber: number, column: string, value: string): string {
  return `row ${rowNumber}, column '${column}': '${value}' matches no row of the plan or of Dataverse, so the lookup was not bound (the row was created without it)`;
}
