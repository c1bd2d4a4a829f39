import fc from 'fast-check';
import { buildSolutionZip } from '../../../../dev/emulator/solutions/solutionZip';
import { readSolutionContents, type SolutionContents } from '../../../../shared/jobs/release/solutionContents';
import {
  checkDeploymentSettings,
  readDeploymentSettings,
  valueProblem,
} from '../../../../shared/jobs/release/settingsCheck';

function solution(): SolutionContents {
  const read = readSolutionContents(
    buildSolutionZip({
      uniqueName: 'contoso_App',
      managed: true,
      connectionReferences: [{ logicalName: 'contoso_sharedoffice365' }, { logicalName: 'contoso_dataverse' }],
      environmentVariables: [
        { schemaName: 'contoso_ApiUrl', type: 100000000, isRequired: true },
        { schemaName: 'contoso_Retries', type: 100000001, defaultValue: '3' },
        { schemaName: 'contoso_Enabled', type: 100000002 },
        { schemaName: 'contoso_Config', type: 100000003 },
        { schemaName: 'contoso_Secret', type: 100000005 },
      ],
    }),
    'app.zip',
  );
  if (!read.ok) throw new Error(read.problems[0]!.message);
  return read.value;
}

const settingsOf = (json: unknown) => {
  const read = readDeploymentSettings(JSON.stringify(json), 'settings/prod.json');
  if (!read.ok) throw new Error(read.problems[0]!.message);
  return read.value;
};

describe('deployment settings check', () => {
  test('a correct file has no problems', () => {
    const settings = settingsOf({
      EnvironmentVariables: [
        { SchemaName: 'contoso_ApiUrl', Value: 'https://api.contoso.com' },
        { SchemaName: 'contoso_Retries', Value: '' },
        { SchemaName: 'CONTOSO_ENABLED', Value: 'yes' },
        { SchemaName: 'contoso_Config', Value: '{"a":[1]}' },
      ],
      ConnectionReferences: [{ LogicalName: 'contoso_dataverse', ConnectionId: 'c1', ConnectorId: '/providers/x' }],
    });
    expect(checkDeploymentSettings(settings, solution(), 'settings/prod.json')).toEqual([]);
  });

  test('every problem is reported at once, each naming the file and the item', () => {
    const settings = settingsOf({
      EnvironmentVariables: [
        { SchemaName: 'contoso_Retries', Value: 'three' },
        { SchemaName: 'contoso_Enabled', Value: 'maybe' },
        { SchemaName: 'contoso_Config', Value: '{oops' },
        { SchemaName: 'contoso_Secret', Value: 'plain-text' },
        { SchemaName: 'contoso_Unknown', Value: 'x' },
        { SchemaName: 'contoso_Retries', Value: '4' },
      ],
      ConnectionReferences: [{ LogicalName: 'contoso_sharepoint', ConnectionId: 'c2' }],
    });
    const problems = checkDeploymentSettings(settings, solution(), 'settings/prod.json');
    expect(problems.map((p) => [p.code, p.item])).toEqual([
      ['UnknownConnectionReference', 'contoso_sharepoint'],
      ['EnvironmentVariableBadValue', 'contoso_Retries'],
      ['EnvironmentVariableBadValue', 'contoso_Enabled'],
      ['EnvironmentVariableBadValue', 'contoso_Config'],
      ['EnvironmentVariableBadValue', 'contoso_Secret'],
      ['UnknownEnvironmentVariable', 'contoso_Unknown'],
      ['SettingsDuplicateItem', 'contoso_Retries'],
      ['EnvironmentVariableMissingValue', 'contoso_ApiUrl'],
    ]);
    for (const p of problems) {
      expect(p.file).toBe('settings/prod.json');
      expect(p.message).toContain('settings/prod.json');
      expect(p.message).toContain(p.item);
    }
    expect(problems[0]!.message).toContain('(it has: contoso_sharedoffice365, contoso_dataverse)');
    expect(problems[1]!.message).toContain("is not a number: the variable's type is Number");
  });

  test('a required variable with a value in the target needs none in the settings', () => {
    const problems = checkDeploymentSettings(settingsOf({}), solution(), 's.json', new Set(['CONTOSO_APIURL']));
    expect(problems).toEqual([]);
  });

  test('not JSON, or not the settings shape: rejected naming the file and the entry', () => {
    const notJson = readDeploymentSettings('{ "EnvironmentVariables": [', 'prod.json');
    expect(notJson).toMatchObject({ ok: false, problems: [{ code: 'SettingsNotJson', file: 'prod.json' }] });
    const badShape = readDeploymentSettings(
      JSON.stringify({
        EnvironmentVariables: [{ SchemaName: 'contoso_Retries', Value: 3 }],
        ConnectionReferences: [{}],
      }),
      'prod.json',
    );
    expect(badShape.ok).toBe(false);
    if (!badShape.ok) {
      expect(badShape.problems.map((p) => p.code)).toEqual([
        'SettingsBadShape',
        'SettingsBadShape',
        'SettingsBadShape',
      ]);
      expect(badShape.problems[0]!.message).toMatch(
        /^prod\.json: EnvironmentVariables\.0\.Value \(contoso_Retries\): /,
      );
      expect(badShape.problems[0]!.item).toBe('contoso_Retries');
    }
    expect(readDeploymentSettings(new TextEncoder().encode('\uFEFF{}'), 'bom.json').ok).toBe(true);
    fc.assert(
      fc.property(fc.string(), (text) => {
        readDeploymentSettings(text, 'x.json');
      }),
    );
  });

  test('value types: numbers, Booleans, JSON and Key Vault references', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        expect(valueProblem('Number', String(n))).toBeUndefined();
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(valueProblem('JSON', JSON.stringify(v))).toBeUndefined();
      }),
    );
    for (const bad of ['', 'NaN', 'Infinity', '1,5', '0x10', '1e999'])
      expect(valueProblem('Number', bad)).toBeDefined();
    for (const good of ['Yes', 'no', 'TRUE', 'false']) expect(valueProblem('Boolean', good)).toBeUndefined();
    expect(valueProblem('Boolean', '1')).toBeDefined();
    expect(
      valueProblem(
        'Secret',
        '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/secrets/api',
      ),
    ).toBeUndefined();
    expect(valueProblem('String', '')).toBeUndefined();
  });
});
