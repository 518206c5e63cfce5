import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser } from '../../src/flows/users.js';
import { createUser } from '../../src/infra/store/users-repo.js';
import { createToken } from '../../src/infra/store/tokens-repo.js';
import { routeLines, type StoredRouteLine } from '../../src/infra/store/routes-repo.js';
import { startApi } from '../helpers/api.js';
import { cameraJpeg, launchBrowser, logIn, pageReady, screenshot } from '../helpers/browser.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * A meter reader's day in the field app on a phone (360×740, touch, GPS allowed), in Debian's
 * Chromium: the office assigns R01 to Rita's phone; she downloads it, loses the network, reads 30
 * meters offline (a high read confirmed by keying it again, a skip, a trouble code, a note, a
 * photo of the register), closes the browser, opens it again offline and finds her readings
 * there; back online they are stored once, with the exceptions a dock's would raise, and the CSR
 * sees the photo with the high read. Then the gateway's answer to a batch is lost after its
 * commit: the phone sends the batch again and it is stored once.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;
const PHONE = {
  viewport: { width: 360, height: 740 },
  isMobile: true,
  hasTouch: true,
  timezoneId: 'America/Chicago',
  permissions: ['geolocation'],
  geolocation: { latitude: 39.7817, longitude: -89.6501 },
};

