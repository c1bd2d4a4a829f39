import {
  parseProfileJson,
  profileFromBlobMetadata,
  queryToBlobMetadata,
  resolveLoadProfile,
} from '../../../shared/ingestion/loadProfile';

describe('load profile', () => {
  test('defaults without a profile', () => {
    expect(resolveLoadProfile({})).toEqual({
      continueOnError: true,
      returnResponses: false,
      executionMode: 'auto',
      batchSize: 1000,
      dateFormat: 'iso',
      timeZone: 'UTC',
      emptyValues: 'skip',
      checkRequired: true,
      multiSelectSeparator: ';',
      images: 'auto',
    });
  });

  test('a full _profile.json is accepted', () => {
    const input = parseProfileJson(
      JSON.stringify({
        operation: 'upsert',
        alternateKey: 'account_accountnumber',
        columns: { 'Account Name': 'name', Notes: null },
        lookups: { Parent: { attribute: 'parentaccountid', table: 'account', by: 'accountnumber' } },
        continueOnError: false,
        returnResponses: true,
        bypassBusinessLogic: ['CustomSync', 'CustomAsync'],
        bypassCustomPluginExecution: true,
        suppressDuplicateDetection: false,
        callerObjectId: '0f8fad5b-d9cb-469f-a165-70867728950e',
        executionMode: 'bulk',
        batchSize: 500,
        delimiter: ';',
        dateFormat: 'DD/MM/YYYY',
        timeZone: '+02:00',
        choiceLabelLanguage: 1036,
        emptyValues: 'null',
        limits: { maxFieldBytes: 2048 },
      }),
    );
    const profile = resolveLoadProfile({ folderProfile: input });
    expect(profile).toMatchObject({
      operation: 'upsert',
      bypassBusinessLogic: 'CustomSync,CustomAsync',
      batchSize: 500,
      lookups: { Parent: { by: 'accountnumber' } },
    });
  });

  test('unknown keys are named, with suggestions', () => {
    expect(() => parseProfileJson('{"operaton":"create","continueOnErorr":true}')).toThrow(
      "_profile.json is invalid: unknown setting 'operaton' (did you mean 'operation'?); unknown setting 'continueOnErorr' (did you mean 'continueOnError'?)",
    );
    expect(() => parseProfileJson('{"lookups":{"P":{"tabel":"account"}}}')).toThrow(
      "unknown setting 'lookups.P.tabel' (did you mean 'table'?)",
    );
  });

  test('wrong values are named by path', () => {
    expect(() => parseProfileJson('{"operation":"merge","batchSize":5000}')).toThrow(/operation: .*; batchSize: /);
    expect(() => parseProfileJson('{"operation":')).toThrow('_profile.json is not valid JSON');
    expect(() => parseProfileJson('[1]')).toThrow('_profile.json is invalid');
  });

  test('blob metadata overrides the folder profile setting by setting', () => {
    const profile = resolveLoadProfile({
      folderProfile: { operation: 'create', batchSize: 100, continueOnError: false },
      blobMetadata: {
        operation: 'upsert',
        alternatekey: 'accountnumber',
        continueonerror: 'TRUE',
        delimiter: 'semicolon',
      },
    });
    expect(profile).toMatchObject({
      operation: 'upsert',
      alternateKey: 'accountnumber',
      batchSize: 100,
      continueOnError: true,
      delimiter: ';',
    });
  });

  test('blob metadata may carry a whole profile as JSON; unknown keys are errors', () => {
    expect(profileFromBlobMetadata({ loadprofile: '{"operation":"delete"}', returnresponses: 'false' })).toEqual({
      operation: 'delete',
      returnResponses: false,
    });
    expect(() => profileFromBlobMetadata({ operaton: 'create' })).toThrow(
      "the blob metadata has an unknown setting 'operaton' (did you mean 'operation'?)",
    );
    expect(() => profileFromBlobMetadata({ continueonerror: 'yes please' })).toThrow(
      'continueOnError must be true or false',
    );
  });

  test('query string of the HTTP API maps onto blob metadata', () => {
    expect(
      queryToBlobMetadata({
        operation: 'update',
        key: 'accountnumber',
        continueOnError: 'false',
        returnResponses: 'true',
      }),
    ).toEqual({
      operation: 'update',
      alternatekey: 'accountnumber',
      continueonerror: 'false',
      returnresponses: 'true',
    });
    expect(() => queryToBlobMetadata({ operation: 'merge' })).toThrow('the query string is invalid: operation');
    expect(() => queryToBlobMetadata({ contineOnError: 'true' })).toThrow(
      "unknown query parameter 'contineOnError' (did you mean 'continueOnError'?)",
    );
  });

  test('?profile= carries a whole profile: compact ASCII JSON in the metadata, the same value once read', () => {
    const profile = { operation: 'upsert', columns: { Société: 'name', Nº: null }, batchSize: 50 };
    const metadata = queryToBlobMetadata({ profile: JSON.stringify(profile, null, 2), operation: 'create' });
    expect(metadata.loadprofile).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(metadata.loadprofile!)).toEqual(profile);
    // The scalar parameters win over the profile's settings, as blob metadata does.
    expect(resolveLoadProfile({ blobMetadata: metadata })).toMatchObject({ ...profile, operation: 'create' });
    expect(() => queryToBlobMetadata({ profile: '{"operaton":"create"}' })).toThrow(
      "unknown setting 'operaton' (did you mean 'operation'?)",
    );
    expect(() => queryToBlobMetadata({ profile: '{not json' })).toThrow(/loadprofile/);
    expect(() => queryToBlobMetadata({ profile: JSON.stringify({ columns: { x: 'y'.repeat(5000) } }) })).toThrow(
      /over 4096: put the profile in incoming\/\{table\}\/_profile\.json/,
    );
  });
});
