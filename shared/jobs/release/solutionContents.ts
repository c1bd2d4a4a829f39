/**
 * Reads what a release decides with from a solution zip, without Dataverse: solution.xml (unique name, version,
 * managed, publisher, declared dependencies: the `<MissingDependencies>` Dataverse writes on export), the
 * connection references of customizations.xml and the environment variable definitions (each in
 * `environmentvariabledefinitions/<schema name>/environmentvariabledefinition.xml`; older packages list them in
 * customizations.xml). The zip is checked for size and expansion first (checkSolutionZip) and only these files
 * are inflated. Bytes in, value or problems out.
 */
import { unzipSync } from 'fflate';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import { checkSolutionZip, SolutionPackageError, type SolutionPackageLimits } from '../solutionPackage';
import { compareVersions, parseInstalledVersion, parsePackageVersion, type SolutionVersion } from './solutionVersion';
import { problem, type ReleaseProblem, type ReleaseResult } from './releaseProblem';

/** Environment variable types (environmentvariabledefinition.type). */
export const environmentVariableTypes = {
  100000000: 'String',
  100000001: 'Number',
  100000002: 'Boolean',
  100000003: 'JSON',
  100000004: 'Data source',
  100000005: 'Secret',
} as const;
export type EnvironmentVariableType = (typeof environmentVariableTypes)[keyof typeof environmentVariableTypes];

export interface SolutionDependency {
  /** Unique name of the solution that must be installed first. */
  solution: string;
  /** The highest minimum version its required components name (`solution="name (1.2.0.0)"`), if any. */
  minVersion?: SolutionVersion;
  /** Schema names of the required components, for messages. */
  components: string[];
}

export interface ConnectionReferenceDefinition {
  logicalName: string;
  connectorId?: string;
  displayName?: string;
}

export interface EnvironmentVariableDefinition {
  schemaName: string;
  type: EnvironmentVariableType;
  defaultValue?: string;
  isRequired: boolean;
  displayName?: string;
}

export interface SolutionContents {
  uniqueName: string;
  /** As written in solution.xml. */
  versionText: string;
  version: SolutionVersion;
  managed: boolean;
  friendlyName: string;
  publisherUniqueName: string;
  /** Other solutions it requires, by unique name (built-in solutions left out), in the order first named. */
  dependencies: SolutionDependency[];
  connectionReferences: ConnectionReferenceDefinition[];
  environmentVariables: EnvironmentVariableDefinition[];
}

/** Solutions every organization has, which solution.xml names as the source of system components. */
export const builtInSolutions: ReadonlySet<string> = new Set(['active', 'default', 'system', 'basic']);

const repeated = new Set([
  'MissingDependency',
  'LocalizedName',
  'connectionreference',
  'environmentvariabledefinition',
]);
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name, _path, _leaf, isAttribute) => !isAttribute && repeated.has(name),
});

type XmlNode = Record<string, unknown>;
const node = (value: unknown): XmlNode | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as XmlNode) : undefined;
const nodes = (value: unknown): XmlNode[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(node).filter((n) => n !== undefined);
/** Text of an element (`<a>x</a>`, or `<a k="v">x</a>`), or of an attribute. */
const text = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value.trim();
  const n = node(value);
  return n && typeof n['#text'] === 'string' ? n['#text'].trim() : undefined;
};
/** An element's text, or the same name as an attribute (both layouts occur in customizations.xml). */
const field = (n: XmlNode, name: string): string | undefined => text(n[`@_${name}`]) ?? text(n[name]);

/** `section`: the text is sections cut out of `file` (positions would not be the file's, so none are given). */
function parseXml(xml: string, file: string, section?: string): ReleaseResult<XmlNode> {
  const source = xml.replace(/^\uFEFF/, '');
  const validation = XMLValidator.validate(source);
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    const message = section
      ? `${section} of ${file} is not well-formed XML: ${msg}`
      : `${file} is not well-formed XML: ${msg} (line ${line}, column ${col}).`;
    return { ok: false, problems: [problem('BadSolutionXml', message, file)] };
  }
  return { ok: true, value: parser.parse(source) as XmlNode };
}

