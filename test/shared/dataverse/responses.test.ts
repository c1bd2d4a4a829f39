/** Single-call responses the client can receive, fed verbatim from the fixtures over real HTTP. */
import { expect } from '@jest/globals';
import {
  createDataverseClient,
  DataverseError,
  faultFromResponse,
  idFromEntityUri,
  type DataverseClient,
} from '../../../shared/dataverse';
import {
  CountingTokenSource,
  dataverseFixture,
  json,
  replayFixture,
  startTestDataverse,
  VirtualClock,
  type TestDataverse,
} from './testDataverse';

let server: TestDataverse;
beforeEach(async () => {
  server = await startTestDataverse(() => json(200, {}));
});
afterEach(() => server.close());
const client = (): DataverseClient =>
  createDataverseClient({
    webApiUrl: server.webApiUrl,
    accessTokenSource: new CountingTokenSource(),
    clock: new VirtualClock(),
  });

test('create-basic: 204 with OData-EntityId, whose GUID is the record id', async () => {
  const created = replayFixture('create-basic.response.http');
  const response = await (async () => {
    server.handle = () => created;
    return client().send({ method: 'POST', path: 'accounts', body: { name: 'Sample Account' } });
  })();
  expect(response.status).toBe(204);
  expect(response.headers['odata-entityid']).toBe(
    '[Organization URI]/api/data/v9.0/accounts(7eb682f1-ca75-e511-80d4-00155d2a68d1)',
  );
  expect(response.body).toBeUndefined();
  expect(idFromEntityUri(response.headers['odata-entityid'])).toBe('7eb682f1-ca75-e511-80d4-00155d2a68d1');
});

test('whoami (trailing spaces, no blank line before the body in the doc): parsed JSON body', async () => {
  server.handle = () => replayFixture('whoami.response.http');
  const response = await client().send({ method: 'GET', path: 'WhoAmI()' });
  expect(response.body).toMatchObject({
    BusinessUnitId: 'ded5a64f-f06d-e511-80d0-00155db07cb1',
    UserId: 'd96e9f55-f06d-e511-80d0-00155db07cb1',
    OrganizationId: '4faf1f34-f06d-e511-80d0-00155db07cb1',
  });
});

test('importsolutionasync: AsyncOperationId and ImportJobKey', async () => {
  server.handle = () => ({
    status: 200,
    headers: { 'Content-Type': 'application/json; odata.metadata=minimal' },
    body: dataverseFixture('importsolutionasync.response.json'),
  });
  const response = await client().send({
    method: 'POST',
    path: 'ImportSolutionAsync',
    body: { OverwriteUnmanagedCustomizations: false, PublishWorkflows: true },
  });
  expect(response.body).toMatchObject({
    AsyncOperationId: '310799b8-dc6c-ee11-9ae7-000d3aaae21d',
    ImportJobKey: '1b1fa80d-aa0f-4291-b60c-b0745304ce24',
  });
});

test('error-plugin-annotations: the documented JSON is malformed; reported as UnparseableBody with status and raw text', async () => {
  server.handle = () => replayFixture('error-plugin-annotations.response.http');
  const error = await client()
    .send({ method: 'POST', path: 'accounts', body: { name: 'Example Account' } })
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DataverseError);
  const dataverseError = error as DataverseError;
  expect(dataverseError.code).toBe('UnparseableBody');
  expect(dataverseError.status).toBe(400);
  expect(dataverseError.message).toContain('"code": "0x80040265"');
  expect(dataverseError.message).toContain('Entering MyClass plug-in.');
});

test('the same error with the comma restored: code, message and @Microsoft.PowerApps.CDS annotations', () => {
  const body = replayFixture('error-plugin-annotations.response.http').body!.replace(
    '\\r\\n\\r\\n"\n',
    '\\r\\n\\r\\n",\n',
  );
  const fault = faultFromResponse(400, { 'x-ms-service-request-id': 'r-1' }, body);
  expect(fault).toMatchObject({ code: '0x80040265', message: 'Example Error Message.', status: 400, requestId: 'r-1' });
  expect(fault.annotations?.['@Microsoft.PowerApps.CDS.ErrorDetails.SubErrorCode']).toBe('12345');
});

test('create-duplicate-key: 412 with 0x80040237', async () => {
  server.handle = () => ({
    status: 412,
    headers: { 'Content-Type': 'application/json' },
    body: dataverseFixture('create-duplicate-key.response-body.json'),
  });
  await expect(client().send({ method: 'POST', path: 'publishers', body: {} })).rejects.toMatchObject({
    code: '0x80040237',
    status: 412,
    message: 'A record with matching key values already exists.',
  });
});

test('impersonation: CallerObjectId header on a single call', async () => {
  server.handle = () => replayFixture('impersonate-callerobjectid.response.http');
  await client().send(
    { method: 'POST', path: 'accounts', body: { name: 'x' } },
    { callerObjectId: 'e39c5d16-675b-48d1-8e67-667427e9c084' },
  );
  expect(server.requests[0]!.headers['callerobjectid']).toBe('e39c5d16-675b-48d1-8e67-667427e9c084');
});
