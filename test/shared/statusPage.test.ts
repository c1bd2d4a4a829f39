import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statusPage } from '../../shared/statusPage';

function bundle(script: string, styles = 'body{}'): string {
  const dir = mkdtempSync(join(tmpdir(), 'ui-bundle-'));
  writeFileSync(join(dir, 'app.js'), script);
  writeFileSync(join(dir, 'app.css'), styles);
  return dir;
}

test('one self-contained document whose script and styles only run with the nonce of this answer', () => {
  const page = statusPage({ bundleDir: bundle('console.log(1)', 'h1{color:red}'), nonce: 'n0nce' });
  expect(page.html).toContain('<script nonce="n0nce">console.log(1)</script>');
  expect(page.html).toContain('<style nonce="n0nce">h1{color:red}</style>');
  expect(page.html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet/); // nothing fetched from elsewhere
  expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(page.headers['content-security-policy']).toBe(
    "default-src 'none'; script-src 'nonce-n0nce'; style-src 'nonce-n0nce'; connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  );
});

test('a fresh nonce per answer', () => {
  const dir = bundle('x');
  const a = statusPage({ bundleDir: dir }).headers['content-security-policy'];
  const b = statusPage({ bundleDir: dir }).headers['content-security-policy'];
  expect(a).not.toBe(b);
});

test('a bundle holding </script> cannot end the element early', () => {
  const page = statusPage({ bundleDir: bundle('var s="</script><img src=x>";', 'a::after{content:"</style>"}') });
  expect(page.html.match(/<\/script>/g)).toHaveLength(1);
  expect(page.html.match(/<\/style>/g)).toHaveLength(1);
  expect(page.html).toContain('var s="<\\/script><img src=x>";');
});

test('a missing bundle is a configuration error naming the build', () => {
  let thrown: unknown;
  try {
    statusPage({ bundleDir: join(tmpdir(), 'no-such-ui-bundle') });
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toMatchObject({ name: 'ConfigurationError', code: 'StatusPageNotBuilt' });
  expect((thrown as Error).message).toMatch(/no-such-ui-bundle \(npm run build makes it\)/);
});