/** `contoso_Base (1.2.0.0)` → name and version, as Dataverse writes the `solution` attribute of `<Required>`. */
export function parseSolutionReference(reference: string): { solution: string; version?: string } {
  const match = /^(.*?)\s*\(([^()]*)\)\s*$/.exec(reference);
  return match ? { solution: match[1]!.trim(), version: match[2]!.trim() } : { solution: reference.trim() };
}

const uniqueNameSchema = z
  .string({ error: 'is missing' })
  .min(1, 'is empty')
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'is not a solution unique name (letters, digits, underscores)');

const manifestSchema = z.object({
  UniqueName: uniqueNameSchema,
  Version: z.string({ error: 'is missing' }),
  Managed: z.enum(['0', '1', 'true', 'false'], { error: 'must be 0 or 1' }),
});

/** Reads the `<SolutionManifest>` of a solution.xml text. `file` names it in problems (e.g. `contoso.zip/solution.xml`). */
export function readSolutionXml(
  xml: string,
  file = 'solution.xml',
): ReleaseResult<Omit<SolutionContents, 'connectionReferences' | 'environmentVariables'>> {
  const parsed = parseXml(xml, file);
  if (!parsed.ok) return parsed;
  const manifest = node(node(parsed.value['ImportExportXml'])?.['SolutionManifest']);
  if (!manifest) {
    return {
      ok: false,
      problems: [problem('BadSolutionXml', `${file} has no <ImportExportXml><SolutionManifest> element.`, file)],
    };
  }
  const checked = manifestSchema.safeParse({
    UniqueName: text(manifest['UniqueName']),
    Version: text(manifest['Version']),
    Managed: text(manifest['Managed']),
  });
  if (!checked.success) {
    return {
      ok: false,
      problems: checked.error.issues.map((issue) => {
        const element = String(issue.path[0]);
        return problem('BadSolutionXml', `${file}: <${element}> ${issue.message}.`, file, element);
      }),
    };
  }
  const { UniqueName: uniqueName, Version: versionText, Managed: managedText } = checked.data;
  const version = parsePackageVersion(versionText);
  if (!version) {
    return {
      ok: false,
      problems: [
        problem(
          'BadSolutionVersion',
          `${file}: <Version> '${versionText}' of ${uniqueName} is not major.minor.build.revision (four whole numbers, e.g. 1.0.0.0).`,
          file,
          uniqueName,
        ),
      ],
    };
  }
  const localized = nodes(node(manifest['LocalizedNames'])?.['LocalizedName'])[0];
  const dependencies = new Map<string, SolutionDependency>();
  const problems: ReleaseProblem[] = [];
  for (const missing of nodes(node(manifest['MissingDependencies'])?.['MissingDependency'])) {
    const required = node(missing['Required']);
    const reference = required && text(required['@_solution']);
    if (!required || !reference) continue;
    const { solution, version: minText } = parseSolutionReference(reference);
    if (builtInSolutions.has(solution.toLowerCase()) || solution.toLowerCase() === uniqueName.toLowerCase()) continue;
    const minVersion = minText === undefined ? undefined : parseInstalledVersion(minText);
    if (minText !== undefined && !minVersion) {
      problems.push(
        problem(
          'BadSolutionVersion',
          `${file}: the required solution '${reference}' names a version that is not major.minor.build.revision.`,
          file,
          solution,
        ),
      );
      continue;
    }
    const key = solution.toLowerCase();
    const entry = dependencies.get(key) ?? { solution, components: [] };
    if (minVersion && (!entry.minVersion || compareVersions(minVersion, entry.minVersion) > 0))
      entry.minVersion = minVersion;
    const component = text(required['@_schemaName']);
    if (component && !entry.components.includes(component)) entry.components.push(component);
    dependencies.set(key, entry);
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      uniqueName,
      versionText,
      version,
      managed: managedText === '1' || managedText === 'true',
      friendlyName: (localized && text(localized['@_description'])) || uniqueName,
      publisherUniqueName: text(node(manifest['Publisher'])?.['UniqueName']) ?? '',
      dependencies: [...dependencies.values()],
    },
  };
}

