/**
 * The status page (GET /api/ui) in real headless Chromium (playwright-core with the system browser, never a
 * downloaded one) against the local stack: upload a CSV with bad rows → the progress bar moves → the load ends
 * partially succeeded → error groups and failed rows show column and value → Retry starts a linked load.
 * Writes a screenshot of the load page to test/artifacts/. Needs `npm run build` first (dist/, dist/ui).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildSolutionZip } from '../../dev/emulator/solutions/solutionZip';
import type { LocalStack } from '../../dev/host/localStack';
import { accountsWithBadRows, startClientStack } from './cliStack';
import { repoRoot } from './hostTestKit';

jest.setTimeout(240_000);

let stack: LocalStack;
let browser: Browser;
let page: Page;
const artifacts = join(repoRoot, 'test', 'artifacts');
const pageErrors: string[] = [];

beforeAll(async () => {
  [stack, browser] = await Promise.all([
    startClientStack(),
    chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    }),
  ]);
  // Small chunks for this folder, so a 2,000-row file ends in 20 chunks and the bar has steps to show.
  await BlobServiceClient.fromConnectionString(stack.storage)
    .getContainerClient('incoming')
    .getBlockBlobClient('account/_profile.json')
    .upload('{"batchSize":100}', 17);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function progressOf(label: string): Promise<{ value: number; max: number }> {
  const bar = page.getByRole('progressbar', { name: label });
  return { value: Number(await bar.getAttribute('value')), max: Number(await bar.getAttribute('max')) };
}

test('upload, watch, read the failures, retry', async () => {
  const response = await page.goto(`${stack.api}/ui`);
  expect(response?.status()).toBe(200);
  expect(response?.headers()['content-security-policy']).toMatch(/script-src 'nonce-/);
  await expect(page.getByRole('heading', { name: 'Dataverse loads and jobs' }).isVisible()).resolves.toBe(true);

  // Upload, by keyboard: fill the form, then Enter on the focused button.
  const { text, bad } = accountsWithBadRows(2000, 'UI');
  await page
    .getByLabel(/^File/)
    .setInputFiles({ name: 'accounts.csv', mimeType: 'text/csv', buffer: Buffer.from(text) });
  await page.getByLabel('Table').fill('account');
  await page.getByLabel('Operation').selectOption('create');
  await page.getByRole('button', { name: 'Start load' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/loads\/[0-9a-f-]{36}$/);
  const loadId = /#\/loads\/([0-9a-f-]{36})$/.exec(page.url())![1]!;

  // The bar moves: values strictly between 0 and the total are seen before the end.
  const seen = new Set<number>();
  const badge = page.locator('.state').first();
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const state = await badge.textContent().catch(() => null);
    const bar = await progressOf('Rows processed').catch(() => undefined);
    if (bar && bar.max > 1) seen.add(bar.value);
    if (state === 'partiallySucceeded' || state === 'failed' || state === 'succeeded') break;
    await page.waitForTimeout(250);
  }
  await expect(badge.textContent()).resolves.toBe('partiallySucceeded');
  const between = [...seen].filter((v) => v > 0 && v < 2000);
  expect(between.length).toBeGreaterThan(0);
  await expect(progressOf('Rows processed')).resolves.toEqual({ value: 2000, max: 2000 });
  await page.getByText(/2,000 \/ 2,000 rows/).waitFor();

  // Error groups: by code and column, with a count.
  const groups = page.getByRole('table').filter({ has: page.getByRole('columnheader', { name: 'Example' }) });
  await groups.getByRole('cell', { name: 'numberofemployees', exact: true }).waitFor();
  const conversion = groups.getByRole('row').filter({ hasText: 'numberofemployees' });
  // The groups read while the load ran stay on screen until the read after its end answers: wait for the final count.
  await conversion.getByRole('cell', { name: String(bad / 2), exact: true }).waitFor({ timeout: 15_000 });
  await expect(conversion.getByRole('cell').nth(2).textContent()).resolves.toBe(String(bad / 2));
  await expect(groups.getByRole('row').filter({ hasText: 'parentaccountid' }).count()).resolves.toBe(1);

  // Failed rows: row, column and value; paged.
  const rows = page.getByRole('table').filter({ has: page.getByRole('columnheader', { name: 'Message' }) });
  const row3 = rows.getByRole('row').filter({ has: page.getByRole('cell', { name: '3', exact: true }) });
  await row3.first().waitFor();
  await expect(row3.first().getByRole('cell').nth(1).textContent()).resolves.toBe('numberofemployees');
  await expect(row3.first().getByRole('cell').nth(2).textContent()).resolves.toBe('n/a');
  const row13 = rows.getByRole('row').filter({ has: page.getByRole('cell', { name: '13', exact: true }) });
  await expect(row13.first().getByRole('cell').nth(1).textContent()).resolves.toBe('parentaccountid');
  await expect(row13.first().getByRole('cell').nth(4).textContent()).resolves.toMatch(/parentaccountid/);

  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'status-page-load.png'), fullPage: true });

  await page.getByRole('button', { name: 'Next' }).click();
  await rows.getByRole('cell', { name: '203', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Previous' }).click();
  await rows.getByRole('cell', { name: '3', exact: true }).waitFor();

  // The download link serves the failed-rows file.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download the failed rows' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/\.failed-rows\.csv$/);

  // Retry (keyboard): a new load, linked to the first.
  await page.getByRole('button', { name: 'Retry failed rows' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL((url) => /#\/loads\/[0-9a-f-]{36}$/.test(url.hash) && !url.hash.includes(loadId));
  await page.getByRole('link', { name: loadId }).waitFor();
  const retryId = /#\/loads\/([0-9a-f-]{36})$/.exec(page.url())![1]!;

  // The list: newest first, both loads there.
  await page.getByRole('link', { name: /All loads and jobs/ }).click();
  const listed = page.getByRole('table').getByRole('row');
  await listed.nth(1).waitFor();
  const hrefs = await Promise.all(
    (await page.getByRole('table').getByRole('link').all()).map((a) => a.getAttribute('href')),
  );
  expect(hrefs.indexOf(`#/loads/${retryId}`)).toBeLessThan(hrefs.indexOf(`#/loads/${loadId}`));
  expect(hrefs.indexOf(`#/loads/${retryId}`)).toBeGreaterThanOrEqual(0);
  expect(pageErrors).toEqual([]);
});

test('a job page shows the import log of a failed import', async () => {
  await page.goto(`${stack.api}/ui`);
  await page.getByLabel('Solution zip').setInputFiles({
    name: 'bad.zip',
    mimeType: 'application/zip',
    buffer: Buffer.from(buildSolutionZip({ uniqueName: 'ui_bad', missingDependencies: ['ui_missing_base'] })),
  });
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.waitForURL(/#\/imports\//);
  await page.locator('.state', { hasText: 'failed' }).waitFor({ timeout: 60_000 });
  await expect(page.getByRole('progressbar', { name: 'Job progress' }).getAttribute('value')).resolves.toBe('100');
  await expect(page.locator('pre').textContent()).resolves.toMatch(/ui_missing_base/);
  expect(pageErrors).toEqual([]);
});

test('an unknown load says so', async () => {
  await page.goto(`${stack.api}/ui#/loads/00000000-0000-0000-0000-000000000000`);
  await page
    .getByRole('alert')
    .filter({ hasText: /no load with id/ })
    .waitFor();
});
