/** The Edm type a column's value has in the Web API (OData CSDL), shared by the query checks and the body reader. */
import type { AttributeType } from './schema';

/** Column types with one Edm type; the rest (choices, images, files) are read or queried their own way. */
export const edmTypes: Readonly<Partial<Record<AttributeType, string>>> = {
  String: 'Edm.String',
  Memo: 'Edm.String',
  Integer: 'Edm.Int32',
  BigInt: 'Edm.Int64',
  Decimal: 'Edm.Decimal',
  Money: 'Edm.Decimal',
  Double: 'Edm.Double',
  Boolean: 'Edm.Boolean',
  DateTime: 'Edm.DateTimeOffset',
  Picklist: 'Edm.Int32',
  State: 'Edm.Int32',
  Status: 'Edm.Int32',
  Uniqueidentifier: 'Edm.Guid',
  Lookup: 'Edm.Guid',
  Customer: 'Edm.Guid',
  Owner: 'Edm.Guid',
};
