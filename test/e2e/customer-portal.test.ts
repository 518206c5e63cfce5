import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoUsage, type DemoUsagePlan } from '../../src/flows/ami/demo-usage.js';
import { checkUsageAlerts } from '../../src/flows/ami/usage-alerts.js';
import { registerClient } from '../../src/flows/portal/connect-my-data.js';
import { createUser } from '../../src/infra/store/users-repo.js';
import { launchBrowser, logIn, pageReady, screenshot, watchedPage, type WatchedPage } from '../helpers/browser.js';
import { availableDialects } from '../helpers/databases.js';
import { startApi } from '../helpers/api.js';
import { NOW, testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Issue 21's walk-through in Debian's Chromium. A CSR on a high-bill call finds the customer by
 * address, opens the account page, sees the read history chart, the leak alert and the bill
 * explainer, and sends a portal invitation. The customer registers with the code on a phone,
 * sees the leak in plain words and their hourly usage, downloads Green Button XML, and an
 * account number that is not theirs in the URL shows nothing of that account.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;

describe('the customer side in the browser', () => {
  let gw: TestGateway;
  let api: Awaited<ReturnType<typeof startApi>>;
  let base: string;
  let browser: Browser;
  let plan: DemoUsagePlan[];
  let code = '';

  beforeAll(async () => {
    gw = await testGateway(sqlite, { label: 'portal-e2e', accounts: 200, routes: 2 });
    plan = (await seedDemoUsage({ ...gw.ctx, db: gw.ctx.store.db }, { meters: 12, days: 40, seed: 11 })).plan;
    await checkUsageAlerts(gw.ctx, { now: NOW });
    api = await startApi(gw.ctx);
    base = api.base;
    await createUser(gw.ctx.store.db, { username: 'maria', role: 'csr', password: 'correct horse battery' }, NOW);
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await gw?.close();
  });

  const leak = () => plan.find((p) => p.story === 'leak')!;

  it('a CSR finds the customer by address and sees the history chart, the leak alert and the bill explainer', async () => {
    const account = (await gw.ctx.billing.account(leak().accountNo!))!;
    const { page, outside, errors } = await watchedPage(browser, base);
    await logIn(page, base, 'maria', 'correct horse battery', 'account.html');
    await page.waitForURL(/\/console\/account\.html$/);
    await pageReady(page);
    await page.fill('#q', account.address);
    await page.click('#search button[type=submit]');
    // One match opens the account; several are a list to pick from.
    const opened = page.locator('#head h2');
    const listed = page.locator(`#results a[href$="${encodeURIComponent(account.accountNo)}"]`);
    await opened.or(listed).first().waitFor();
    if (await listed.isVisible()) await listed.click();
    await page.locator('#head h2', { hasText: account.accountNo }).waitFor();
    expect(await page.textContent('#head h2')).toBe(`${account.customerName} · ${account.accountNo}`);
    await page.locator('#history-charts canvas').first().waitFor();
    await page.locator('#usage-charts canvas').first().waitFor();
    expect(await page.textContent('#alerts li[data-rule=continuous-flow]')).toMatch(
      /: water has run for \d+ hours without a break: check for a leak \(since /,
    );
    expect(await page.locator('#explain li').first().textContent()).toMatch(/^This period: [\d,]+ gal over \d+ days/);
    expect(await page.textContent('#explain')).toMatch(/Estimated charge \$[\d.]+/);
    expect(await page.locator('#history tbody tr').count()).toBeGreaterThan(6);
    expect(await page.textContent('#exceptions')).toContain('ALERT_CONTINUOUS_FLOW');

    await page.click('#invite');
    await page.locator('#invite-code b.code').waitFor();
    code = (await page.textContent('#invite-code b.code'))!;
    expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    expect(await page.textContent('#invite-code')).toContain(`/portal/register.html?account=${account.accountNo}`);
    await screenshot(page, 'account-page');
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('the customer registers on a phone, sees the leak and hourly usage, downloads Green Button XML, and nothing else', async () => {
    expect(code).not.toBe('');
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      acceptDownloads: true,
      timezoneId: 'UTC',
    });
    const page = await context.newPage();
    const watched: WatchedPage = { page, outside: [], errors: [] };
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !/^(data|blob):/.test(r.url())) watched.outside.push(r.url());
    });
    page.on('pageerror', (e) => watched.errors.push(e.message));
    const accountNo = leak().accountNo!;
    await page.goto(`${base}/portal/register.html?account=${encodeURIComponent(accountNo)}`);
    await pageReady(page);
    expect(await page.inputValue('#account')).toBe(accountNo);
    await page.fill('#code', code);
    await page.fill('#name', 'Pat Customer');
    await page.fill('#username', 'pat');
    await page.fill('#password', 'a long enough password');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/portal\/index\.html$/);
    await pageReady(page);
    expect(await page.textContent('#who')).toBe('Pat Customer');
    expect(await page.textContent('.alert li[data-rule=continuous-flow]')).toMatch(
      /^Water has run for \d+ hours without a break: check for a leak\.$/,
    );
    expect(await page.textContent('.alert li[data-rule=night-flow]')).toMatch(/running toilet/);
    await page.locator('#charts canvas').first().waitFor();
    await page.click('#by-hour');
    await page.locator('#charts .register p', { hasText: 'in 2 days' }).waitFor();
    await page.locator('#charts canvas').first().waitFor();
    await screenshot(page, 'portal-phone');

    await page.fill('#from', '2026-11-20');
    await page.fill('#to', '2026-11-22');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-espi')]);
    expect(download.suggestedFilename()).toBe(`usage-${accountNo}-2026-11-20-2026-11-22.xml`);
    const xml = readFileSync((await download.path())!, 'utf8');
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\s*<feed xmlns="http:\/\/www.w3.org\/2005\/Atom"/);
    // Hourly water: three days of 24 intervals.
    expect(xml.match(/<espi:IntervalReading>/g)).toHaveLength(72);

    // Another customer's account in the URL: nothing of it is shown, not even whether it exists.
    const other = plan.find((p) => p.accountNo !== accountNo)!;
    const theirs = (await gw.ctx.billing.account(other.accountNo!))!;
    await page.goto(`${base}/portal/index.html?account=${encodeURIComponent(other.accountNo!)}`);
    await pageReady(page);
    expect(await page.textContent('#status')).toBe(
      `Account ${other.accountNo} is not registered to you. Register it with the code on its bill.`,
    );
    expect(await page.isVisible('#home')).toBe(false);
    const text = (await page.textContent('body'))!;
    expect(text).not.toContain(theirs.customerName);
    expect(text).not.toContain(theirs.address);
    expect(watched.outside).toEqual([]);
    expect(watched.errors).toEqual([]);
    await context.close();
  });

  it('the customer grants a third party one account from the phone, and stops sharing it', async () => {
    const callback = 'http://127.0.0.1:9/callback';
    const scope = 'FB=1_3_4_5_13_14_39;IntervalDuration=3600';
    const app = await registerClient(
      gw.ctx,
      { name: 'Energy Helper', redirectUris: [callback], scopes: [scope] },
      'test',
    );
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // The third party's own site: the browser comes back to it with the code.
    await context.route('http://127.0.0.1:9/**', (route) => route.fulfill({ status: 200, body: 'thanks' }));
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: app.clientId,
      redirect_uri: callback,
      scope,
      state: 's-1',
    });
    await page.goto(`${base}/oauth/authorize?${q}`);
    // Not signed in on this phone yet: the login page, then back to the question.
    await page.waitForURL(/\/portal\/login\.html\?next=authorize\.html/);
    await pageReady(page);
    await page.fill('#username', 'pat');
    await page.fill('#password', 'a long enough password');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/portal\/authorize\.html/);
    await pageReady(page);
    expect(await page.textContent('#client')).toBe('Energy Helper');
    expect(await page.inputValue('#account')).toBe(leak().accountNo);
    await screenshot(page, 'portal-grant');
    await page.click('#allow');
    await page.waitForURL(/^http:\/\/127\.0\.0\.1:9\/callback\?/);
    const back = new URL(page.url());
    expect(back.searchParams.get('state')).toBe('s-1');
    const token = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: back.searchParams.get('code')!,
        redirect_uri: callback,
        client_id: app.clientId,
        client_secret: app.clientSecret,
      }).toString(),
    });
    const tokens = (await token.json()) as { access_token: string; resourceURI: string };
    const fetchBatch = () =>
      fetch(`${base}${tokens.resourceURI}`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect((await fetchBatch()).status).toBe(200);

    await page.goto(`${base}/portal/index.html`);
    await pageReady(page);
    const shared = page.locator('#connections li[data-connection]');
    expect(await shared.textContent()).toMatch(new RegExp(`^Energy Helper reads account ${leak().accountNo} `));
    await shared.locator('button').click();
    await page.locator('#connections li', { hasText: 'None.' }).waitFor();
    expect((await fetchBatch()).status).toBe(401);
    expect(errors).toEqual([]);
    await context.close();
  });
});
