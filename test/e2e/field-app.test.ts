import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/infra/store/tokens-repo.js';
import { createUser } from '../../src/infra/store/users-repo.js';
import { ALL_JOBS } from '../../jobs/index.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import { startApi } from '../helpers/api.js';
import { cameraJpeg, launchBrowser, logIn, pageReady, screenshot } from '../helpers/browser.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * The field app's shell on a phone (360×740, touch) in Debian's Chromium: a meter reader signs
 * in, the app installs its service worker, and with the network gone it still opens (from the
 * service worker), still knows who signed in (IndexedDB) and says it is offline and when it last
 * synced. A technician sees their open orders, most urgent first with the overdue marked, and
 * still sees them offline. A CSR is sent to the console. Chromium finds the app installable.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;
const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, timezoneId: 'America/Chicago' };

describe('the field app on a phone', () => {
  let gw: TestGateway;
  let api: Awaited<ReturnType<typeof startApi>>;
  let browser: Browser;
  let csr: string;

  beforeAll(async () => {
    gw = await testGateway(sqlite, { label: 'e2e_field', accounts: 60, routes: 1 });
    api = await startApi(gw.ctx);
    const db = gw.ctx.store.db;
    const now = gw.ctx.clock();
    await createUser(
      db,
      { username: 'rita', role: 'reader', password: 'meters all day', displayName: 'Rita Okafor' },
      now,
    );
    await createUser(db, { username: 'tom', role: 'tech', password: 'field work 2026', displayName: 'Tom Reyes' }, now);
    await createUser(db, { username: 'maria', role: 'csr', password: 'correct horse battery' }, now);
    // Two orders for Tom: one routine, one urgent and overdue.
    csr = await createToken(db, 'dispatch', 'csr', now);
    const meters = (await gw.ctx.billing.meterRegisters()).map((r) => String(r.meterId));
    for (const order of [
      { type: 'ReRead', meterId: meters[0], priority: 5, dueDate: '2026-11-30' },
      { type: 'TurnOff', meterId: meters[1], priority: 1, dueDate: '2026-11-20' },
    ]) {
      const made = await call(csr, 'POST', '/api/work-orders', order);
      await call(csr, 'POST', `/api/work-orders/${made.orderNo}/dispatch`, {
        version: made.version,
        technician: 'tom',
      });
    }
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await gw?.close();
  });

  async function call(token: string, method: string, path: string, body: unknown) {
    const res = await fetch(`${api.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as { orderNo: string; version: number };
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  async function signIn(context: BrowserContext, username: string, password: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${api.base}/field/`);
    await pageReady(page);
    await page.fill('#username', username);
    await page.fill('#password', password);
    await page.click('#login button[type=submit]');
    return page;
  }

  /** Until the service worker controls the page (it does from the first reload after it activated). */
  async function underServiceWorker(page: Page): Promise<void> {
    await page.evaluate('navigator.serviceWorker.ready.then(() => true)');
    await page.reload();
    await pageReady(page);
    expect(await page.evaluate('navigator.serviceWorker.controller !== null')).toBe(true);
  }

  it('signs a reader in, and opens offline from the service worker, still signed in', async () => {
    const context = await browser.newContext(PHONE);
    try {
      const page = await signIn(context, 'rita', 'meters all day');
      await page.locator('#who', { hasText: 'Rita Okafor · meter reader' }).waitFor();
      expect(await page.textContent('#net')).toBe('Online');
      await page.locator('#sync', { hasText: /^Nothing waiting to sync · last synced just now/ }).waitFor();
      await underServiceWorker(page);

      await context.setOffline(true);
      await page.reload();
      await pageReady(page);
      expect(await page.textContent('#net')).toBe('Offline');
      expect(await page.textContent('#who')).toBe('Rita Okafor · meter reader');
      expect(await page.textContent('#sync')).toMatch(/^Nothing waiting to sync · last synced /);
      // Closed and opened again with no network: the same.
      await page.close();
      const again = await context.newPage();
      await again.goto(`${api.base}/field/`);
      await pageReady(again);
      expect(await again.textContent('#who')).toBe('Rita Okafor · meter reader');
      await screenshot(again, 'field-offline-reader');
      // Back online, it reaches the gateway again by itself.
      await context.setOffline(false);
      await again.locator('#net', { hasText: 'Online' }).waitFor();
    } finally {
      await context.close();
    }
  });

  it("shows a technician's open orders, most urgent first, overdue marked, also offline", async () => {
    const context = await browser.newContext(PHONE);
    try {
      const page = await signIn(context, 'tom', 'field work 2026');
      await page.locator('#who', { hasText: 'Tom Reyes · technician' }).waitFor();
      const orders = page.locator('ul.orders li');
      await orders.first().waitFor();
      expect(await orders.count()).toBe(2);
      expect(await orders.nth(0).textContent()).toMatch(/^TurnOffoverdue/);
      expect(await orders.nth(0).getAttribute('class')).toBe('overdue');
      expect(await orders.nth(1).textContent()).toMatch(/^ReRead/);
      await screenshot(page, 'field-tech-orders');
      await underServiceWorker(page);
      await context.setOffline(true);
      await page.reload();
      await pageReady(page);
      expect(await page.locator('ul.orders li').count()).toBe(2);
      expect(await page.textContent('#net')).toBe('Offline');
    } finally {
      await context.close();
    }
  });

  it('works a TurnOff offline with its final read, sends every step once when back online, and billing gets it once', async () => {
    const context = await browser.newContext({
      ...PHONE,
      permissions: ['geolocation'],
      geolocation: { latitude: 41.8781, longitude: -87.6298 },
    });
    try {
      const page = await signIn(context, 'tom', 'field work 2026');
      await page.locator('ul.orders li').first().waitFor();
      await underServiceWorker(page);
      await context.setOffline(true);
      const turnOff = page.locator('ul.orders li', { hasText: 'TurnOff' });
      const orderNo = (await turnOff.getAttribute('data-order'))!;
      const step = async (label: string) => {
        await page.locator('ul.orders li', { hasText: 'TurnOff' }).click();
        await page.locator('#order-moves button', { hasText: label }).click();
      };
      await step('Accept');
      await page.locator('#sync', { hasText: /^1 change waiting to sync/ }).waitFor();
      await step('On site');
      await step('Complete');
      // What the type requires is asked for, and checked on the phone.
      await page.locator('#completion button[type=submit]').click();
      await page.locator('#completion-status', { hasText: 'Needed: final read' }).waitFor();
      await page.fill('#completion input[name=finalRead]', '32611');
      // A photo of the meter left off, as the phone's camera gives it.
      const jpeg = await cameraJpeg(page, 'SEALED', 2000, 1500);
      await page.setInputFiles('#completion input[name=photos]', {
        name: 'off.jpg',
        mimeType: 'image/jpeg',
        buffer: jpeg,
      });
      await screenshot(page, 'field-complete-turnoff');
      await page.locator('#completion button[type=submit]').click();
      await page.locator('#sync', { hasText: /^3 changes waiting to sync/ }).waitFor();
      expect(await turnOff.textContent()).toContain('completed (not sent yet)');
      // The phone keeps them through a reload with no network.
      await page.reload();
      await pageReady(page);
      expect(await page.textContent('#sync')).toMatch(/^3 changes waiting to sync/);

      await context.setOffline(false);
      await page.locator('#sync', { hasText: /^Nothing waiting to sync · last synced just now/ }).waitFor();
      const db = gw.ctx.store.db;
      const order = (await db('work_orders').where({ order_no: orderNo }).first())!;
      expect(order).toMatchObject({ state: 'completed' });
      const completion = JSON.parse(order.completion as string) as { photos: string[] };
      expect(completion).toMatchObject({ outcome: 'COMPLETED', finalRead: 32611 });
      // The photo went before the completion, resized on the phone, and the completion names it.
      const photos = await db('attachments').where({ work_order_id: order.id });
      expect(photos.map((p) => p.sha256)).toEqual(completion.photos);
      expect(photos[0]).toMatchObject({ content_type: 'image/jpeg', uploaded_by: 'tech:tom' });
      expect(Number(photos[0]!.bytes)).toBeLessThan(jpeg.length);
      // The CSR finds the order's history in the console, with the photo.
      const desk = await browser.newContext({ viewport: { width: 1360, height: 900 } });
      try {
        const office = await desk.newPage();
        await logIn(office, api.base, 'maria', 'correct horse battery', 'work-orders.html');
        await office.waitForURL(/work-orders\.html/);
        await pageReady(office);
        await office.fill('#l-order', orderNo);
        await office.click('#lookup button[type=submit]');
        await office.locator('#order-detail td', { hasText: 'on_site → completed' }).waitFor();
        const img = office.locator('#order-detail .photos img');
        await expect
          .poll(() => img.evaluate((i) => (i as unknown as { naturalWidth: number }).naturalWidth))
          .toBe(1280);
        await screenshot(office, 'console-order-history');
      } finally {
        await desk.close();
      }
      const events = (await db('work_order_events')
        .join('work_orders', 'work_orders.id', 'work_order_events.order_id')
        .where({ order_no: orderNo })
        .orderBy('work_order_events.id')) as { to_state: string; actor: string }[];
      expect(events.map((e) => [e.to_state, e.actor])).toEqual([
        ['created', 'csr:dispatch'],
        ['dispatched', 'csr:dispatch'],
        ['accepted', 'tech:tom'],
        ['on_site', 'tech:tom'],
        ['completed', 'tech:tom'],
      ]);
      const post = ALL_JOBS.find((j) => j.name === 'post-field-work')!;
      await runJob(gw.ctx, post, { trigger: 'manual' });
      await runJob(gw.ctx, post, { trigger: 'manual' });
      const rows = await gw.ctx.billing.db('cis_fieldwork_upload').where({ order_no: orderNo });
      expect(rows.map((r: { final_read: number }) => Number(r.final_read))).toEqual([32611]);
    } finally {
      await context.close();
    }
  });

  it('shows a change the gateway refused as stale next to the order as it is now, and makes it on the new version', async () => {
    const context = await browser.newContext(PHONE);
    try {
      const page = await signIn(context, 'tom', 'field work 2026');
      const reRead = page.locator('ul.orders li', { hasText: 'ReRead' });
      await reRead.waitFor();
      const orderNo = (await reRead.getAttribute('data-order'))!;
      await underServiceWorker(page);
      await context.setOffline(true);
      await reRead.click();
      await page.locator('#order-moves button', { hasText: 'Accept' }).click();
      await page.locator('#sync', { hasText: /^1 change waiting to sync/ }).waitFor();
      // Meanwhile the office dispatches the order again: its version moves on.
      const current = (await (
        await fetch(`${api.base}/api/work-orders/${orderNo}`, { headers: { authorization: `Bearer ${csr}` } })
      ).json()) as {
        version: number;
      };
      await call(csr, 'POST', `/api/work-orders/${orderNo}/dispatch`, { version: current.version, technician: 'tom' });
      await context.setOffline(false);
      const attention = page.locator('#attention .attention');
      await attention.waitFor();
      expect(await attention.textContent()).toMatch(
        new RegExp(
          `${orderNo}: changed on the gatewayThe order is now dispatched \\(version ${current.version + 1}, tom\\)\\. You entered: accepted at `,
        ),
      );
      expect(await page.textContent('#sync')).toMatch(/^1 change waiting to sync/);
      await screenshot(page, 'field-conflict');
      await attention.locator('button.redo').click();
      await page.locator('#sync', { hasText: /^Nothing waiting to sync/ }).waitFor();
      expect(await page.locator('#attention .attention').count()).toBe(0);
      expect(await gw.ctx.store.db('work_orders').where({ order_no: orderNo }).first()).toMatchObject({
        state: 'accepted',
        version: current.version + 2,
      });
    } finally {
      await context.close();
    }
  });

  it('sends a CSR to the console', async () => {
    const context = await browser.newContext(PHONE);
    try {
      const page = await signIn(context, 'maria', 'correct horse battery');
      await page
        .locator('#login-status', { hasText: 'maria is a csr: this app is for meter readers and technicians' })
        .waitFor();
      expect(await page.isVisible('#home-view')).toBe(false);
    } finally {
      await context.close();
    }
  });

  it('is installable: a manifest and a service worker that pass Chromium’s check', async () => {
    // A profile on disk, as on a phone: Chromium offers no install in an incognito context.
    const profile = await mkdtemp(path.join(tmpdir(), 'fg-field-profile-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox'],
      ...PHONE,
    });
    try {
      const page = await context.newPage();
      await page.goto(`${api.base}/field/`);
      await pageReady(page);
      await page.evaluate('navigator.serviceWorker.ready.then(() => true)');
      const cdp = await context.newCDPSession(page);
      const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as {
        installabilityErrors: { errorId: string }[];
      };
      expect(installabilityErrors.map((e) => e.errorId)).toEqual([]);
      const manifest = (await cdp.send('Page.getAppManifest')) as { errors: unknown[]; url: string };
      expect(manifest.errors).toEqual([]);
      expect(manifest.url).toBe(`${api.base}/field/manifest.webmanifest`);
    } finally {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    }
  });
});
