/**
 * Reads a solution package (zip) the way the import validates it before touching any component:
 * the root files, solution.xml being well-formed, and the manifest fields. Pure: bytes in, verdict out.
 */
import { unzipSync } from 'fflate';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * Dataverse error codes used by the import log. The names and messages are from Microsoft's "Web service error
 * codes" list (powerapps-docs developer/data-platform/includes/data-service-errors.md) unless marked observed.
 */
export const importErrorCodes = {
  /** ImportCustomizationsBadZipFileError */
  badZipFile: '0x80048060',
  /** ImportSolutionError: "An error occurred while importing a Solution." */
  solutionError: '0x80048033',
  /** ImportMissingDependenciesError: "The following solution cannot be imported: {0}. Some dependencies are missing." */
  missingDependencies: '0x8004801D',
  /** ImportSolutionManagedToUnmanagedMismatch: installed unmanaged, package managed. */
  managedToUnmanagedMismatch: '0x80048040',
  /** ImportSolutionUnmanagedToManagedMismatch: installed managed, package unmanaged. */
  unmanagedToManagedMismatch: '0x80048041',
  /**
   * Observed, not in the list: the import log's code for "Solution manifest import: FAILURE: Holding solution
   * <name>_Upgrade already exists." (microsoft/coe-starter-kit#1472).
   */
  holdingSolutionExists: '0x80048539',
} as const;

export const managedToUnmanagedMismatchMessage =
  'The solution is already installed on this system as an unmanaged solution and the package supplied is attempting to install it in managed mode. Import can only update solutions when the modes match. Uninstall the current solution and try again.';
export const unmanagedToManagedMismatchMessage =
  'The solution is already installed on this system as a managed solution and the package supplied is attempting to install it in unmanaged mode. Import can only update solutions when the modes match. Uninstall the current solution and try again.';

export const badZipFileMessage =
  'The solution file is invalid. The compressed file must contain the following files at its root: solution.xml, ' +
  'customizations.xml, and [Content_Types].xml. Customization files exported from previous versions of Microsoft ' +
  'Dynamics 365 are not supported.';

export interface RequiredComponent {
  /** Unique name of the solution the component comes from. */
  solution: string;
  /** Minimum version, when solution.xml says `name (1.2.0.0)`. */
  version?: string;
  componentType: string;
  schemaName: string;
  displayName: string;
  /** The component of this package that needs it (`<Dependent>`), when solution.xml names one. */
  dependent?: { componentType: string; schemaName: string; displayName: string };
}

export interface SolutionManifest {
  uniqueName: string;
  friendlyName: string;
  version: string;
  managed: boolean;
  publisherUniqueName: string;
  requires: RequiredComponent[];
}

export interface PackageFailure {
  code: string;
  message: string;
}

export type SolutionPackage = { ok: true; manifest: SolutionManifest } | { ok: false; failure: PackageFailure };

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'MissingDependency' || name === 'LocalizedName',
});

type XmlNode = Record<string, unknown>;
const asNode = (value: unknown): XmlNode | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as XmlNode) : undefined;
const asText = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value.trim();
  const node = asNode(value);
  return node && typeof node['#text'] === 'string' ? node['#text'].trim() : undefined;
};

/** `contoso_Base (1.2.0.0)` → name and version, as Dataverse writes the `solution` attribute of `<Required>`. */
export function parseSolutionReference(reference: string): { solution: string; version?: string } {
  const match = /^(.*?)\s*\(([\d.]+)\)\s*$/.exec(reference);
  return match ? { solution: match[1]!, version: match[2]! } : { solution: reference.trim() };
}

const versionPattern = /^\d+(\.\d+){1,3}$/;

