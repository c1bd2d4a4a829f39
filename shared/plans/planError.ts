/**
 * Why a plan can't run as given (a zip bomb, an unknown table or sheet, two files for one table…): 400 when it
 * answers an HTTP request, a failed plan naming the file or sheet when it comes from a drop.
 */
import { InvalidRequestError } from '../errors';

export type PlanErrorCode =
  | 'NotAZip'
  | 'ZipBomb'
  | 'TooLarge'
  | 'PlanFileInvalid'
  | 'UnknownTable'
  | 'NoTableForFile'
  | 'DuplicateTable'
  | 'ConflictingProfiles'
  | 'UnsupportedEntry'
  | 'CellInvalid'
  | 'EmptyPlan';

export class PlanError extends InvalidRequestError {
  override readonly name = 'PlanError';
  declare readonly code: PlanErrorCode;
  constructor(code: PlanErrorCode, message: string) {
    super(code, message);
  }
}
