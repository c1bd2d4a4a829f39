/**
 * Dataverse's error answers, in one place so their wording is checked once.
 * Sources: dataverse-wire.md §1.5, §2.1, §4 and the fixtures; where no capture exists the wording is the
 * best public knowledge (marked "observed" or "assumed") and documented in the records README section.
 */
import { DataverseFault } from '../types';

export { DataverseFault };

const payloadPrefix = (entitySetName: string): string =>
  `Error identified in Payload provided by the user for Entity :'${entitySetName}', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ---->  InnerException : `;

export const faults = {
  /** Unknown entity set or path segment (OData routing). */
  resourceNotFound: (segment: string) =>
    new DataverseFault(404, '0x80060888', `Resource not found for the segment '${segment}'.`),
  /** EntityDefinitions(LogicalName='x') for an unknown table (assumed wording). */
  entityNotFound: (logicalName: string) =>
    new DataverseFault(404, '0x80040217', `Could not find entity with name '${logicalName}'`),
  recordNotFound: (table: string, id: string) =>
    new DataverseFault(404, '0x80040217', `${table} With Id = ${id} Does Not Exist`),
  /** Lookup by alternate key that matches no row (observed wording). */
  recordNotFoundByKey: (table: string) =>
    new DataverseFault(404, '0x80040217', `A record with the specified key values does not exist in ${table} entity`),
  /**
   * A key value holding one of `/ # < > * % & : \\ ? +`. Microsoft: "If the data within a column that is used in an
   * alternate key contains one of the following characters /, #, <, >, *, %, &, :, \\, ?, + then GET or PATCH actions
   * won't work" (Define alternate keys using Power Apps). The wording is ASP.NET's request-path check (its default
   * requestPathInvalidCharacters are < > * % & : \\ ?); Dataverse's exact answer is not published (assumed wording).
   */
  unaddressableKey: (character: string) =>
    new DataverseFault(
      400,
      '0x80060888',
      `A potentially dangerous Request.Path value was detected from the client (${character}).`,
    ),
  duplicateKey: () => new DataverseFault(412, '0x80040237', 'A record with matching key values already exists.'),
  versionMismatch: () =>
    new DataverseFault(
      412,
      '0x80060882',
      "The version of the existing record doesn't match the RowVersion property provided.",
    ),
  maxLength: (attribute: string, table: string, max: number) =>
    new DataverseFault(
      400,
      '0x80044331',
      `A validation error occurred.  The length of the '${attribute}' attribute of the '${table}' entity exceeded the maximum allowed length of '${max}'.`,
    ),
  outOfRange: (value: unknown, attribute: string, table: string) =>
    new DataverseFault(
      400,
      '0x8004431A',
      `A validation error occurred. The value ${String(value)} of '${attribute}' on record of type '${table}' is outside the valid range.`,
    ),
  /** Numbers outside MinValue/MaxValue (assumed wording, same family as the SDK's). */
  numberOutOfRange: (attribute: string, table: string, min: number, max: number) =>
    new DataverseFault(
      400,
      '0x80044330',
      `A validation error occurred. The value of '${attribute}' on record of type '${table}' is outside the valid range. Accepted Values: ${min} to ${max}`,
    ),
  /** Unknown property in a create/update body (observed wording, 2024+ environments). */
  invalidProperty: (entitySetName: string, property: string, table: string) =>
    new DataverseFault(
      400,
      '0x80048d19',
      `${payloadPrefix(entitySetName)}Microsoft.Crm.CrmException: Invalid property '${property}' was found in entity 'Microsoft.Dynamics.CRM.${table}'.`,
    ),
  /** `x@odata.bind` where x is not a navigation property (observed OData wording). */
  undeclaredNavigation: (entitySetName: string, property: string) =>
    new DataverseFault(
      400,
      '0x80048d19',
      `${payloadPrefix(entitySetName)}Microsoft.OData.ODataException: An undeclared property '${property}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.`,
    ),
  /** A JSON value of the wrong type for the attribute (observed OData wording). */
  wrongType: (entitySetName: string, value: unknown, edmType: string) =>
    new DataverseFault(
      400,
      '0x80048d19',
      `${payloadPrefix(entitySetName)}Microsoft.OData.ODataException: Cannot convert the literal '${typeof value === 'string' ? value : JSON.stringify(value)}' to the expected type '${edmType}'.`,
    ),
  invalidJson: (entitySetName: string) =>
    new DataverseFault(
      400,
      '0x80048d19',
      `${payloadPrefix(entitySetName)}Microsoft.OData.ODataException: Invalid JSON. A token was not recognized in the JSON content.`,
    ),
  /** SystemRequired attribute missing or null (assumed wording, SDK's AttributeCannotBeNull family). */
  requiredMissing: (attribute: string) =>
    new DataverseFault(400, '0x80040200', `Attribute '${attribute}' cannot be NULL`),
  /** $select / $filter / $orderby naming an unknown column (OData URI parser wording). */
  unknownQueryProperty: (property: string, table: string) =>
    new DataverseFault(
      400,
      '0x80060888',
      `Could not find a property named '${property}' on type 'Microsoft.Dynamics.CRM.${table}'.`,
    ),
  badQuery: (message: string) => new DataverseFault(400, '0x80060888', message),
  invalidKey: (table: string) =>
    new DataverseFault(
      400,
      '0x80060888',
      `The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.${table}'. Ensure that the names and number of key properties match the declared or alternate key properties for the resource 'Microsoft.Dynamics.CRM.${table}'.`,
    ),
  /** Bulk message on a table without it (observed SDK wording, code SdkEntityDoesNotSupportMessage). */
  messageNotSupported: (message: string, table: string) =>
    new DataverseFault(
      400,
      '0x80040800',
      `The '${message}' method does not support entities of type '${table}'. MessageProcessorCache returned MessageProcessor.Empty. `,
    ),
  deleteMultipleStandard: () => new DataverseFault(400, '0x80040216', 'DeleteMultiple has not yet been implemented.'),
  unexpected: () => new DataverseFault(400, '0x80040216', 'An unexpected error occurred.'),
  /** Bulk target without @odata.type (assumed wording). */
  missingODataType: (message: string, index: number) =>
    new DataverseFault(
      400,
      '0x80048d19',
      `${message}: the item at index ${index} of 'Targets' has no '@odata.type' annotation; set "@odata.type": "Microsoft.Dynamics.CRM.<table>" on every target.`,
    ),
  wrongODataType: (message: string, found: string, table: string) =>
    new DataverseFault(
      400,
      '0x80040203',
      `${message}: the target type '${found}' does not match the entity set's type 'Microsoft.Dynamics.CRM.${table}'.`,
    ),
  invalidArgument: (message: string) => new DataverseFault(400, '0x80040203', message),
  /** Merge with PerformParentingChecks when the two records have different parents (assumed wording). */
  parentingCheck: () =>
    new DataverseFault(
      400,
      '0x8004022D',
      'The parent of the subordinate record is different from the parent of the master record. Merge with PerformParentingChecks cannot continue.',
    ),
  /**
   * An N:N association that already exists. DuplicateRecord 0x80040237 "Cannot insert duplicate key." (Microsoft's
   * "Troubleshoot Dataverse client errors": -2147220937; the Associate message answers it for an existing pair, as
   * reported in demianrasko/Dynamics-365-Workflow-Tools#83). Status 412 as for the same code on create (fixture
   * create-duplicate-key.response-body.json).
   */
  duplicateAssociation: () => new DataverseFault(412, '0x80040237', 'Cannot insert duplicate key.'),
  /**
   * A statuscode whose option belongs to another state. Wording as the platform reports it ("6 is not a valid status
   * code for state code TaskState.Open on task with Id ..."; observed, quoted in public reports); code 0x80048408
   * (errorCode 2147779592 in the same reports).
   */
  invalidStatus: (status: number, stateName: string, table: string, id: string) =>
    new DataverseFault(
      400,
      '0x80048408',
      `${status} is not a valid status code for state code ${stateName} on ${table} with Id ${id}.`,
    ),
  /** "Use file column data" > Check maximum file size: unManagedidsattachmentinvalidfilesize. */
  fileTooBig: () => new DataverseFault(400, '0x80044a02', 'Attachment file size is too big.'),
  /** A file column set in a create/update body: file data goes through the upload messages (assumed wording). */
  fileColumnNotSettable: (attribute: string) =>
    new DataverseFault(
      400,
      '0x80040203',
      `The file column '${attribute}' can't be set in a create or update; upload its data with InitializeFileBlocksUpload, UploadBlock and CommitFileBlocksUpload.`,
    ),
  /** An N:N relationship or file upload naming something that does not exist (assumed wording). */
  relationshipNotFound: (schemaName: string) =>
    new DataverseFault(404, '0x80040217', `Could not find a relationship with SchemaName '${schemaName}'.`),
  /** A file or image column with no data, asked for its data (assumed wording). */
  noFile: (attribute: string, id: string) =>
    new DataverseFault(404, '0x80040217', `No file attachment found for attribute: ${attribute} EntityId: ${id}.`),
  /** A file continuation token the emulator did not issue, or one already committed (assumed wording). */
  invalidFileToken: () => new DataverseFault(400, '0x80040203', 'The FileContinuationToken is not valid.'),
  methodNotAllowed: (method: string) =>
    new DataverseFault(405, '0x80060888', `The HTTP method '${method}' is not allowed for this resource.`),
};