function readManifest(root: XmlNode): SolutionManifest | PackageFailure {
  const manifest = asNode(asNode(root['ImportExportXml'])?.['SolutionManifest']);
  const invalid = (what: string): PackageFailure => ({
    code: importErrorCodes.solutionError,
    message: `An error occurred while importing a Solution. solution.xml: ${what}`,
  });
  if (!manifest) return invalid('the <ImportExportXml><SolutionManifest> element is missing.');
  const uniqueName = asText(manifest['UniqueName']);
  if (!uniqueName) return invalid('<UniqueName> is missing or empty.');
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(uniqueName))
    return invalid(`<UniqueName> '${uniqueName}' is not a valid unique name.`);
  const version = asText(manifest['Version']);
  if (!version || !versionPattern.test(version)) return invalid(`<Version> '${version ?? ''}' is not a valid version.`);
  const managedText = asText(manifest['Managed']);
  if (managedText !== '0' && managedText !== '1' && managedText !== 'true' && managedText !== 'false') {
    return invalid(`<Managed> '${managedText ?? ''}' must be 0 or 1.`);
  }
  const localized = asNode(manifest['LocalizedNames'])?.['LocalizedName'];
  const firstLocalized = Array.isArray(localized) ? asNode(localized[0]) : undefined;
  const friendlyName =
    typeof firstLocalized?.['@_description'] === 'string' ? firstLocalized['@_description'] : uniqueName;
  const publisherUniqueName = asText(asNode(manifest['Publisher'])?.['UniqueName']) ?? '';
  const dependencies = asNode(manifest['MissingDependencies'])?.['MissingDependency'];
  const requires: RequiredComponent[] = [];
  for (const dependency of Array.isArray(dependencies) ? dependencies : []) {
    const required = asNode(asNode(dependency)?.['Required']);
    const reference = required?.['@_solution'];
    if (!required || typeof reference !== 'string') continue;
    const attrOf =
      (n: XmlNode) =>
      (name: string): string =>
        typeof n[name] === 'string' ? n[name] : '';
    const attr = attrOf(required);
    const dependentNode = asNode(asNode(dependency)?.['Dependent']);
    const dependent = dependentNode && attrOf(dependentNode);
    requires.push({
      ...parseSolutionReference(reference),
      componentType: attr('@_type'),
      schemaName: attr('@_schemaName'),
      displayName: attr('@_displayName') || attr('@_schemaName'),
      ...(dependent
        ? {
            dependent: {
              componentType: dependent('@_type'),
              schemaName: dependent('@_schemaName'),
              displayName: dependent('@_displayName') || dependent('@_schemaName'),
            },
          }
        : {}),
    });
  }
  return {
    uniqueName,
    friendlyName,
    version,
    managed: managedText === '1' || managedText === 'true',
    publisherUniqueName,
    requires,
  };
}

export function readSolutionPackage(bytes: Uint8Array): SolutionPackage {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (error) {
    return {
      ok: false,
      failure: {
        code: importErrorCodes.badZipFile,
        message: `${badZipFileMessage} (The file is not a valid zip archive: ${(error as Error).message}.)`,
      },
    };
  }
  const solutionFile = files['solution.xml'];
  if (!solutionFile || !files['customizations.xml']) {
    const missing = ['solution.xml', 'customizations.xml'].filter((name) => !files[name]).join(', ');
    return {
      ok: false,
      failure: { code: importErrorCodes.badZipFile, message: `${badZipFileMessage} (Missing: ${missing}.)` },
    };
  }
  const xml = new TextDecoder('utf-8').decode(solutionFile).replace(/^\uFEFF/, '');
  const validation = XMLValidator.validate(xml);
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    return {
      ok: false,
      failure: {
        code: importErrorCodes.solutionError,
        message: `An error occurred while importing a Solution. solution.xml is not well-formed XML: ${msg} Line ${line}, position ${col}.`,
      },
    };
  }
  const manifest = readManifest(xmlParser.parse(xml) as XmlNode);
  return 'code' in manifest ? { ok: false, failure: manifest } : { ok: true, manifest };
}

/** Compares dotted versions numerically: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** Solutions every organization has, which solution.xml may name as the source of system components. */
const builtInSolutions = new Set(['active', 'default', 'system', 'basic']);

/**
 * The required components whose solution is not installed (or installed at a lower version).
 * `installed` maps unique names, lower-cased, to versions.
 */
export function unmetRequirements(
  manifest: SolutionManifest,
  installed: ReadonlyMap<string, string>,
): RequiredComponent[] {
  return manifest.requires.filter((required) => {
    const key = required.solution.toLowerCase();
    if (builtInSolutions.has(key)) return false;
    const version = installed.get(key);
    if (version === undefined) return true;
    return required.version !== undefined && compareVersions(version, required.version) < 0;
  });
}

const xmlAttr = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * The ImportMissingDependenciesError message: the documented sentence, then the missing components as a
 * `<MissingDependencies>` element, the way Dataverse reports them (observed in StageSolution's validation
 * results, OfficeDev/Project-Accelerator#20: "... Some dependencies are missing. The missing dependencies are : <MissingDependencies>...").
 */
export function missingDependenciesMessage(manifest: SolutionManifest, unmet: readonly RequiredComponent[]): string {
  const items = unmet
    .map((r) => {
      const solution = `${r.solution}${r.version ? ` (${r.version})` : ''}`;
      const dependent = r.dependent
        ? `<Dependent type="${xmlAttr(r.dependent.componentType)}" schemaName="${xmlAttr(r.dependent.schemaName)}" displayName="${xmlAttr(r.dependent.displayName)}" />`
        : '';
      return (
        `<MissingDependency><Required type="${xmlAttr(r.componentType)}" schemaName="${xmlAttr(r.schemaName)}" ` +
        `displayName="${xmlAttr(r.displayName)}" solution="${xmlAttr(solution)}" />${dependent}</MissingDependency>`
      );
    })
    .join('');
  return `The following solution cannot be imported: ${manifest.uniqueName}. Some dependencies are missing. The missing dependencies are : <MissingDependencies>${items}</MissingDependencies>`;
}
