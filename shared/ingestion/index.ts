/** The ingestion engine's public surface (pure: no Azure SDKs, no network). See shared/ingestion/README.md. */
export { IngestionError, isIngestionError, type IngestionErrorCode } from './ingestionError';
export {
  openFile,
  declaredFormat,
  resolveLimits,
  type OpenFileOptions,
  type OpenedFile,
  type FileShape,
  type ByteSource,
} from './readers/fileReader';
export { detectDelimiter, type CsvDelimiter, type CsvHeader } from './readers/csvReader';
export {
  defaultReaderLimits,
  type SourceRow,
  type SourceRowFault,
  type SourceRowResult,
  type CellValue,
  type FileFormat,
  type ReaderLimits,
} from './readers/readerTypes';
export {
  buildTableMetadata,
  type TableMetadata,
  type AttributeMetadata,
  type TableMetadataResponses,
} from './tableMetadata';
export {
  loadProfileSchema,
  parseProfileJson,
  parseLoadProfileInput,
  profileFromBlobMetadata,
  queryToBlobMetadata,
  resolveLoadProfile,
  type LoadProfile,
  type LoadProfileInput,
  type LoadOperation,
} from './loadProfile';
export { planLoad, keyColumns, type LoadPlan, type ColumnBinding, type PlanKey } from './loadPlan';
export { convertRow, type ConvertedRow, type FailedRow, type RowFault } from './rowConversion';
export { convertValue, type ConversionContext } from './valueConversion';
export { recordIdFor, uuidV5 } from './recordId';
export { recordPath, odataLiteral, type KeyValue } from './odataKeys';
export {
  ChunkPlanner,
  planChunks,
  readChunk,
  chunkDescriptorSchema,
  defaultChunkSize,
  type ChunkDescriptor,
  type RowPlacement,
} from './chunkPlanning';
export { writeFailedRows, escapeCsvCell, csvLine, errorColumn, type FailedRowEntry } from './failedRowsWriter';
