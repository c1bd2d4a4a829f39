import fc from 'fast-check';
import {
  formatKey,
  parseEntityReference,
  parseKey,
  splitSegments,
} from '../../../../dev/emulator/records/entityReference';
import { DataverseFault } from '../../../../dev/emulator/records/faults';

describe('resource paths and keys', () => {
  it('parses ids, single and multi-part keys, numbers, booleans and escaped quotes', () => {
    expect(parseKey('7EB682F1-CA75-E511-80D4-00155D2A68D1')).toEqual({
      kind: 'id',
      id: '7eb682f1-ca75-e511-80d4-00155d2a68d1',
    });
    expect(parseKey("accountnumber='O''Brien, (1)'")).toEqual({
      kind: 'key',
      values: new Map([['accountnumber', "O'Brien, (1)"]]),
    });
    expect(parseKey('example_key1=2, example_key2=-3.5')).toEqual({
      kind: 'key',
      values: new Map<string, unknown>([
        ['example_key1', 2],
        ['example_key2', -3.5],
      ]),
    });
    expect(parseKey('a=true,b=null')).toEqual({
      kind: 'key',
      values: new Map<string, unknown>([
        ['a', true],
        ['b', null],
      ]),
    });
    for (const bad of ["a='x", 'a=', "a='x' b=1", '=1', 'a=x y']) expect(() => parseKey(bad)).toThrow(DataverseFault);
  });

  it('splits paths on slashes outside quotes', () => {
    expect(splitSegments("contacts(emailaddress1='a/b')/parentcustomerid_account/$ref")).toEqual([
      "contacts(emailaddress1='a/b')",
      'parentcustomerid_account',
      '$ref',
    ]);
  });

  it('reads @odata.bind values in every form Dataverse accepts', () => {
    const id = '00000000-0000-0000-0000-000000000001';
    for (const v of [
      `/accounts(${id})`,
      `accounts(${id})`,
      `/api/data/v9.2/accounts(${id})`,
      `https://org.crm.dynamics.com/api/data/v9.0/accounts(${id})`,
    ]) {
      expect(parseEntityReference(v)).toEqual({ entitySetName: 'accounts', key: { kind: 'id', id } });
    }
    expect(parseEntityReference("/contacts(emailaddress1='x@y')")).toEqual({
      entitySetName: 'contacts',
      key: { kind: 'key', values: new Map([['emailaddress1', 'x@y']]) },
    });
    expect(parseEntityReference('/accounts')).toBeUndefined();
  });

  it('round-trips any key through formatKey and parseKey', () => {
    const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/);
    const value = fc.oneof(
      fc.string().filter((s) => !/[/#<>*%&:\\?+]/.test(s)),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(name, value), { minLength: 1, maxLength: 4, selector: ([k]) => k }),
        (pairs) => {
          const spec = { kind: 'key' as const, values: new Map(pairs) };
          expect(parseKey(formatKey(spec))).toEqual(spec);
        },
      ),
    );
  });
});
