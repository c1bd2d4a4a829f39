/**
 * Request bodies of the solution actions, checked the way the Web API's OData reader checks action parameters:
 * unknown parameter, wrong JSON type for the declared Edm type, missing required parameter. Each check answers
 * with the reader's wording so clients see what they would see from Dataverse.
 */
import { z } from 'zod';
import type { SolutionMessageName } from './solutionOperation';
import { guidPattern } from '../odata/filter';

/** Dataverse's code for errors found in a request payload by the OData reader. */
export const payloadErrorCode = '0x80048d19';
/** InvalidArgument: a required request member is missing. */
export const missingParameterCode = '0x80040203';

export class ActionParameterError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ActionParameterError';
  }
}

type EdmType =
  | 'Edm.Boolean'
  | 'Edm.Binary'
  | 'Edm.Guid'
  | 'Edm.String'
  | 'Edm.Int32'
  | 'Collection(mscrm.crmbaseentity)'
  | 'mscrm.SolutionParameters';
interface ParameterSpec {
  type: EdmType;
  required?: boolean;
}

const importParameters: Record<string, ParameterSpec> = {
  OverwriteUnmanagedCustomizations: { type: 'Edm.Boolean', required: true },
  PublishWorkflows: { type: 'Edm.Boolean', required: true },
  CustomizationFile: { type: 'Edm.Binary', required: true },
  ImportJobId: { type: 'Edm.Guid' },
  ConvertToManaged: { type: 'Edm.Boolean' },
  SkipProductUpdateDependencies: { type: 'Edm.Boolean' },
  SkipQueueRibbonJob: { type: 'Edm.Boolean' },
  AsyncRibbonProcessing: { type: 'Edm.Boolean' },
  LayerDesiredOrder: { type: 'mscrm.SolutionParameters' },
  ComponentParameters: { type: 'Collection(mscrm.crmbaseentity)' },
  SolutionParameters: { type: 'mscrm.SolutionParameters' },
};

const parameterSpecs: Record<SolutionMessageName, Record<string, ParameterSpec>> = {
  ImportSolutionAsync: { ...importParameters, HoldingSolution: { type: 'Edm.Boolean' } },
  // The StageAndUpgradeAsync reference lists no HoldingSolution: it always stages a holding solution.
  StageAndUpgradeAsync: importParameters,
  DeleteAndPromoteAsync: { UniqueName: { type: 'Edm.String', required: true } },
};

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const literal = (value: unknown): string =>
  typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));

function checkValue(name: string, spec: ParameterSpec, value: unknown): void {
  const cannotConvert = (): never => {
    throw new ActionParameterError(
      payloadErrorCode,
      `Cannot convert the literal '${literal(value)}' to the expected type '${spec.type}'.`,
    );
  };
  switch (spec.type) {
    case 'Edm.Boolean':
      if (typeof value !== 'boolean') cannotConvert();
      return;
    case 'Edm.Int32':
      if (typeof value !== 'number' || !Number.isInteger(value)) cannotConvert();
      return;
    case 'Edm.String':
      if (typeof value !== 'string') cannotConvert();
      return;
    case 'Edm.Guid':
      if (typeof value !== 'string' || !guidPattern.test(value)) cannotConvert();
      return;
    case 'Edm.Binary':
      if (typeof value !== 'string' || !base64Pattern.test(value.replace(/\s/g, ''))) cannotConvert();
      return;
    case 'mscrm.SolutionParameters':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) cannotConvert();
      return;
    case 'Collection(mscrm.crmbaseentity)':
      if (!Array.isArray(value)) {
        throw new ActionParameterError(
          payloadErrorCode,
          `An unexpected '${typeof value === 'object' && value !== null ? 'StartObject' : 'PrimitiveValue'}' node was found when reading from the JSON reader. A 'StartArray' node was expected.`,
        );
      }
      value.forEach((item) => {
        const type =
          typeof item === 'object' && item !== null ? (item as Record<string, unknown>)['@odata.type'] : undefined;
        if (typeof type !== 'string' || !/^#?Microsoft\.Dynamics\.CRM\.\w+$/.test(type)) {
          throw new ActionParameterError(
            payloadErrorCode,
            `An entity without a type name was found in the '${name}' parameter, but the declared type 'mscrm.crmbaseentity' is abstract. ` +
              `Each item needs an '@odata.type' annotation such as 'Microsoft.Dynamics.CRM.connectionreference'.`,
          );
        }
      });
      return;
  }
}

const importBody = z.object({
  OverwriteUnmanagedCustomizations: z.boolean(),
  PublishWorkflows: z.boolean(),
  CustomizationFile: z.string(),
  ImportJobId: z.string().optional(),
  HoldingSolution: z.boolean().optional(),
  ConvertToManaged: z.boolean().optional(),
  SkipProductUpdateDependencies: z.boolean().optional(),
  ComponentParameters: z.array(z.looseObject({ '@odata.type': z.string() })).optional(),
});
const deleteAndPromoteBody = z.object({ UniqueName: z.string() });

export type ImportSolutionParameters = z.infer<typeof importBody>;
export type SolutionActionRequest =
  | {
      messageName: 'ImportSolutionAsync' | 'StageAndUpgradeAsync';
      parameters: ImportSolutionParameters;
      customizationFile: Uint8Array;
    }
  | { messageName: 'DeleteAndPromoteAsync'; parameters: z.infer<typeof deleteAndPromoteBody> };

/** Parses and checks an action body; throws ActionParameterError with Dataverse's wording. */
export function parseSolutionAction(messageName: SolutionMessageName, body: string): SolutionActionRequest {
  let json: unknown;
  try {
    json = body.trim() === '' ? {} : JSON.parse(body);
  } catch (error) {
    throw new ActionParameterError(payloadErrorCode, `Invalid JSON. ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ActionParameterError(
      payloadErrorCode,
      `An unexpected '${Array.isArray(json) ? 'StartArray' : 'PrimitiveValue'}' node was found when reading from the JSON reader. A 'StartObject' node was expected.`,
    );
  }
  const specs = parameterSpecs[messageName];
  const given = json as Record<string, unknown>;
  for (const [name, value] of Object.entries(given)) {
    if (name.startsWith('@') || name.includes('@odata.')) continue;
    const spec = specs[name];
    if (!spec) {
      throw new ActionParameterError(
        payloadErrorCode,
        `The parameter '${name}' in the request payload is not a valid parameter for the operation '${messageName}'.`,
      );
    }
    if (value === null) {
      if (spec.required)
        throw new ActionParameterError(
          payloadErrorCode,
          `A null value was found for the property named '${name}', which has the expected type '${spec.type}[Nullable=False]'. The expected type '${spec.type}[Nullable=False]' does not allow null values.`,
        );
      continue;
    }
    checkValue(name, spec, value);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && given[name] === undefined) {
      throw new ActionParameterError(missingParameterCode, `Required member '${name}' missing for field '${name}'`);
    }
  }
  const withoutNulls = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== null));
  if (messageName === 'DeleteAndPromoteAsync') {
    return { messageName, parameters: deleteAndPromoteBody.parse(withoutNulls) };
  }
  const parameters = importBody.parse(withoutNulls);
  return {
    messageName,
    parameters,
    customizationFile: new Uint8Array(Buffer.from(parameters.CustomizationFile, 'base64')),
  };
}