describe('meter reading in the field app', () => {
  let gw: TestGateway;
  let api: Awaited<ReturnType<typeof startApi>>;
  let browser: Browser;
  let profile: string;
  let dataDir: string;
  let lines: StoredRouteLine[];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'fg-reading-'));
    profile = await mkdtemp(path.join(tmpdir(), 'fg-reading-profile-'));
    // The gateway's clock is the real one: the phone's readings are made now.
    gw = await testGateway(sqlite, {
      label: 'e2e_reading',
      accounts: 40,
      routes: 1,
      clock: () => new Date(),
      config: { dataDir },
    });
    api = await startApi(gw.ctx);
    const now = gw.ctx.clock();
    await addUser(gw.ctx, { username: 'rita', role: 'reader', password: 'meters all day', displayName: 'Rita Okafor' });
    await addUser(gw.ctx, { username: 'sam', role: 'reader', password: 'meters all night', displayName: 'Sam Ito' });
    await createUser(gw.ctx.store.db, { username: 'maria', role: 'csr', password: 'correct horse battery' }, now);
    const csr = await createToken(gw.ctx.store.db, 'office', 'csr', now);
    const res = await fetch(`${api.base}/api/dock/assign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${csr}`, 'content-type': 'application/json' },
      body: JSON.stringify({ route: 'R01', device: 'app.rita' }),
    });
    expect(res.status).toBe(201);
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await gw?.close();
    await rm(profile, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  /** The phone: a browser profile on disk, so closing it and opening it again keeps what the app stored. */
  const phone = () =>
    chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox'],
      ...PHONE,
    });

  async function openApp(context: BrowserContext): Promise<Page> {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${api.base}/field/`);
    await pageReady(page);
    return page;
  }

  const units = (l: StoredRouteLine, to: number) => (to - l.prevRead + 10 ** l.dials) % 10 ** l.dials;
  const normalRead = (l: StoredRouteLine) =>
    (l.prevRead + Math.floor((units(l, l.lowLimit) + units(l, l.highLimit)) / 2)) % 10 ** l.dials;
  const highRead = (l: StoredRouteLine) => (l.prevRead + units(l, l.highLimit) + 7) % 10 ** l.dials;

  async function key(page: Page, value: number) {
    for (const digit of String(value)) await page.locator(`#keypad button[data-key="${digit}"]`).click();
    await page.locator('#keypad button[data-key="ok"]').click();
  }

  const stored = async () => {
    const route = (await gw.ctx.store.db('routes').where({ route_code: 'R01' }).first()) as { id: number };
    return gw.ctx.store.db('readings').where({ route_id: route.id }).orderBy('sequence');
  };

  it('reads 30 meters offline, keeps them through closing the browser, and stores each once when back online', async () => {
    let context = await phone();
    let page = await openApp(context);
    await page.fill('#username', 'rita');
    await page.fill('#password', 'meters all day');
    await page.click('#login button[type=submit]');
    await page.locator('li[data-assigned="R01"] button.download').click();
    await page.locator('li[data-route="R01"] button.open-route').waitFor();
    const route = (await gw.ctx.store.db('routes').where({ route_code: 'R01' }).first()) as {
      id: number;
      state: string;
      device_id: string;
    };
    expect(route).toMatchObject({ state: 'loaded', device_id: 'app.rita' });
    lines = await routeLines(gw.ctx.store.db, route.id);
    // A register photo as the phone's camera would give it.
    const jpeg = await cameraJpeg(page, '04512');
    // The service worker takes over; then the network goes.
    await page.evaluate('navigator.serviceWorker.ready.then(() => true)');
    await page.reload();
    await pageReady(page);
    await context.setOffline(true);
    await page.reload();
    await pageReady(page);
    expect(await page.textContent('#net')).toBe('Offline');
    await page.locator('li[data-route="R01"] button.open-route').click();

    for (let k = 0; k < 30; k++) {
      const line = lines[k]!;
      await page.locator('#read-progress', { hasText: `R01 · ${k + 1} of ${lines.length}` }).waitFor();
      expect(await page.getAttribute('#meter-card', 'data-meter')).toBe(line.meterId);
      if (k === 0) await page.fill('#note', 'Gate code 1234');
      if (k === 2) {
        // Over the route's high limit: the phone asks to check and key it again; the same value confirms it.
        await key(page, highRead(line));
        await page.locator('#read-check', { hasText: /^High read: / }).waitFor();
        await page.setInputFiles('#photo', { name: 'register.jpg', mimeType: 'image/jpeg', buffer: jpeg });
        await page.locator('#photo-status', { hasText: /^Photo kept \(\d+ KB\)/ }).waitFor();
        await screenshot(page, 'field-reading-high');
        await key(page, highRead(line));
        continue;
      }
      if (k === 4) {
        await page.locator('#skip').click();
        await page.selectOption('#skip-code', 'DOG');
        await page.locator('#skip-save').click();
        continue;
      }
      if (k === 6) await page.selectOption('#trouble', 'LEAK');
      if (k === 10) await screenshot(page, 'field-reading');
      await key(page, normalRead(line));
    }
    await page.locator('#read-progress', { hasText: '29 read · 1 skipped' }).waitFor();
    expect(await page.textContent('#sync')).toMatch(/^30 changes waiting to sync/);
    // Search by address, and back to a meter already read: it shows what was entered.
    await page.fill('#search', lines[2]!.meterId);
    await page.locator('#search-results li').first().click();
    await page.locator('#entered', { hasText: `Read ${highRead(lines[2]!)} (HC)` }).waitFor();
    expect(await stored()).toHaveLength(0);

    // The browser is closed, and opened again with no network: the readings are on the phone.
    await context.close();
    context = await phone();
    await context.setOffline(true);
    page = await openApp(context);
    expect(await page.textContent('#net')).toBe('Offline');
    expect(await page.textContent('#sync')).toMatch(/^30 changes waiting to sync/);
    expect(await page.textContent('li[data-route="R01"] .progress')).toBe(
      `29 read · 1 skipped · ${lines.length - 30} left · 30 not sent yet`,
    );

    await context.setOffline(false);
    await page
      .locator('#sync', { hasText: /^Nothing waiting to sync · last synced just now/ })
      .waitFor({ timeout: 20_000 });
    await screenshot(page, 'field-reading-routes');
    const rows = await stored();
    expect(rows.map((r) => Number(r.sequence))).toEqual(lines.slice(0, 30).map((l) => l.sequence));
    const bySeq = (k: number) => rows.find((r) => Number(r.sequence) === lines[k]!.sequence)!;
    expect(bySeq(0)).toMatchObject({ note: 'Gate code 1234', reader_id: 'RITA', method: 'K' });
    expect(Number(bySeq(0).lat)).toBeCloseTo(39.7817, 4);
    expect(bySeq(2)).toMatchObject({ reading: highRead(lines[2]!), read_code: 'HC' });
    expect(Boolean(bySeq(2).rekeyed)).toBe(true);
    expect(bySeq(4)).toMatchObject({ reading: null, skip_code: 'DOG', status: 'skipped' });
    expect(bySeq(6)).toMatchObject({ trouble_code: 'LEAK' });
    // The exceptions a dock's upload of the same readings would raise.
    const kinds = (await gw.ctx.store.db('exceptions').where({ route_id: route.id })).map(
      (e) => `${e.kind} ${e.meter_id}`,
    );
    expect(kinds).toEqual(
      expect.arrayContaining([
        `HIGH_READ_CONFIRMED ${lines[2]!.meterId}`,
        `SKIPPED ${lines[4]!.meterId}`,
        `TROUBLE ${lines[6]!.meterId}`,
      ]),
    );
    await context.close();

    // The CSR opens the high read's exception in the console and sees the register photo.
    const desk = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    try {
      const console = await desk.newPage();
      await logIn(console, api.base, 'maria', 'correct horse battery', 'exceptions.html?route=R01');
      await console.waitForURL(/exceptions\.html/);
      await pageReady(console);
      await console.locator('#exceptions tbody tr', { hasText: 'HIGH_READ_CONFIRMED' }).first().click();
      const img = console.locator('#detail .photos img');
      await img.waitFor();
      await expect.poll(() => img.evaluate((i) => (i as unknown as { naturalWidth: number }).naturalWidth)).toBe(1280);
      await screenshot(console, 'console-exception-photo');
    } finally {
      await desk.close();
    }
  }, 180_000);

  it('stores a batch once when the answer to it was lost after the commit', async () => {
    const context = await phone();
    try {
      const page = await openApp(context);
      await page.locator('#sync', { hasText: /^Nothing waiting to sync/ }).waitFor();
      // The gateway commits the next batch, and the connection is cut before the phone hears the answer.
      const answers: number[] = [];
      let cut = true;
      await page.route('**/api/reader/readings', async (intercepted) => {
        const answer = await intercepted.fetch();
        answers.push(answer.status());
        if (cut) {
          cut = false;
          return intercepted.abort('connectionreset');
        }
        return intercepted.fulfill({ response: answer });
      });
      await page.locator('li[data-route="R01"] button.open-route').click();
      await page.locator('#read-progress', { hasText: `R01 · 31 of ${lines.length}` }).waitFor();
      await key(page, normalRead(lines[30]!));
      await expect.poll(() => answers.length).toBe(1);
      expect(answers[0]).toBe(201);
      expect(await stored()).toHaveLength(31);
      await page.locator('#read-back').click();
      await page.locator('#sync', { hasText: /^1 change waiting to sync/ }).waitFor();
      // As a reader would: sync again. The same batch goes, and the gateway knows it.
      await page.locator('#refresh').click();
      await page.locator('#sync', { hasText: /^Nothing waiting to sync/ }).waitFor();
      expect(answers).toEqual([201, 200]);
      const rows = await stored();
      expect(rows).toHaveLength(31);
      expect(rows.filter((r) => r.meter_id === lines[30]!.meterId)).toHaveLength(1);
      expect(
        await gw.ctx.store.db('exceptions').where({ meter_id: lines[30]!.meterId, kind: 'DUPLICATE_READ' }),
      ).toHaveLength(0);
    } finally {
      await context.close();
    }
  }, 120_000);

  it("keeps Rita's unsent reading from the next reader on her phone, and shows him none of her route once it is sent", async () => {
    const context = await phone();
    context.on('dialog', (d) => void d.accept());
    try {
      const page = await openApp(context);
      await page.locator('#sync', { hasText: /^Nothing waiting to sync/ }).waitFor();
      await context.setOffline(true);
      await page.locator('li[data-route="R01"] button.open-route').click();
      await key(page, normalRead(lines[31]!));
      await page.locator('#read-back').click();
      await page.locator('#sync', { hasText: /^1 change waiting to sync/ }).waitFor();
      // She signs out with it unsent (the phone asks, and she says yes), and hands the phone on.
      await page.locator('#logout').click();
      await page.locator('#login-view').waitFor();
      await context.setOffline(false);
      // Back online, the phone does not sign her in again by itself, and ends the session she left.
      await page.locator('#net', { hasText: 'Online' }).waitFor();
      await expect.poll(() => page.isVisible('#login-view')).toBe(true);
      expect(await page.textContent('#sync')).toMatch(/^1 change waiting to sync/);
      const signIn = async (username: string, password: string) => {
        await page.fill('#username', username);
        await page.fill('#password', password);
        await page.click('#login button[type=submit]');
      };
      await signIn('sam', 'meters all night');
      await page
        .locator('#login-status', { hasText: 'This phone holds 1 change of rita not sent yet. rita signs in' })
        .waitFor();
      expect(await page.isVisible('#home-view')).toBe(false);
      // Rita signs in and her reading goes; then Sam sees nothing of hers.
      await signIn('rita', 'meters all day');
      await page.locator('#sync', { hasText: /^Nothing waiting to sync/ }).waitFor();
      expect(await stored()).toHaveLength(32);
      await page.locator('#logout').click();
      await page.locator('#login-view').waitFor();
      await signIn('sam', 'meters all night');
      await page.locator('#who', { hasText: 'Sam Ito · meter reader' }).waitFor();
      await page.locator('#work', { hasText: 'No routes assigned to you' }).waitFor();
      expect(await page.locator('li[data-route="R01"]').count()).toBe(0);
    } finally {
      await context.close();
    }
  }, 120_000);
});
