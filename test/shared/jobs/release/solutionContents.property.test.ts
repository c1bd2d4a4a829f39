import fc from 'fast-check';
import { strToU8, zipSync } from 'fflate';
import {
  buildSolutionZip,
  type ConnectionReferenceSpec,
  type EnvironmentVariableSpec,
  type MissingDependencySpec,
} from '../../../../dev/emulator/solutions/solutionZip';
import {
  readCustomizationsXml,
  readSolutionContents,
  readSolutionXml,
} from '../../../../shared/jobs/release/solutionContents';
import { formatVersion } from '../../../../shared/jobs/release/solutionVersion';

const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/);
const part = fc.integer({ min: 0, max: 99999 });
const versionText = fc.tuple(part, part, part, part).map((p) => p.join('.'));
// Text XML 1.0 can carry (no control characters or lone surrogates); trimmed, as the reader trims element text.
const xmlishText = fc
  .string({ minLength: 1, maxLength: 20, unit: fc.constantFrom(...'aZ9 _-&<>"\'.é€中') })
  .filter((s) => s.trim() === s && s !== '');
const types = [100000000, 100000001, 100000002, 100000003, 100000004, 100000005];
const typeNames = ['String', 'Number', 'Boolean', 'JSON', 'Data source', 'Secret'];

const dependency: fc.Arbitrary<MissingDependencySpec> = fc.record(
  { solution: identifier, version: fc.option(versionText, { nil: undefined }), schemaName: identifier },
  { requiredKeys: ['solution', 'schemaName'] },
);
const reference: fc.Arbitrary<ConnectionReferenceSpec> = fc.record({
  logicalName: identifier,
  displayName: xmlishText,
});
const variable: fc.Arbitrary<EnvironmentVariableSpec> = fc.record(
  { schemaName: identifier, type: fc.constantFrom(...types), defaultValue: xmlishText, isRequired: fc.boolean() },
  { requiredKeys: ['schemaName', 'type', 'isRequired'] },
);

