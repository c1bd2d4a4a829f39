/**
 * The status page's plan page in real headless Chromium against the local stack: a plan (a zip of accounts.csv and
 * contacts.csv whose `parentcustomerid@account` names accounts by accountnumber) posted to /api/plans → the list
 * links to `#/plans/<id>` → the page shows the order (accounts, then contacts, and why), both tables' loads with
 * their counts and links to their load pages, and the summed counts once it ends. Needs `npm run build` first.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { chromium, type Browser, type Page } from 'playwright-core';
import { z } from 'zod';
import type { LocalStack } from '../../dev/host/localStack';
import { startClientStack } from './cliStack';
import { repoRoot } from './hostTestKit';

jest.setTimeout(240_000);

let stack: LocalStack;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  [stack, browser] = await Promise.all([
    startClientStack(),
    chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    }),
  ]);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const accounts = 30;
const contacts = 40;
const csv = (rows: string[][]) => strToU8(rows.map((r) => r.join(',')).join('\r\n') + '\r\n');
/** Contacts first in the zip: the order comes from the lookups, not from the files' order. */
const planZip = () =>
  Buffer.from(
    zipSync({
      'contacts.csv': csv([
        ['lastname', 'emailaddress1', 'parentcustomerid@account'],
        ...Array.from({ length: contacts }, (_, i) => [`Contact ${i}`, `ui${i}@example.com`, `UIP-${i % accounts}`]),
      ]),
      'accounts.csv': csv([
        ['accountnumber', 'name'],
        ...Array.from({ length: accounts }, (_, i) => [`UIP-${i}`, `Plan account ${i}`]),
      ]),
    }),
  );

const planJson = z.looseObject({
  status: z.string(),
  tables: z.array(z.looseObject({ table: z.string(), loadId: z.string() })),
});

test('the list links to a plan; its page shows the order and each table with a link to its load', async () => {
  const response = await fetch(`${stack.api}/plans`, {
    method: 'POST',
    headers: { 'content-type': 'application/zip' },
    body: planZip(),
  });
  expect(response.status).toBe(202);
  const { id } = z.object({ id: z.string() }).parse(await response.json());

  await page.goto(`${stack.api}/ui`);
  const link = page.locator(`a[href="#/plans/${id}"]`);
  await link.waitFor();
  const listed = link.locator('xpath=ancestor::tr');
  await expect(listed.getByRole('cell').nth(1).textContent()).resolves.toBe('plan');
  // While it runs (it was just posted: nearly always), its bar sums its tables' rows.
  if ((await listed.locator('.state').textContent()) !== 'succeeded')
    await listed.getByRole('progressbar', { name: `Progress of plan ${id}` }).waitFor();
  await link.click();
  await page.waitForURL((url) => url.hash === `#/plans/${id}`);
  await page.getByRole('heading', { level: 1, name: /^Plan / }).waitFor();

  // It refreshes while it runs, until the plan's own badge (in the live region) says it ended.
  const planState = page.locator('div[aria-live="polite"] .state');
  await planState.filter({ hasText: /^succeeded$/ }).waitFor({ timeout: 120_000 });
  await expect(page.getByRole('progressbar', { name: 'Rows processed' }).getAttribute('value')).resolves.toBe(
    String(accounts + contacts),
  );
  await page.getByText(`${accounts + contacts} / ${accounts + contacts} rows`).waitFor();

  // The order: accounts in stage 1, contacts in stage 2 because of their parentcustomerid.
  const order = page.getByRole('table', { name: /^Stages/ });
  const stageRows = order.getByRole('row');
  await expect(stageRows.count()).resolves.toBe(3);
  await expect(stageRows.nth(1).getByRole('rowheader').textContent()).resolves.toBe('1');
  await expect(stageRows.nth(1).getByRole('cell').first().textContent()).resolves.toBe('account');
  await expect(stageRows.nth(2).getByRole('rowheader').textContent()).resolves.toBe('2');
  await expect(stageRows.nth(2).getByRole('cell').first().textContent()).resolves.toBe('contact');
  await expect(stageRows.nth(2).getByRole('cell').nth(1).textContent()).resolves.toMatch(/parentcustomerid/);
  await page.getByText('No lookups wait for a second pass.').waitFor();

  // One row per table: its load's status, counts, and a link to the load's page.
  const plan = planJson.parse(await (await fetch(`${stack.api}/plans/${id}`)).json());
  expect(plan.status).toBe('succeeded');
  const tables = page.getByRole('table', { name: /^One load per table/ });
  for (const [table, rows] of [
    ['account', accounts],
    ['contact', contacts],
  ] as const) {
    const loadId = plan.tables.find((t) => t.table === table)!.loadId;
    const row = tables.getByRole('row').filter({ has: page.getByRole('rowheader', { name: table, exact: true }) });
    const cells = row.getByRole('cell');
    await expect(cells.nth(2).textContent()).resolves.toBe('succeeded');
    await expect(cells.nth(3).textContent()).resolves.toBe(String(rows));
    await expect(cells.nth(4).textContent()).resolves.toBe(String(rows));
    await expect(cells.nth(5).textContent()).resolves.toBe('0');
    await expect(row.getByRole('link', { name: loadId }).getAttribute('href')).resolves.toBe(`#/loads/${loadId}`);
  }

  mkdirSync(join(repoRoot, 'test', 'artifacts'), { recursive: true });
  await page.screenshot({ path: join(repoRoot, 'test', 'artifacts', 'status-page-plan.png'), fullPage: true });

  // The contacts' link opens their load's page.
  const contactLoad = plan.tables.find((t) => t.table === 'contact')!.loadId;
  await tables.getByRole('link', { name: contactLoad }).click();
  await page.waitForURL((url) => url.hash === `#/loads/${contactLoad}`);
  await page.getByRole('heading', { level: 1, name: /^Load contact/ }).waitFor();
  expect(pageErrors).toEqual([]);
});

test('an unknown plan says so', async () => {
  await page.goto(`${stack.api}/ui#/plans/00000000-0000-0000-0000-000000000000`);
  await page
    .getByRole('alert')
    .filter({ hasText: /no plan with id/ })
    .waitFor();
});