function environmentVariableOf(n: XmlNode, file: string): ReleaseResult<EnvironmentVariableDefinition> {
  const schemaName = field(n, 'schemaname');
  if (!schemaName) {
    return {
      ok: false,
      problems: [problem('BadSolutionXml', `${file}: an <environmentvariabledefinition> has no schemaname.`, file)],
    };
  }
  const typeText = field(n, 'type') ?? '100000000';
  const type = environmentVariableTypes[Number(typeText) as keyof typeof environmentVariableTypes];
  if (!type) {
    return {
      ok: false,
      problems: [
        problem(
          'BadSolutionXml',
          `${file}: environment variable ${schemaName} has type '${typeText}', not one Dataverse defines (100000000-100000005).`,
          file,
          schemaName,
        ),
      ],
    };
  }
  const defaultValue = field(n, 'defaultvalue');
  const displayName = text(node(n['displayname'])?.['@_default']) ?? text(n['displayname']);
  return {
    ok: true,
    value: {
      schemaName,
      type,
      ...(defaultValue !== undefined && defaultValue !== '' ? { defaultValue } : {}),
      isRequired: field(n, 'isrequired') === '1' || field(n, 'isrequired') === 'true',
      ...(displayName ? { displayName } : {}),
    },
  };
}

/**
 * The `<name>…</name>` (or `<name />`) elements of a document, cut out as text. customizations.xml can be tens of
 * megabytes (forms, views, entities); only these two small sections are parsed, so reading it costs a scan, not a
 * tree of the whole file. Checking the rest is the import's business.
 */
function sectionsOf(xml: string, name: string): string[] {
  const out: string[] = [];
  const open = new RegExp(`<${name}(?=[\\s/>])`, 'g');
  const close = `</${name}>`;
  for (let m = open.exec(xml); m; m = open.exec(xml)) {
    const tagEnd = xml.indexOf('>', m.index);
    if (tagEnd < 0) {
      out.push(xml.slice(m.index)); // unterminated: the parser names the problem
      break;
    }
    const end = xml[tagEnd - 1] === '/' ? tagEnd + 1 : xml.indexOf(close, tagEnd);
    if (end < 0) {
      out.push(xml.slice(m.index));
      break;
    }
    const stop = xml[tagEnd - 1] === '/' ? end : end + close.length;
    out.push(xml.slice(m.index, stop));
    open.lastIndex = stop;
  }
  return out;
}

/** Connection references and (older layout) environment variable definitions of a customizations.xml text. */
export function readCustomizationsXml(
  xml: string,
  file = 'customizations.xml',
): ReleaseResult<Pick<SolutionContents, 'connectionReferences' | 'environmentVariables'>> {
  const wanted = [...sectionsOf(xml, 'connectionreferences'), ...sectionsOf(xml, 'environmentvariabledefinitions')];
  const parsed = parseXml(
    `<ImportExportXml>${wanted.join('')}</ImportExportXml>`,
    file,
    'the <connectionreferences> or <environmentvariabledefinitions> section',
  );
  if (!parsed.ok) return parsed;
  const root = node(parsed.value['ImportExportXml']) ?? {};
  const problems: ReleaseProblem[] = [];
  const connectionReferences: ConnectionReferenceDefinition[] = [];
  for (const ref of nodes(root['connectionreferences']).flatMap((list) => nodes(list['connectionreference']))) {
    const logicalName = field(ref, 'connectionreferencelogicalname');
    if (!logicalName) {
      problems.push(problem('BadSolutionXml', `${file}: a <connectionreference> has no logical name.`, file));
      continue;
    }
    const connectorId = field(ref, 'connectorid');
    const displayName = field(ref, 'connectionreferencedisplayname');
    connectionReferences.push({
      logicalName,
      ...(connectorId ? { connectorId } : {}),
      ...(displayName ? { displayName } : {}),
    });
  }
  const environmentVariables: EnvironmentVariableDefinition[] = [];
  for (const definition of nodes(root['environmentvariabledefinitions']).flatMap((list) =>
    nodes(list['environmentvariabledefinition']),
  )) {
    const read = environmentVariableOf(definition, file);
    if (read.ok) environmentVariables.push(read.value);
    else problems.push(...read.problems);
  }
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, value: { connectionReferences, environmentVariables } };
}