describe('reading a solution zip', () => {
  test('what the emulator writes (solution.xml, customizations.xml, definition files) reads back field for field', () => {
    fc.assert(
      fc.property(
        identifier.filter((n) => !['active', 'default', 'system', 'basic'].includes(n.toLowerCase())),
        versionText,
        fc.boolean(),
        xmlishText,
        fc.array(dependency, { maxLength: 4 }),
        fc.uniqueArray(reference, { maxLength: 4, selector: (r) => r.logicalName.toLowerCase() }),
        fc.uniqueArray(variable, { maxLength: 4, selector: (v) => v.schemaName.toLowerCase() }),
        (uniqueName, version, managed, friendlyName, deps, refs, vars) => {
          const zip = buildSolutionZip({
            uniqueName,
            version,
            managed,
            friendlyName,
            publisherUniqueName: 'contoso',
            missingDependencies: deps,
            connectionReferences: refs,
            environmentVariables: vars,
          });
          const read = readSolutionContents(zip, 'a.zip');
          if (!read.ok) throw new Error(JSON.stringify(read.problems));
          const c = read.value;
          expect([c.uniqueName, c.versionText, formatVersion(c.version), c.managed, c.friendlyName]).toEqual([
            uniqueName,
            version,
            version.split('.').map(Number).join('.'),
            managed,
            friendlyName,
          ]);
          expect(c.publisherUniqueName).toBe('contoso');
          const expectedDeps = new Map<string, string[]>();
          for (const d of deps) {
            if (['active', 'default', 'system', 'basic', uniqueName.toLowerCase()].includes(d.solution.toLowerCase()))
              continue;
            const list = expectedDeps.get(d.solution.toLowerCase()) ?? [];
            if (!list.includes(d.schemaName!)) list.push(d.schemaName!);
            expectedDeps.set(d.solution.toLowerCase(), list);
          }
          expect(new Map(c.dependencies.map((d) => [d.solution.toLowerCase(), d.components]))).toEqual(expectedDeps);
          expect(c.connectionReferences.map((r) => [r.logicalName, r.displayName])).toEqual(
            refs.map((r) => [r.logicalName, r.displayName]),
          );
          const byName = new Map(c.environmentVariables.map((v) => [v.schemaName, v]));
          expect(byName.size).toBe(vars.length);
          for (const v of vars) {
            expect(byName.get(v.schemaName)).toEqual({
              schemaName: v.schemaName,
              type: typeNames[types.indexOf(v.type!)],
              isRequired: v.isRequired,
              displayName: v.schemaName,
              ...(v.defaultValue !== undefined ? { defaultValue: v.defaultValue } : {}),
            });
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  test('a dependency named several times keeps the highest minimum version and every component', () => {
    const zip = buildSolutionZip({
      uniqueName: 'contoso_App',
      version: '1.0.0.0',
      missingDependencies: [
        { solution: 'contoso_Base', version: '1.2.0.0', schemaName: 'a' },
        { solution: 'contoso_Base', version: '1.10.0.0', schemaName: 'b' },
        { solution: 'Active', schemaName: 'c' },
      ],
    });
    const read = readSolutionContents(zip, 'app.zip');
    expect(read.ok && read.value.dependencies).toEqual([
      { solution: 'contoso_Base', minVersion: [1, 10, 0, 0], components: ['a', 'b'] },
    ]);
  });

  test('bad input is a problem naming the file, never a throw', () => {
    const problems = (zip: Uint8Array) => {
      const read = readSolutionContents(zip, 'drop/contoso.zip');
      if (read.ok) throw new Error('expected problems');
      return read.problems;
    };
    expect(problems(buildSolutionZip({ uniqueName: 'x', corrupt: 'notZip' }))[0]).toMatchObject({
      code: 'SolutionZipUnreadable',
      file: 'drop/contoso.zip',
    });
    expect(problems(buildSolutionZip({ uniqueName: 'x', corrupt: 'noSolutionXml' }))[0]!.message).toBe(
      'drop/contoso.zip has no solution.xml at its root: it is not a solution package.',
    );
    expect(problems(buildSolutionZip({ uniqueName: 'x', corrupt: 'badXml' }))[0]).toMatchObject({
      code: 'BadSolutionXml',
      file: 'drop/contoso.zip/solution.xml',
    });
    const badVersion = problems(buildSolutionZip({ uniqueName: 'contoso_Core', version: '1.0.0' }))[0]!;
    expect(badVersion).toMatchObject({ code: 'BadSolutionVersion', item: 'contoso_Core' });
    expect(badVersion.message).toContain("'1.0.0'");
    const badType = zipSync({
      'solution.xml': strToU8(
        '<ImportExportXml><SolutionManifest><UniqueName>s</UniqueName><Version>1.0.0.0</Version><Managed>1</Managed></SolutionManifest></ImportExportXml>',
      ),
      'environmentvariabledefinitions/s_x/environmentvariabledefinition.xml': strToU8(
        '<environmentvariabledefinition schemaname="s_x"><type>7</type></environmentvariabledefinition>',
      ),
    });
    expect(problems(badType)[0]).toMatchObject({ code: 'BadSolutionXml', item: 's_x' });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(readSolutionContents(bytes, 'f.zip').ok).toBe(false);
      }),
    );
  });

  test('arbitrary solution.xml and customizations.xml text never throws', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        readSolutionXml(text);
        readCustomizationsXml(text);
        readSolutionXml(`<ImportExportXml><SolutionManifest>${text}</SolutionManifest></ImportExportXml>`);
      }),
    );
  });

  test('missing manifest elements are named; older customizations.xml layouts with child elements are read', () => {
    const read = readSolutionXml(
      '<ImportExportXml><SolutionManifest><Managed>2</Managed></SolutionManifest></ImportExportXml>',
      'p.zip/solution.xml',
    );
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.problems.map((p) => p.item)).toEqual(['UniqueName', 'Version', 'Managed']);
    const custom = readCustomizationsXml(
      '<ImportExportXml><connectionreferences><connectionreference><connectionreferencelogicalname>c_one</connectionreferencelogicalname></connectionreference></connectionreferences>' +
        '<environmentvariabledefinitions><environmentvariabledefinition><schemaname>c_var</schemaname><type>100000001</type><defaultvalue>4</defaultvalue></environmentvariabledefinition></environmentvariabledefinitions></ImportExportXml>',
    );
    expect(custom).toEqual({
      ok: true,
      value: {
        connectionReferences: [{ logicalName: 'c_one' }],
        environmentVariables: [{ schemaName: 'c_var', type: 'Number', defaultValue: '4', isRequired: false }],
      },
    });
  });

  test('customizations.xml: only the two sections are parsed, wherever they are and however many', () => {
    // Forms and views elsewhere are Dataverse's to check: a broken element there does not hide the references.
    const read = readCustomizationsXml(
      '<ImportExportXml><Entities><Entity><broken></Entity></Entities>' +
        '<connectionreferences><connectionreference connectionreferencelogicalname="c_one" /></connectionreferences>' +
        '<connectionreferences><connectionreference connectionreferencelogicalname="c_two" /></connectionreferences>' +
        '<environmentvariabledefinitions /></ImportExportXml>',
    );
    expect(read.ok && read.value.connectionReferences.map((r) => r.logicalName)).toEqual(['c_one', 'c_two']);
    const broken = readCustomizationsXml(
      '<ImportExportXml><connectionreferences><connectionreference connectionreferencelogicalname="c_one"></connectionreferences></ImportExportXml>',
      'a.zip/customizations.xml',
    );
    expect(broken).toMatchObject({
      ok: false,
      problems: [{ code: 'BadSolutionXml', file: 'a.zip/customizations.xml' }],
    });
    if (!broken.ok)
      expect(broken.problems[0]!.message).toMatch(
        /^the <connectionreferences> or <environmentvariabledefinitions> section of a\.zip\/customizations\.xml is not well-formed XML/,
      );
    expect(readCustomizationsXml('<ImportExportXml><Entities /></ImportExportXml>')).toEqual({
      ok: true,
      value: { connectionReferences: [], environmentVariables: [] },
    });
  });
});
