/**
 * The one test of "is this a problem with the file" (or with its table, or no Dataverse identity left), used by the scan and by the chunks
 * alike: such an error ends the load as failed with a message for the user, where any other error is
 * infrastructure and is thrown, so the trigger retries it.
 */
import { DataverseError, DataverseErrorCodes } from '../dataverse/dataverseError';
import { IngestionError } from '../ingestion/ingestionError';
import { BlobChangedError } from './blobSource';
import { TableNotFoundError } from './tableMetadataSource';

export interface FileProblem {
  code: string;
  message: string;
}

export function fileProblemOf(error: unknown): FileProblem | undefined {
  if (error instanceof IngestionError || error instanceof TableNotFoundError || error instanceof BlobChangedError)
    return { code: error.code, message: error.message };
  // Every identity's credentials failed: no retry can help until someone fixes them (the message names each).
  if (error instanceof DataverseError && error.code === DataverseErrorCodes.noIdentityLeft)
    return { code: error.code, message: error.message };
  return undefined;
}
