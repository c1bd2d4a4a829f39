/** Public surface of the Dataverse Web API client (docs/design.md §"Dataverse client"). */
export { createDataverseClient } from './client';
export type { DataverseClient, DataverseClientOptions, DataverseMetrics } from './client';
export type { CallOptions } from './callOptions';
export { DataverseError, DataverseErrorCodes, faultFromResponse, isDuplicateKeyFault } from './dataverseError';
export type { OrganizationServiceFault } from './dataverseError';
export type { ExecuteMultipleResponse, ExecuteMultipleResponseItem, OrganizationResponse } from './executeMultiple';
export type { BulkOptions, BulkResult, BulkRowResult, UpdateTarget, UpsertTarget } from './bulkMessages';
export {
  entityPath,
  entityReference,
  formatKey,
  formatODataLiteral,
  idFromEntityUri,
  odataLiteral,
  unaddressableKeyCharacters,
  unaddressableKeyPart,
} from './organizationRequest';
export type { KeyForm } from './organizationRequest';
export type {
  ActionRequest,
  Attributes,
  CreateRequest,
  DeleteRequest,
  ExecuteMultipleRequest,
  ExecuteMultipleSettings,
  FunctionRequest,
  HttpMethod,
  OrganizationRequest,
  RawWebApiRequest,
  RecordKey,
  UpdateRequest,
  UpsertRequest,
  WebApiRequest,
} from './organizationRequest';
export type { WebApiResponse } from './webApi';
export type { DataverseLogger, TransportMetrics } from './transport';
export { spacingNeeded } from './throttle';
export type { Clock } from './throttle';
export type { AccessTokenSource } from './auth/accessTokenSource';
export type { DataverseIdentity, IdentityMetrics } from './identityPool';
export * as batchCodec from './batchCodec';
