/**
 * Key literals (docs/design.md "Key literals"): the client writes a key percent-encoded in a request URL's path and
 * as Microsoft's examples show it in a body reference (`@odata.id`, `@odata.bind`); a key value holding one of
 * `/ # < > * % & : \ ? +` has no URL form at all. Checked against the emulator's parser, written apart from the
 * client, reading both forms the way OData says a server reads a URL (split into segments, percent-decode once).
 */
import fc from 'fast-check';
import { parseEntityReference, parseKey } from '../../../dev/emulator/records/entityReference';
import { upsertRows } from '../../../shared/dataverse/bulkMessages';
import { DataverseError } from '../../../shared/dataverse/dataverseError';
import {
  entityPath,
  entityReference,
  formatKey,
  toWebApiRequest,
  unaddressableKeyPart,
  type UpsertRequest,
} from '../../../shared/dataverse/organizationRequest';

const unaddressable = /[/#<>*%&:\\?+]/;
const keyText = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !unaddressable.test(s));

describe('key literals', () => {
  test("Microsoft's examples, exactly: body references unencoded, URL paths percent-encoded, quotes doubled", () => {
    const key = { firstname: 'Joe', emailaddress1: 'abc@example.com' };
    expect(entityReference('contacts', key)).toBe("contacts(firstname='Joe',emailaddress1='abc@example.com')");
    expect(entityPath('contacts', key)).toBe("contacts(firstname='Joe',emailaddress1='abc%40example.com')");
    expect(entityReference('accounts', { accountnumber: "O'Neil" })).toBe("accounts(accountnumber='O''Neil')");
    expect(entityReference('example_records', { example_key1: 2, example_key2: 2 })).toBe(
      'example_records(example_key1=2,example_key2=2)',
    );
    expect(formatKey('00000000-0000-0000-0000-000000000001', 'body')).toBe('(00000000-0000-0000-0000-000000000001)');
  });

  test('UpsertMultiple targets carry the key in @odata.id as the UpsertMultiple example does (the bug of issue 20)', () => {
    const [row] = upsertRows('contacts', 'contact', [
      { key: { emailaddress1: 'ada@example.com' }, attributes: { firstname: 'Ada', emailaddress1: 'x' } },
    ]);
    expect(row!.bulkTarget).toEqual({
      '@odata.type': 'Microsoft.Dynamics.CRM.contact',
      firstname: 'Ada',
      '@odata.id': "contacts(emailaddress1='ada@example.com')",
    });
    expect(toWebApiRequest(row!.request as UpsertRequest).path).toBe("contacts(emailaddress1='ada%40example.com')");
  });

  test('any key value a URL can carry reads back exactly from both forms (URL path: the server decodes it once)', () => {
    fc.assert(
      fc.property(keyText, keyText, (a, b) => {
        const key = { emailaddress1: a, lastname: b };
        const expected = { kind: 'key', values: new Map(Object.entries(key)) };
        expect(parseEntityReference(`/${entityReference('contacts', key)}`)).toEqual({
          entitySetName: 'contacts',
          key: expected,
        });
        const path = entityPath('contacts', key);
        expect(path).not.toMatch(/[\s"]/); // nothing a request line can't carry raw
        expect(parseKey(decodeURIComponent(path).slice('contacts('.length, -1))).toEqual(expected);
      }),
    );
  });

  test('a value with / # < > * % & : \\ ? + has no form: the client refuses to write it, naming column and character', () => {
    for (const character of '/#<>*%&:\\?+') {
      const key = { emailaddress1: `a${character}b@example.com` };
      expect(unaddressableKeyPart(key)).toEqual({ column: 'emailaddress1', character });
      for (const write of [() => entityPath('contacts', key), () => entityReference('contacts', key)]) {
        let error: unknown;
        try {
          write();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(DataverseError);
        expect(error).toMatchObject({ code: 'UnaddressableKey' });
        expect((error as Error).message).toContain(`'emailaddress1' contains '${character}'`);
      }
    }
    expect(unaddressableKeyPart({ n: 1, s: 'plain @ ok' })).toBeUndefined();
  });
});
