import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Debian's Chromium through playwright-core, for the console's browser tests. Every page is
 * watched for requests that leave the gateway (there must be none: no CDN) and for errors.
 */
export const SCREENSHOTS = path.resolve('test/e2e/screenshots');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
}

export interface WatchedPage {
  page: Page;
  /** Requests to anywhere but the gateway. */
  outside: string[];
  /** Uncaught errors and console errors. */
  errors: string[];
}

export async function watchedPage(browser: Browser, base: string): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: { width: 1360, height: 900 },
    acceptDownloads: true,
    timezoneId: 'UTC',
  });
  const page = await context.newPage();
  const watched: WatchedPage = { page, outside: [], errors: [] };
  page.on('request', (req) => {
    if (!req.url().startsWith(base) && !req.url().startsWith('data:') && !req.url().startsWith('blob:'))
      watched.outside.push(req.url());
  });
  page.on('pageerror', (err) => watched.errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') watched.errors.push(msg.text());
  });
  return watched;
}

/** Logs in through the login page, as a person would. */
export async function logIn(page: Page, base: string, username: string, password: string, next = ''): Promise<void> {
  await page.goto(`${base}/console/login.html${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  await pageReady(page);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
}

/** A full-page screenshot under test/e2e/screenshots (not committed), to be looked at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Waits until the page's script has loaded its data and attached its handlers. */
export async function pageReady(page: Page): Promise<void> {
  await page.locator('body[data-ready]').waitFor();
}

/** A photo as a phone's camera gives one (a real JPEG, large, made by this browser): `text` on a dark ground. */
export async function cameraJpeg(page: Page, text: string, width = 1600, height = 1200): Promise<Buffer> {
  // A string, not a function: the tests are not type-checked against the DOM.
  const base64 = (await page.evaluate(`(() => {
    const c = document.createElement('canvas');
    c.width = ${width};
    c.height = ${height};
    const g = c.getContext('2d');
    g.fillStyle = '#203040';
    g.fillRect(0, 0, c.width, c.height);
    g.fillStyle = '#ffee00';
    g.font = 'bold ${Math.round(height / 5)}px monospace';
    g.fillText(${JSON.stringify(text)}, c.width / 6, c.height / 1.7);
    return c.toDataURL('image/jpeg', 0.95).split(',')[1];
  })()`)) as string;
  return Buffer.from(base64, 'base64');
}
