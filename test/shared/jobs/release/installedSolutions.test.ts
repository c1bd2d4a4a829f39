import {
  describeUpgradeState,
  installedSolutionsQuery,
  readInstalledSolutions,
  targetStateOf,
} from '../../../../shared/jobs/release/installedSolutions';

describe('installed solutions', () => {
  test('one query finds the solutions and their holding solutions; quotes in names are doubled', () => {
    const query = installedSolutionsQuery(['contoso_Core', "o'brien", 'CONTOSO_core']);
    const [path, params] = query.split('?');
    expect(path).toBe('solutions');
    const search = new URLSearchParams(params);
    expect(search.get('$select')).toBe(
      'solutionid,uniquename,friendlyname,version,ismanaged,_parentsolutionid_value,installedon',
    );
    expect(search.get('$filter')).toBe(
      "uniquename eq 'CONTOSO_core' or uniquename eq 'CONTOSO_core_Upgrade' or uniquename eq 'o''brien' or uniquename eq 'o''brien_Upgrade'",
    );
  });

  test('the answer is checked with zod: a row without version or with a bad one names the field', () => {
    const bad = readInstalledSolutions({
      value: [{ solutionid: 'x', uniquename: 'a', version: 'one', ismanaged: true }],
    });
    expect(bad).toMatchObject({ ok: false, problems: [{ code: 'BadSolutionsResponse' }] });
    if (!bad.ok) expect(bad.problems[0]!.message).toContain('value.0.version');
    expect(readInstalledSolutions({ error: { code: '0x0' } }).ok).toBe(false);
    expect(readInstalledSolutions('nope').ok).toBe(false);
  });

  test('a holding solution next to its base is a half-done upgrade; alone it is a holding solution without base', () => {
    const read = readInstalledSolutions({
      '@odata.context': 'x',
      value: [
        {
          solutionid: '1',
          uniquename: 'contoso_Core',
          version: '1.0.0.0',
          ismanaged: true,
          _parentsolutionid_value: null,
        },
        {
          solutionid: '2',
          uniquename: 'contoso_Core_Upgrade',
          version: '2.0.0.0',
          ismanaged: true,
          _parentsolutionid_value: '1',
        },
        { solutionid: '3', uniquename: 'other_Upgrade', version: '1.0', ismanaged: true },
      ],
    });
    if (!read.ok) throw new Error('expected ok');
    const core = targetStateOf(read.value, 'CONTOSO_CORE');
    expect(core.upgrade.kind).toBe('halfDone');
    expect(describeUpgradeState(core)).toContain(
      'holding solution contoso_Core_Upgrade 2.0.0.0 is installed next to contoso_Core 1.0.0.0',
    );
    expect(targetStateOf(read.value, 'other').upgrade.kind).toBe('holdingWithoutBase');
    const absent = targetStateOf(read.value, 'missing');
    expect([absent.installed, absent.upgrade.kind, describeUpgradeState(absent)]).toEqual([
      undefined,
      'none',
      'missing is not installed.',
    ]);
  });
});
