/** Small builders for schema JSON columns. */
export const s = (logicalName: string, maxLength: number, extra: object = {}) => ({
  logicalName,
  type: 'String' as const,
  maxLength,
  ...extra,
});
export const memo = (logicalName: string, maxLength: number) => ({ logicalName, type: 'Memo' as const, maxLength });
export const money = (logicalName: string) => ({
  logicalName,
  type: 'Money' as const,
  minValue: -922337203685477,
  maxValue: 922337203685477,
  precision: 2,
});
export const lookup = (logicalName: string, table: string, navigationProperty: string, relationshipName?: string) => ({
  logicalName,
  type: 'Lookup' as const,
  targets: [{ table, navigationProperty, relationshipName }],
});
