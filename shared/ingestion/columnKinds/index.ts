/**
 * Conversion rules for the column kinds a migration loads (issue 16), pure and applied by the load path (see
 * shared/ingestion/README.md "Column kinds"): polymorphic lookup and owner references, multi-select choices,
 * state/status, `createdon` → `overriddencreatedon`, file and image cells.
 */
export * from './types';
export {
  parseHeader,
  formatHeader,
  planHeaders,
  type HeaderRole,
  type HeaderPlan,
  type PolymorphicColumns,
} from './headers';
export {
  resolvePolymorphic,
  findTarget,
  type LookupBinding,
  type PolymorphicOptions,
  type RecordReference,
} from './polymorphic';
export { ownerQuery, ownerFilter, bindOwner, type OwnerBy, type OwnerQuery } from './owner';
export {
  splitMultiSelect,
  joinMultiSelect,
  convertMultiSelect,
  labelsWithSeparator,
  checkSeparator,
  DEFAULT_MULTI_SELECT_SEPARATOR,
} from './multiSelect';
export { convertStateStatus, type StateStatusCells, type StateStatusValues } from './stateStatus';
export {
  parseBlobPath,
  convertFileCell,
  checkSize,
  missingBlob,
  type BlobPath,
  type FileValue,
  type FileCellOptions,
} from './fileColumns';
export {
  planPairFile,
  readPair,
  associateRequest,
  disassociateRequest,
  associationOutcome,
  type KindRelationship,
  type RelationshipSide,
  type PairFilePlan,
  type Pair,
} from './manyToMany';