/** One `environmentvariabledefinitions/<name>/environmentvariabledefinition.xml`. */
export function readEnvironmentVariableXml(xml: string, file: string): ReleaseResult<EnvironmentVariableDefinition> {
  const parsed = parseXml(xml, file);
  if (!parsed.ok) return parsed;
  const definitions = nodes(parsed.value['environmentvariabledefinition']);
  if (definitions.length !== 1) {
    return {
      ok: false,
      problems: [problem('BadSolutionXml', `${file} has no <environmentvariabledefinition> root element.`, file)],
    };
  }
  return environmentVariableOf(definitions[0]!, file);
}

// Node's decoder: fflate's strFromU8 takes seconds on a customizations.xml of tens of megabytes.
const utf8 = new TextDecoder('utf-8');
const textOf = (bytes: Uint8Array): string => utf8.decode(bytes);

const definitionPath = /^environmentvariabledefinitions\/[^/]+\/environmentvariabledefinition\.xml$/;
const wanted = (name: string): boolean => {
  const lower = name.toLowerCase();
  return lower === 'solution.xml' || lower === 'customizations.xml' || definitionPath.test(lower);
};

/**
 * Reads a solution zip. `fileName` names it in every problem (e.g. the blob name or the entry of a release zip).
 * Never throws on bad input: a damaged zip, a missing solution.xml, bad XML or a bad version are problems.
 */
export function readSolutionContents(
  zip: Uint8Array,
  fileName: string,
  limits?: SolutionPackageLimits,
): ReleaseResult<SolutionContents> {
  let files: Record<string, Uint8Array>;
  try {
    checkSolutionZip(zip, limits);
    files = unzipSync(zip, { filter: (file) => wanted(file.name) });
  } catch (error) {
    const reason =
      error instanceof SolutionPackageError ? error.message : `it cannot be read: ${(error as Error).message}`;
    return { ok: false, problems: [problem('SolutionZipUnreadable', `${fileName}: ${reason}`, fileName)] };
  }
  const byName = new Map(Object.entries(files).map(([name, bytes]) => [name.toLowerCase(), { name, bytes }]));
  const solution = byName.get('solution.xml');
  if (!solution) {
    return {
      ok: false,
      problems: [
        problem(
          'NoSolutionXml',
          `${fileName} has no solution.xml at its root: it is not a solution package.`,
          fileName,
        ),
      ],
    };
  }
  const manifest = readSolutionXml(textOf(solution.bytes), `${fileName}/${solution.name}`);
  if (!manifest.ok) return manifest;
  const problems: ReleaseProblem[] = [];
  const customizations = byName.get('customizations.xml');
  const parts = customizations
    ? readCustomizationsXml(textOf(customizations.bytes), `${fileName}/${customizations.name}`)
    : { ok: true as const, value: { connectionReferences: [], environmentVariables: [] } };
  if (!parts.ok) problems.push(...parts.problems);
  const variables = new Map<string, EnvironmentVariableDefinition>();
  for (const v of parts.ok ? parts.value.environmentVariables : []) variables.set(v.schemaName.toLowerCase(), v);
  const definitionFiles = [...byName.entries()]
    .filter(([lower]) => definitionPath.test(lower))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  for (const [, { name, bytes }] of definitionFiles) {
    const read = readEnvironmentVariableXml(textOf(bytes), `${fileName}/${name}`);
    if (read.ok) variables.set(read.value.schemaName.toLowerCase(), read.value);
    else problems.push(...read.problems);
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      ...manifest.value,
      connectionReferences: parts.ok ? parts.value.connectionReferences : [],
      environmentVariables: [...variables.values()],
    },
  };
}
