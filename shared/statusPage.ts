/**
 * The status page (GET /api/ui): one HTML document carrying its own script and styles, so it needs no other
 * route (an asset route would need the function key too) and nothing from a CDN. The script is the ui/ folder
 * bundled by esbuild at build time into dist/ui/app.js; a Content-Security-Policy with a per-answer nonce lets
 * only that script run, and lets the page talk only to this app.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError } from './errors';

/** dist/shared/statusPage.js → dist/ui/. */
export const defaultBundleDir = join(__dirname, '..', 'ui');

const cache = new Map<string, { script: string; styles: string }>();

function readBundle(dir: string): { script: string; styles: string } {
  const cached = cache.get(dir);
  if (cached) return cached;
  let bundle: { script: string; styles: string };
  try {
    bundle = { script: readFileSync(join(dir, 'app.js'), 'utf8'), styles: readFileSync(join(dir, 'app.css'), 'utf8') };
  } catch (error) {
    throw new ConfigurationError(
      'StatusPageNotBuilt',
      `the status page bundle is missing from ${dir} (npm run build makes it): ${(error as Error).message}`,
    );
  }
  cache.set(dir, bundle);
  return bundle;
}

/** `</script>` inside the bundle would end the element early; `<\/` means the same to JavaScript. */
const inlineSafe = (text: string) => text.replace(/<\/(script|style)/gi, '<\\/$1');

export function statusPage(options: { bundleDir?: string; nonce?: string } = {}): {
  html: string;
  headers: Record<string, string>;
} {
  const { script, styles } = readBundle(options.bundleDir ?? defaultBundleDir);
  const nonce = options.nonce ?? randomBytes(16).toString('base64');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dataverse loads</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${inlineSafe(styles)}</style>
</head>
<body>
<div id="app"><p>Loading…</p></div>
<noscript>The status page needs JavaScript; the same data is at /api/jobs and /api/loads/{id}.</noscript>
<script nonce="${nonce}">${inlineSafe(script)}</script>
</body>
</html>
`;
  return {
    html,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'content-security-policy': [
        "default-src 'none'",
        `script-src 'nonce-${nonce}'`,
        `style-src 'nonce-${nonce}'`,
        "connect-src 'self'",
        "img-src 'self' data:",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
      ].join('; '),
    },
  };
}
