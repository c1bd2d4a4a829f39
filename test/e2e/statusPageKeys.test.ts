/**
 * With keys enforced (FUNCTIONS_HOST_KEY set), the page and the CLI pass the function key on: the page takes it
 * from its own `?code=` and sends it with every call; `dvload --key` / DVLOAD_KEY sends it as x-functions-key.
 * Headless Chromium (system browser) against the local host. Needs `npm run build` first.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../dev/host/localStack';
import { repoRoot } from './hostTestKit';

jest.setTimeout(120_000);

const key = 'page-test-host-key';
let stack: LocalStack;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([
    startLocalStack({
      appDir: repoRoot,
      files: ['uiHttp', 'jobsHttp', 'loadsHttpGet', 'loadsHttpPost'].map((f) => `dist/functions/${f}.js`),
      port: 0,
      env: { FUNCTIONS_HOST_KEY: key },
    }),
    chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    }),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

test('GET /api/ui needs the key; with ?code= the page reads the API with it', async () => {
  expect((await fetch(`${stack.api}/ui`)).status).toBe(401);
  const page = await browser.newPage();
  const calls: { url: string; key?: string }[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/jobs')) calls.push({ url: r.url(), key: r.headers()['x-functions-key'] });
  });
  const response = await page.goto(`${stack.api}/ui?code=${key}`);
  expect(response?.status()).toBe(200);
  await page.getByText('No loads or jobs yet').waitFor();
  expect(calls[0]).toMatchObject({ key });
  expect(calls[0]!.url).not.toContain(key); // in the header, not in URLs the browser may keep
  await page.close();
});

function dvload(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'dist/cli/dvload.js'), ...args],
      { env: { ...process.env, DVLOAD_API: stack.api, DVLOAD_KEY: '', ...env } },
      (error, _stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stderr }),
    );
  });
}

test('dvload sends --key / DVLOAD_KEY; without it, says a key is wanted', async () => {
  const without = await dvload(['status'], {});
  expect(without.code).toBe(1);
  expect(without.stderr).toMatch(/wants a function key/);
  await expect(dvload(['--key', key, 'status'], {})).resolves.toMatchObject({ code: 0 });
  await expect(dvload(['status'], { DVLOAD_KEY: key })).resolves.toMatchObject({ code: 0 });
});
