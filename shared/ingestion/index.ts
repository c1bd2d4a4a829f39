/** The ingestion engine's public surface (pure: no Azure SDKs, no network). See shared/ingestion/README.md. */
export { IngestionError, isIngestionError, type IngestionErrorCode } from './ingestionError.ts';
export { openFile, declaredFormat, resolveLimits, type OpenFileOptions, type OpenedFile, type FileShape, type ByteSource } from './readers/fileReader.ts';
export { detectDelimiter, type CsvDelimiter, type CsvHeader } from './readers/csvReader.ts';
export { defaultReaderLimits, type SourceRow, type SourceRowFault, type SourceRowResult, type CellValue, type FileFormat, type ReaderLimits } from './readers/readerTypes.ts';
export { buildTableMetadata, type TableMetadata, type AttributeMetadata, type TableMetadataResponses } from './tableMetadata.ts';
export {
  loadProfileSchema, parseProfileJson, parseLoadProfileInput, profileFromBlobMetadata, queryToBlobMetadata, resolveLoadProfile,
  type LoadProfile, type LoadProfileInput, type LoadOperation,
} from './loadProfile.ts';
export { planLoad, keyColumns, type LoadPlan, type ColumnBinding, type PlanKey } from './loadPlan.ts';
export { convertRow, type ConvertedRow, type FailedRow, type RowFault, type RecordKey } from './rowConversion.ts';
export { convertValue, type ConversionContext } from './valueConversion.ts';
export { recordIdFor, uuidV5 } from './recordId.ts';
export { recordPath, alternateKeySegment, odataLiteral, keyValueProblem, type KeyValue } from './odataKeys.ts';
export { ChunkPlanner, planChunks, readChunk, chunkDescriptorSchema, defaultChunkSize, type ChunkDescriptor, type RowPlacement } from './chunkPlanning.ts';
export { writeFailedRows, escapeCsvCell, csvLine, errorColumn, type FailedRowEntry } from './failedRowsWriter.ts';
