/** The host's HTTP conversions, pure: request → RpcHttp, Set-Cookie formatting, settings. */
import fc from 'fast-check';
import {
  defaultRequestBodySizeLimit,
  formatSetCookie,
  HostSettingError,
  httpTriggerMetadata,
  isFunctionDisabled,
  requestBodySizeLimit,
  toRpcHttpRequest,
} from '../../../dev/host/httpRpc';

describe('request → RpcHttp', () => {
  test('repeated query keys (case-insensitive) and headers are joined with commas in nullable maps; empty values kept', () => {
    const http = toRpcHttpRequest({
      method: 'GET',
      url: new URL('http://h/api/x?dupe=1&Dupe=2&e=&n=v'),
      headers: { 'x-a': ['1', '2'], host: ['h'] },
      params: { id: '7' },
    });
    expect(http.nullableQuery).toEqual({ dupe: { value: '1,2' }, e: { value: '' }, n: { value: 'v' } });
    expect(http.nullableHeaders).toEqual({ 'x-a': { value: '1,2' }, host: { value: 'h' } });
    expect(http.nullableParams).toEqual({ id: { value: '7' } });
    expect(http).not.toHaveProperty('body');
  });

  test('a body is sent only when there are bytes', () => {
    const base = { method: 'POST', url: new URL('http://h/'), headers: {}, params: {} };
    expect(toRpcHttpRequest({ ...base, body: Buffer.alloc(0) })).not.toHaveProperty('body');
    expect(toRpcHttpRequest({ ...base, body: Buffer.from('x') }).body).toEqual({ bytes: Buffer.from('x') });
  });

  test('any query survives as the comma-joined values of each key, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.string()), { maxLength: 6 }), (pairs) => {
        const url = new URL('http://h/');
        for (const [k, v] of pairs) url.searchParams.append(k, v);
        const query = toRpcHttpRequest({ method: 'GET', url, headers: {}, params: {} }).nullableQuery!;
        for (const key of ['a', 'b']) {
          const values = pairs.filter(([k]) => k === key).map(([, v]) => v);
          expect(query[key]?.value).toBe(values.length > 0 ? values.join(',') : undefined);
        }
      }),
    );
  });

  test('streaming trigger metadata: Headers and Query as JSON, route values as strings', () => {
    const meta = httpTriggerMetadata({ 'x-a': ['1', '2'] }, new URL('http://h/?q=1&q=2'), { id: '9' });
    expect(meta.id).toEqual({ string: '9' });
    expect(JSON.parse(meta.Headers!.json!)).toEqual({ 'x-a': '1,2' });
    expect(JSON.parse(meta.Query!.json!)).toEqual({ q: '1,2' });
  });
});

describe('Set-Cookie as ASP.NET Core writes it', () => {
  test('attribute order, path default, SameSite mapping, escaping', () => {
    expect(formatSetCookie({ name: 'a', value: 'x y', maxAge: { value: 200000 } })).toBe(
      'a=x%20y; max-age=200000; path=/',
    );
    expect(formatSetCookie({ name: 'b', value: "(!')*", sameSite: 'lax' })).toBe(
      'b=%28%21%27%29%2A; path=/; samesite=lax',
    );
    expect(formatSetCookie({ name: 'c', value: 'v', sameSite: 'none' })).toBe('c=v; path=/');
    expect(formatSetCookie({ name: 'd', value: 'v', sameSite: 'explicitnone', secure: { value: true } })).toBe(
      'd=v; path=/; secure; samesite=none',
    );
    expect(
      formatSetCookie({
        name: 'e',
        value: 'v',
        expires: { value: { seconds: 0 } },
        domain: { value: 'example.com' },
        path: { value: '/p' },
        httpOnly: { value: true },
        sameSite: 'strict',
      }),
    ).toBe('e=v; expires=Thu, 01 Jan 1970 00:00:00 GMT; domain=example.com; path=/p; samesite=strict; httponly');
  });
});

describe('settings', () => {
  test('FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: default 100 MiB, a whole number of bytes, else a clear error', () => {
    expect(requestBodySizeLimit({})).toBe(defaultRequestBodySizeLimit);
    expect(requestBodySizeLimit({ FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: '4294967296' })).toBe(4294967296);
    expect(() => requestBodySizeLimit({ FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: '10MB' })).toThrow(HostSettingError);
    expect(() => requestBodySizeLimit({ FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: '0' })).toThrow(
      /FUNCTIONS_REQUEST_BODY_SIZE_LIMIT/,
    );
  });

  test('AzureWebJobs.<name>.Disabled: true or 1, setting name case-insensitive', () => {
    expect(isFunctionDisabled('f', { 'AzureWebJobs.f.Disabled': 'true' })).toBe(true);
    expect(isFunctionDisabled('f', { 'azurewebjobs.F.disabled': '1' })).toBe(true);
    expect(isFunctionDisabled('f', { 'AzureWebJobs.f.Disabled': 'false' })).toBe(false);
    expect(isFunctionDisabled('f', { 'AzureWebJobs.g.Disabled': 'true' })).toBe(false);
  });
});
