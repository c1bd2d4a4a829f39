/**
 * Builds solution zips shaped like the ones `pac solution pack` produces (solution.xml, customizations.xml,
 * [Content_Types].xml at the root), valid or deliberately broken, for tests and benchmarks.
 */
import { strToU8, zipSync } from 'fflate';

/** A `<MissingDependency>` of solution.xml: a component the solution needs from another solution. */
export interface MissingDependencySpec {
  /** Unique name of the solution that must be installed first. */
  solution: string;
  /** Minimum version of that solution (written as `solution="name (version)"`, as Dataverse exports it). */
  version?: string;
  /** Schema name of the required component (default: `<solution>_component`). */
  schemaName?: string;
  displayName?: string;
  /** Solution component type (1 = Entity, 2 = Attribute, ...). */
  componentType?: number;
}

/** A `<connectionreference>` of customizations.xml. */
export interface ConnectionReferenceSpec {
  logicalName: string;
  /** Default: the Dataverse connector. */
  connectorId?: string;
  displayName?: string;
}

/** An environment variable definition, written as `environmentvariabledefinitions/<schema>/environmentvariabledefinition.xml`. */
export interface EnvironmentVariableSpec {
  schemaName: string;
  /** 100000000 String (default), 100000001 Number, 100000002 Boolean, 100000003 JSON, 100000004 Data source, 100000005 Secret. */
  type?: number;
  defaultValue?: string;
  isRequired?: boolean;
  displayName?: string;
}

export type SolutionZipCorruption = 'noSolutionXml' | 'badXml' | 'notZip';

export interface SolutionZipOptions {
  uniqueName: string;
  /** Default 1.0.0.0. */
  version?: string;
  /** Default false (unmanaged). */
  managed?: boolean;
  /** Default: the unique name. */
  friendlyName?: string;
  publisherUniqueName?: string;
  /** Required components from other solutions; strings are solution unique names. */
  missingDependencies?: ReadonlyArray<string | MissingDependencySpec>;
  connectionReferences?: readonly ConnectionReferenceSpec[];
  environmentVariables?: readonly EnvironmentVariableSpec[];
  corrupt?: SolutionZipCorruption;
  /** Extra bytes of padding in customizations.xml, to make large packages for benchmarks. */
  paddingBytes?: number;
}

const xmlText = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function missingDependencyXml(spec: string | MissingDependencySpec): string {
  const d = typeof spec === 'string' ? { solution: spec } : spec;
  const solution = d.version ? `${d.solution} (${d.version})` : d.solution;
  const schemaName = d.schemaName ?? `${d.solution}_component`;
  return (
    `      <MissingDependency>\n` +
    `        <Required type="${d.componentType ?? 1}" schemaName="${xmlText(schemaName)}" displayName="${xmlText(d.displayName ?? schemaName)}" solution="${xmlText(solution)}" />\n` +
    `        <Dependent type="2" schemaName="dependent_${xmlText(schemaName)}" displayName="Dependent of ${xmlText(d.displayName ?? schemaName)}" />\n` +
    `      </MissingDependency>\n`
  );
}

export function solutionXml(options: SolutionZipOptions): string {
  const version = options.version ?? '1.0.0.0';
  const name = xmlText(options.uniqueName);
  const friendly = xmlText(options.friendlyName ?? options.uniqueName);
  const publisher = xmlText(options.publisherUniqueName ?? 'emulatorpublisher');
  const dependencies = options.missingDependencies ?? [];
  return (
    `<?xml version="1.0" encoding="utf-8"?>\n` +
    `<ImportExportXml version="9.2.24012.196" SolutionPackageVersion="9.2" languagecode="1033" generatedBy="CrmLive">\n` +
    `  <SolutionManifest>\n` +
    `    <UniqueName>${name}</UniqueName>\n` +
    `    <LocalizedNames>\n      <LocalizedName description="${friendly}" languagecode="1033" />\n    </LocalizedNames>\n` +
    `    <Descriptions />\n` +
    `    <Version>${xmlText(version)}</Version>\n` +
    `    <Managed>${options.managed ? 1 : 0}</Managed>\n` +
    `    <Publisher>\n      <UniqueName>${publisher}</UniqueName>\n      <CustomizationPrefix>emu</CustomizationPrefix>\n    </Publisher>\n` +
    `    <RootComponents />\n` +
    (dependencies.length > 0
      ? `    <MissingDependencies>\n${dependencies.map(missingDependencyXml).join('')}    </MissingDependencies>\n`
      : `    <MissingDependencies />\n`) +
    `  </SolutionManifest>\n` +
    `</ImportExportXml>\n`
  );
}

