/** How the emulator tests read JSON bodies without `any`. */
export type Row = Record<string, unknown>;

/**
 * A Web API JSON body as these tests read it: an entity's columns, a collection's `value`, an `error`, or
 * EntityDefinitions' `Attributes`/`Keys`. Declared, not checked: a part that is missing fails the test reading it.
 */
export interface WebApiJson extends Row {
  '@odata.etag': string;
  '@odata.nextLink'?: string;
  value: Row[];
  /** CreateMultiple / UpsertMultiple. */
  Ids: string[];
  error: { code: string; message: string };
  Attributes: Row[];
  Keys: Row[];
}

/** What the solution tests read: ImportSolutionAsync-style answers and asyncoperation / importjob rows. */
export interface SolutionJson extends WebApiJson {
  AsyncOperationId: string;
  ImportJobId: string;
  ImportJobKey: string;
  /** RetrieveFormattedImportJobResults. */
  FormattedResults: string;
  createdon: string;
  startedon: string;
  completedon: string;
  /** importjob: the import log XML. */
  data: string;
}
