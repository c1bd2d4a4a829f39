/** The file-column fixtures ("Use file column data"): published with placeholders, replayed by fileColumns.test.ts. */
export const FILE_FIXTURES = [
  'file-initialize-upload',
  'file-upload-block',
  'file-commit-upload',
  'file-initialize-download',
  'file-download-block',
  'file-value-download',
] as const;
