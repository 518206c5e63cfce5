import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importAmiFile } from '../../src/flows/ami/import-ami.js';
import { createUser } from '../../src/infra/store/users-repo.js';
import { launchBrowser, logIn, pageReady, screenshot, watchedPage } from '../helpers/browser.js';
import { availableDialects } from '../helpers/databases.js';
import { startApi } from '../helpers/api.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * The usage page in Debian's Chromium: a CSR logs in, enters a meter, sees a chart per
 * register with the estimated intervals marked, and nothing is fetched from outside the gateway.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;

describe('usage chart in the web console', () => {
  let gw: TestGateway;
  let api: Awaited<ReturnType<typeof startApi>>;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    gw = await testGateway(sqlite, { label: 'console', accounts: 200, routes: 2 });
    await importAmiFile({ ...gw.ctx, db: gw.ctx.store.db }, path.resolve('test/fixtures/ami/cmep-dst.csv'));
    api = await startApi(gw.ctx);
    base = api.base;
    await createUser(
      gw.ctx.store.db,
      { username: 'maria', role: 'csr', password: 'correct horse battery' },
      gw.ctx.clock(),
    );
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await gw?.close();
  });

  it('charts a meter’s intervals with the estimated ones marked, loading only from the gateway', async () => {
    const { page, outside, errors } = await watchedPage(browser, base);
    await logIn(page, base, 'maria', 'correct horse battery', 'usage.html');
    await page.waitForURL(/\/console\/usage\.html$/);
    await pageReady(page);
    await page.fill('#id', 'E0000003');
    await page.fill('#from', '2026-03-09');
    await page.fill('#to', '2026-03-09');
    await page.selectOption('#grain', 'interval');
    await page.click('button[type=submit]');
    await page.waitForSelector('.register canvas');
    expect(await page.textContent('.register h2')).toMatch(/^E0000003 register 1: [\d.]+ KWH over 96 intervals$/);
    expect(await page.getAttribute('.legend-estimated', 'data-estimated')).toBe('3');
    expect(await page.textContent('.legend-estimated')).toBe('3 intervals are estimated (orange)');
    expect(await page.textContent('.u-legend')).toMatch(/estimated \(KWH\)/);
    expect(await page.textContent('#status')).toBe('1 register(s), times in America/Chicago');
    // Times are the utility's, not the browser's (UTC here): the first interval is at midnight.
    await page.hover('.u-over', { position: { x: 1, y: 20 } });
    expect(await page.locator('.u-legend .u-series').first().textContent()).toBe('Time2026-03-09 12:00am');

    // Days: the spring-forward day is one point like the others.
    await page.fill('#from', '2026-03-07');
    await page.selectOption('#grain', 'day');
    await page.click('button[type=submit]');
    // The page's CSP forbids eval, so waits go through locators, not page functions.
    await page.locator('.register h2', { hasText: 'over 3 days' }).waitFor();
    expect(await page.getAttribute('.legend-estimated', 'data-estimated')).toBe('1');
    await screenshot(page, 'usage');
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('says what is wrong instead of drawing nothing', async () => {
    const { page } = await watchedPage(browser, base);
    // No session: the page sends the CSR to log in, and back to the page afterwards.
    await page.goto(`${base}/console/usage.html?id=E0000003`);
    await page.waitForURL(/login\.html\?next=usage\.html/);
    await pageReady(page);
    await page.fill('#username', 'maria');
    await page.fill('#password', 'wrong password');
    await page.click('button[type=submit]');
    await page.locator('#status.error').waitFor();
    expect(await page.textContent('#status')).toBe('wrong username or password');
    await page.fill('#password', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/console\/usage\.html\?id=E0000003$/);
    await pageReady(page);
    await page.fill('#id', 'NOPE');
    await page.click('button[type=submit]');
    await page.locator('#status', { hasText: 'not found' }).waitFor();
    expect(await page.textContent('#status')).toMatch(/meter 'NOPE' not found/);
  });
});