const contentTypesXml =
  `<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
  `<Default Extension="xml" ContentType="application/octet-stream" /></Types>`;

function connectionReferenceXml(ref: ConnectionReferenceSpec): string {
  return (
    `    <connectionreference connectionreferencelogicalname="${xmlText(ref.logicalName)}">\n` +
    `      <connectionreferencedisplayname>${xmlText(ref.displayName ?? ref.logicalName)}</connectionreferencedisplayname>\n` +
    `      <connectorid>${xmlText(ref.connectorId ?? '/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps')}</connectorid>\n` +
    `      <iscustomizable>1</iscustomizable>\n      <promptingbehavior>0</promptingbehavior>\n` +
    `      <statecode>0</statecode>\n      <statuscode>1</statuscode>\n    </connectionreference>\n`
  );
}

function customizationsXml(paddingBytes: number, refs: readonly ConnectionReferenceSpec[]): string {
  const padding = paddingBytes > 0 ? `  <!-- ${'x'.repeat(paddingBytes)} -->\n` : '';
  const references =
    refs.length > 0
      ? `  <connectionreferences>\n${refs.map(connectionReferenceXml).join('')}  </connectionreferences>\n`
      : '';
  return `<?xml version="1.0" encoding="utf-8"?>\n<ImportExportXml>\n  <Entities />\n  <Roles />\n  <Workflows />\n${references}${padding}</ImportExportXml>\n`;
}

/** The definition file as a solution export writes it. */
export function environmentVariableXml(v: EnvironmentVariableSpec): string {
  const name = xmlText(v.displayName ?? v.schemaName);
  return (
    `<environmentvariabledefinition schemaname="${xmlText(v.schemaName)}">\n` +
    (v.defaultValue !== undefined ? `  <defaultvalue>${xmlText(v.defaultValue)}</defaultvalue>\n` : '') +
    `  <displayname default="${name}">\n    <label description="${name}" languagecode="1033" />\n  </displayname>\n` +
    `  <introducedversion>1.0.0.0</introducedversion>\n  <iscustomizable>1</iscustomizable>\n` +
    `  <isrequired>${v.isRequired ? 1 : 0}</isrequired>\n  <secretstore>0</secretstore>\n` +
    `  <type>${v.type ?? 100000000}</type>\n</environmentvariabledefinition>\n`
  );
}

/** Returns the bytes of a solution zip (or, for `corrupt: 'notZip'`, bytes that are not a zip at all). */
export function buildSolutionZip(options: SolutionZipOptions): Uint8Array {
  if (options.corrupt === 'notZip') {
    return strToU8(`This is not a zip file: ${options.uniqueName} ${options.version ?? '1.0.0.0'}\n`);
  }
  const files: Record<string, Uint8Array> = {
    '[Content_Types].xml': strToU8(contentTypesXml),
    'customizations.xml': strToU8(customizationsXml(options.paddingBytes ?? 0, options.connectionReferences ?? [])),
  };
  for (const v of options.environmentVariables ?? []) {
    files[`environmentvariabledefinitions/${v.schemaName}/environmentvariabledefinition.xml`] = strToU8(
      environmentVariableXml(v),
    );
  }
  if (options.corrupt !== 'noSolutionXml') {
    const xml = solutionXml(options);
    // Cut the document mid-element so it is not well-formed, as a truncated or hand-edited file would be.
    files['solution.xml'] = strToU8(
      options.corrupt === 'badXml' ? xml.replace('</SolutionManifest>', '<Managed>') : xml,
    );
  }
  return zipSync(files);
}

/** The same package as base64, the encoding of `CustomizationFile` in a Web API request body. */
export function buildSolutionZipBase64(options: SolutionZipOptions): string {
  return Buffer.from(buildSolutionZip(options)).toString('base64');
}
