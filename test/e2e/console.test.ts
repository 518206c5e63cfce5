import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { importAmiFile } from '../../src/flows/ami/import-ami.js';
import type { DockService } from '../../src/flows/dock/dock-service.js';
import type { HandheldDevice } from '../../src/flows/sim/handheld/device.js';
import { createUser } from '../../src/infra/store/users-repo.js';
import { startApi } from '../helpers/api.js';
import { launchBrowser, logIn, pageReady, screenshot, watchedPage, type WatchedPage } from '../helpers/browser.js';
import { availableDialects } from '../helpers/databases.js';
import { dockService, freePort, handheld, nextEvent } from '../helpers/dock.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * A CSR's day in the console, in Debian's Chromium: log in, assign a route to a hand-held and
 * watch it load, get read and unload live; work the exception queue (accept, re-read); see the
 * re-read on the work-order board; open a usage chart; review the cycle's pre-bill ledger and
 * export it. A technician is refused the CSR's pages. Every page is saved as a screenshot under
 * test/e2e/screenshots/ and loads nothing from outside the gateway.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;
// Slow enough to watch: a 19,200-baud line moves about 1,900 bytes a second.
const LINE_BAUD = 19_200;

describe('the CSR console in a browser', () => {
  let gw: TestGateway;
  let api: Awaited<ReturnType<typeof startApi>>;
  let dock: DockService;
  let device: HandheldDevice;
  let browser: Browser;
  let csr: WatchedPage;

  beforeAll(async () => {
    gw = await testGateway(sqlite, {
      label: 'e2e_console',
      accounts: 120,
      routes: 2,
      config: { prebill: { reviewBeforePosting: true } },
    });
    await importAmiFile({ ...gw.ctx, db: gw.ctx.store.db }, path.resolve('test/fixtures/ami/cmep-dst.csv'));
    const port = `tcp://127.0.0.1:${await freePort()}`;
    const rig = dockService(gw.ctx, [port], {}, { paceBaud: LINE_BAUD });
    dock = rig.service;
    // The reader reads the route a moment after it loads, then docks again to unload.
    device = handheld(rig.ctx, {
      deviceId: 'HH-0042',
      port,
      paceBaud: LINE_BAUD,
      readAfterLoadMs: 500,
      mix: { skip: 0.08, trouble: 0.03, high: 0.08, rekey: 0.02 },
    });
    const welcomed = nextEvent(device, 'welcome');
    await device.start();
    await dock.start();
    await welcomed;
    api = await startApi(rig.ctx, { dock });
    await createUser(
      gw.ctx.store.db,
      { username: 'maria', role: 'csr', password: 'correct horse battery', displayName: 'Maria Lopez' },
      gw.ctx.clock(),
    );
    await createUser(
      gw.ctx.store.db,
      { username: 'tom', role: 'tech', password: 'field work 2026', displayName: 'Tom Reyes' },
      gw.ctx.clock(),
    );
    browser = await launchBrowser();
    csr = await watchedPage(browser, api.base);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await device?.stop();
    await dock?.stop();
    await gw?.close();
  });

  // A failing step leaves a picture of the page it failed on.
  afterEach(async (test) => {
    if (test.task.result?.state === 'fail' && csr)
      await screenshot(csr.page, `failed-${test.task.name.slice(0, 40).replace(/\W+/g, '-')}`);
  });

  const open = async (name: string) => {
    await csr.page.goto(`${api.base}/console/${name}`);
    await pageReady(csr.page);
  };

  it('logs a CSR in and lands on the routes', async () => {
    const { page } = csr;
    await page.goto(`${api.base}/console/`);
    await page.waitForURL(/login\.html\?next=routes\.html$/);
    await pageReady(page);
    await screenshot(page, 'login');
    await logIn(page, api.base, 'maria', 'correct horse battery');
    await page.waitForURL(/\/console\/routes\.html$/);
    await pageReady(page);
    expect(await page.textContent('header .who')).toBe('Maria Lopez · csr');
    expect(await page.locator('#routes tbody tr').count()).toBe(2);
    expect(await page.textContent('#routes tr[data-route="R01"] .badge')).toBe('ready');
  });

  it('assigns a route and shows the hand-held loading and unloading it live, to the end', async () => {
    const { page } = csr;
    await open('docks.html');
    await page.locator('article[data-port="dock1"] .badge', { hasText: 'docked' }).waitFor();
    expect(await page.textContent('article[data-port="dock1"] dl')).toContain('HH-0042 (SIM-1)');
    expect(await page.textContent('article[data-port="dock1"] dl')).toContain('87%');
    await page.selectOption('#cmd-route', 'R01');
    await page.selectOption('#cmd-device', 'HH-0042');
    await page.click('#assign');
    await page.locator('#status', { hasText: 'assign of R01 queued' }).waitFor();
    await page.locator('.transfer[data-direction="load"]').waitFor({ timeout: 20_000 });
    // The unload: its progress bar moves, with a rate and the time left, and ends with the readings committed.
    const unloading = page.locator('.transfer[data-direction="unload"]');
    await unloading.waitFor({ timeout: 60_000 });
    const seen = new Set<string>();
    while ((await unloading.count()) > 0) {
      const pct = await unloading
        .locator('.pct')
        .textContent()
        .catch(() => null);
      if (pct) seen.add(pct);
      if (seen.size === 3) await screenshot(page, 'docks-unloading');
      await page.waitForTimeout(150);
    }
    expect(seen.size).toBeGreaterThan(3);
    // The readings are committed, and the gateway takes the read route off the hand-held.
    await page
      .locator('article[data-port="dock1"] .last', { hasText: /readings of R01 committed|route R01 cleared/ })
      .waitFor();
    await screenshot(page, 'docks');
    await open('routes.html');
    expect(await page.textContent('#routes tr[data-route="R01"] .badge')).toMatch(/^(committed|cleared)$/);
    await screenshot(page, 'routes');
  }, 120_000);

  it('works the exception queue from the keyboard: accept one, order a re-read of another', async () => {
    const { page } = csr;
    await open('exceptions.html?route=R01');
    const rows = page.locator('#exceptions tbody tr[data-id]');
    expect(await rows.count()).toBeGreaterThan(2);
    const first = await rows.first().getAttribute('data-id');
    await page.locator('#detail h2').first().waitFor();
    await page.keyboard.press('a');
    await page.locator('#status', { hasText: `#${first}: accepted` }).waitFor();
    expect(await page.locator(`#exceptions tr[data-id="${first}"]`).count()).toBe(0);
    const db = gw.ctx.store.db;
    expect(
      await db('exceptions')
        .where({ id: Number(first) })
        .first(),
    ).toMatchObject({ status: 'resolved', resolved_by: 'csr:maria' });
    // A skipped read: send someone to read it again.
    const skipped = page.locator('#exceptions tbody tr', { hasText: 'SKIPPED' }).first();
    const withMeter = (await db('exceptions')
      .where({ id: Number(await skipped.getAttribute('data-id')) })
      .first()) as { id: number; meter_id: string };
    await skipped.click();
    await page.locator('#detail h2', { hasText: `#${withMeter.id}` }).waitFor();
    await screenshot(page, 'exceptions');
    await page.keyboard.press('r');
    await page.locator('#status', { hasText: 're-read ordered' }).waitFor();
    const order = (await db('work_orders').where({ type: 'ReRead', meter_id: withMeter.meter_id }).first())!;
    expect(order).toMatchObject({ state: 'created', source: 'exception' });
    await open('work-orders.html');
    await page.locator(`.column[data-state="created"] .order[data-order="${order.order_no}"]`).waitFor();
    await screenshot(page, 'work-orders');
  });

  it('claims an AMI meter id billing does not know from its UNKNOWN_METER exception, and imports what was parked', async () => {
    const { page } = csr;
    const ctx = { ...gw.ctx, db: gw.ctx.store.db };
    const dir = await mkdtemp(path.join(tmpdir(), 'fg-claim-'));
    const file = path.join(dir, 'stranger.csv');
    // One day of 15-minute kWh intervals for a head-end's name of a meter billing does not know.
    const values = Array.from(
      { length: 96 },
      (_, k) => `${k === 0 ? '202611100015' : ''},A,${(0.25 + (k % 4) * 0.05).toFixed(2)}`,
    );
    await writeFile(
      file,
      `MEPMD01,19970819,HEADEND,,FIELDGATE,,202611230600,HE-STRANGER-7,OK,E,KWH,1,00000015,96,${values.join(',')}\n`,
    );
    expect((await importAmiFile(ctx, file)).unknownMeters).toBe(1);
    await open('exceptions.html?kind=UNKNOWN_METER');
    const row = page.locator('#exceptions tbody tr', { hasText: 'HE-STRANGER-7' }).first();
    await row.click();
    await page.locator('#detail button', { hasText: 'Claim for a meter' }).waitFor();
    await page.keyboard.press('m');
    await page.locator('dialog.ask input').fill('E0000003');
    await screenshot(page, 'exceptions-claim');
    await page.locator('dialog.ask button.primary').click();
    await page
      .locator('#status', { hasText: "'HE-STRANGER-7' claimed for meter E0000003: 96 parked intervals" })
      .waitFor();
    const stored = await gw.ctx.store
      .db('ami_intervals')
      .where({ meter_id: 'E0000003', start_at: Date.parse('2026-11-10T00:00:00Z') / 1000 })
      .first();
    expect(stored).toBeDefined();
    expect(await gw.ctx.store.db('ami_claims').where({ meter_ref: 'HE-STRANGER-7' }).first()).toMatchObject({
      meter_id: 'E0000003',
      claimed_by: 'csr:maria',
    });
  });

  it('opens a usage chart for a high-bill call', async () => {
    const { page } = csr;
    await open('usage.html?kind=meters&id=E0000003&from=2026-03-09&to=2026-03-09&grain=interval');
    await page.locator('.register h2', { hasText: 'over 96 intervals' }).waitFor();
    expect(await page.getAttribute('.legend-estimated', 'data-estimated')).toBe('3');
    await screenshot(page, 'usage-intervals');
  });

  it("reviews the cycle's pre-bill ledger, exports it, and signs it off", async () => {
    const { page } = csr;
    await open('prebill.html');
    await page.locator('#ledger tbody tr[data-account]').first().waitFor();
    const accounts = Number((await page.textContent('.tile[data-tile="accounts"] b'))!.replace(/,/g, ''));
    expect(accounts).toBeGreaterThan(40);
    // Flagged rows only, most expensive first.
    await page.check('#f-flagged');
    await page.locator('#page', { hasText: /of \d+/ }).waitFor();
    await page.click('button.sort[data-sort="estimatedCharge"]');
    await page.click('button.sort[data-sort="estimatedCharge"]');
    await page.locator('#ledger tbody tr[data-account]').first().waitFor();
    await screenshot(page, 'prebill');
    const download = page.waitForEvent('download');
    await page.click('#export');
    const file = await (await download).path();
    const csv = (await readFile(file, 'utf8')).trimEnd().split('\r\n');
    expect(csv[0]).toBe(
      'route,sequence,accountNo,customerName,meterId,register,prevRead,currentRead,units,multiplier,' +
        'consumption,readType,readAt,flags,rateCode,estimatedCharge',
    );
    const total = Number(/of (\d+)/.exec((await page.textContent('#page'))!)![1]);
    expect(csv.length - 1).toBe(total);
    // Nothing of the cycle has gone to billing yet (the AMI meter's daily reads are not in a cycle); signing off
    // queues it.
    const routeReads = async () =>
      Number(
        (
          (await gw.ctx.store
            .db('outbox')
            .where({ kind: 'billing.read' })
            .whereNot('key', 'like', 'AMI:%')
            .count({ n: '*' })
            .first()) as { n: number }
        ).n,
      );
    expect(await routeReads()).toBe(0);
    await page.click('#review');
    await page.locator('#reviewed', { hasText: 'Reviewed by csr:maria' }).waitFor();
    expect(await routeReads()).toBeGreaterThan(40);
    await screenshot(page, 'prebill-reviewed');
  });

  it('shows the jobs and the reports', async () => {
    const { page } = csr;
    await open('jobs.html');
    await page.click('#jobs tr[data-job="post-readings"] button');
    await page.locator('#status', { hasText: 'post-readings' }).waitFor();
    await page.locator('#runs tbody tr', { hasText: 'post-readings' }).first().waitFor();
    await screenshot(page, 'jobs');
    await open('reports.html?report=route-completion');
    await page.click('#filters button[type=submit]');
    await page.locator('#table tbody tr', { hasText: 'R01' }).waitFor();
    await screenshot(page, 'reports');
    expect(csr.outside).toEqual([]);
    expect(csr.errors, csr.errors.join('\n')).toEqual([]);
  });

  it('refuses a technician the CSR pages', async () => {
    const tech = await watchedPage(browser, api.base);
    await logIn(tech.page, api.base, 'tom', 'field work 2026');
    await tech.page.locator('#status.error', { hasText: 'The console is for CSRs' }).waitFor();
    await tech.page.goto(`${api.base}/console/exceptions.html`);
    expect(await tech.page.textContent('#forbidden')).toBe(
      'This page is for customer service. Your account cannot open it.',
    );
    await screenshot(tech.page, 'tech-refused');
    expect(tech.outside).toEqual([]);
  });
});
