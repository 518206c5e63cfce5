import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { assignRoute } from '../../src/flows/dock/dock-commands.js';
import type { DockStatus } from '../../src/flows/dock/dock-service.js';
import type { HandheldDevice, HandheldOptions } from '../../src/flows/sim/handheld/device.js';
import { availableDialects } from '../helpers/databases.js';
import { dockService, handheld, nextEvent, waitFor } from '../helpers/dock.js';
import { testGateway } from '../helpers/gateway.js';
import { ptyPair, type PtyPair } from '../helpers/pty.js';

/**
 * The dock under line faults and interruptions. Every scenario ends the same way: every reading
 * stored exactly once, and the device holding anything the gateway has not committed.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;

describe('dock faults', () => {
  const cleanup = cleanupAfterEach();

  async function rig(label: string) {
    const gw = await testGateway(sqlite, { label, accounts: 1010, routes: 1 });
    cleanup.push(() => gw.close());
    let pair: PtyPair = await ptyPair();
    cleanup.push(() => pair.pull());
    const { service, ctx } = dockService(gw.ctx, [pair.a]);
    const statuses: DockStatus[] = [];
    service.on('status', (s) => statuses.push(structuredClone(s)));
    await service.start();
    cleanup.push(() => service.stop());
    const [route] = await ctx.billing.listRoutes();
    const dir = mkdtempSync(path.join(tmpdir(), 'fg-hh-'));
    const devices: HandheldDevice[] = [];
    cleanup.push(async () => {
      for (const d of devices) await d.stop();
    });
    const device = async (opts: Partial<HandheldOptions> = {}) => {
      for (const d of devices.splice(0)) await d.stop();
      const { onCreate, ...rest } = opts as Partial<HandheldOptions> & { onCreate?: (d: HandheldDevice) => void };
      const d = handheld(ctx, { deviceId: 'HH-0042', port: pair.b, dir, ...rest });
      onCreate?.(d);
      devices.push(d);
      const welcomed = nextEvent(d, 'welcome');
      await d.start();
      await welcomed;
      return d;
    };
    return {
      ctx,
      service,
      statuses,
      routeCode: route!.code,
      device,
      get pair() {
        return pair;
      },
      /** Pulls the cable (socat killed) and plugs it back in at the same paths after `ms`. */
      async pullCable(ms: number) {
        await pair.pull();
        await new Promise((r) => setTimeout(r, ms));
        pair = await ptyPair({ a: pair.a, b: pair.b });
      },
    };
  }

  type Rig = Awaited<ReturnType<typeof rig>>;

  async function morningLoad(r: Rig, opts: Partial<HandheldOptions> = {}) {
    const d = await r.device(opts);
    const loaded = nextEvent<[string, number]>(d, 'loaded', 60_000);
    await assignRoute(r.ctx, { routeCode: r.routeCode, deviceId: 'HH-0042', actor: 'csr:test' });
    const [, records] = await loaded;
    await waitFor(
      () => r.ctx.store.db('routes').where({ route_code: r.routeCode, state: 'loaded' }).first(),
      'the load to be recorded',
    );
    return { device: d, records };
  }

  /** The afternoon: a device (restarted, with its files) unloads; resolves when the gateway recorded the clear. */
  async function afternoonUnload(r: Rig, d: HandheldDevice) {
    const db = r.ctx.store.db;
    await waitFor(
      async () => (await db('routes').where({ route_code: r.routeCode }).first())!.state === 'cleared',
      'the route to be cleared',
      90_000,
    );
    const route = (await db('routes').where({ route_code: r.routeCode }).first())!;
    const readings = Number((await db('readings').where({ route_id: route.id }).count({ n: '*' }).first())!.n);
    const distinct = Number(
      (await db('readings').where({ route_id: route.id }).countDistinct({ n: 'read_key' }).first())!.n,
    );
    const batches = Number((await db('import_batches').where({ source: 'dock' }).count({ n: '*' }).first())!.n);
    expect(d.storage.readings(r.routeCode)).toBeNull();
    return { readings, distinct, batches };
  }

  /** The reader's day on the morning's device, then the device restarted (files kept) with `opts`, docking again. */
  async function readAndRedock(r: Rig, morning: HandheldDevice, opts: Partial<HandheldOptions>) {
    morning.readRoutes();
    const readings = morning.storage.readings(r.routeCode)!;
    const unloads: number[] = [];
    const onCreate = (dev: HandheldDevice) =>
      dev.on('unloadBegin', (_route: string, from: number) => unloads.push(from));
    const d = await r.device({ ...opts, onCreate } as Partial<HandheldOptions>);
    return { d, readings, unloads };
  }

  it('unloads with 1% of frames corrupted both ways, and with 1 byte in 10,000 flipped', async () => {
    const r = await rig('f_corrupt');
    const { records, device } = await morningLoad(r, { faults: { corruptFrames: 0.01, seed: 3 } });
    const { d } = await readAndRedock(r, device, {
      faults: { corruptFrames: 0.01, corruptBytes: 0.0001, dropBytes: 0.0001, seed: 5 },
    });
    const result = await afternoonUnload(r, d);
    expect(result).toEqual({ readings: records, distinct: records, batches: 1 });
    expect(d.faults.counts.corruptedFrames).toBeGreaterThan(0);
    expect(d.faults.counts.flipped + d.faults.counts.dropped).toBeGreaterThan(0);
    expect(r.service.status()[0]!.counters.dropped).toBeGreaterThan(0);
  });

  it('survives garbage between frames, wrong CRCs and oversized frames', async () => {
    const r = await rig('f_garbage');
    const faults = { garbage: 0.05, wrongCrc: 0.02, oversized: 0.02, seed: 9 };
    const { records, device } = await morningLoad(r, { faults });
    const { d } = await readAndRedock(r, device, { faults: { ...faults, seed: 10 } });
    const result = await afternoonUnload(r, d);
    expect(result).toEqual({ readings: records, distinct: records, batches: 1 });
    expect(d.faults.counts.garbage).toBeGreaterThan(0);
    expect(d.faults.counts.oversized).toBeGreaterThan(0);
    expect(d.faults.counts.wrongCrc).toBeGreaterThan(0);
  });

  it('resumes an unload from the offset reached when the cable is pulled mid-way and re-docked', async () => {
    const r = await rig('f_pull');
    const { records, device } = await morningLoad(r);
    // At a hand-held's line rate, pull the cable (socat dies) 40% into the unload, then plug it back in.
    const { d, readings, unloads } = await readAndRedock(r, device, { paceBaud: 230_400 });
    await waitFor(() => {
      const t = r.service.status()[0]!.transfer;
      return t?.direction === 'unload' && t.bytesDone > 0.4 * t.bytesTotal;
    }, 'the unload to be 40% done');
    const pulled = r.pullCable(300);
    const lost = await waitFor(
      () => r.statuses.find((s) => s.last?.includes('lost')),
      'the gateway to report the link lost',
      6000,
    );
    expect(lost.last).toMatch(/port closed/);
    await pulled;
    const result = await afternoonUnload(r, d);
    expect(result).toEqual({ readings: records, distinct: records, batches: 1 });
    expect(unloads[0]).toBe(0);
    expect(unloads.at(-1)).toBeGreaterThan(0);
    expect(unloads.at(-1)).toBeLessThan(readings.length);
  });

  it('resumes an unload when the device drops the line mid-way and reconnects (disconnect switch)', async () => {
    const r = await rig('f_drop');
    const { records, device } = await morningLoad(r);
    const { d, readings, unloads } = await readAndRedock(r, device, { faults: { disconnectAfterBytes: 60_000 } });
    const result = await afternoonUnload(r, d);
    expect(result).toEqual({ readings: records, distinct: records, batches: 1 });
    expect(unloads.at(-1)).toBeGreaterThan(0);
    expect(unloads.at(-1)).toBeLessThan(readings.length);
  });

  it('resumes a load from the offset reached when the device resets mid-load', async () => {
    const r = await rig('f_reset');
    const begins: number[] = [];
    const d = await r.device({ faults: { resetAfterBytes: 90_000 } });
    d.on('loadBegin', (_route, from) => begins.push(from));
    const loaded = nextEvent<[string, number]>(d, 'loaded', 60_000);
    await assignRoute(r.ctx, { routeCode: r.routeCode, deviceId: 'HH-0042', actor: 'csr:test' });
    const [, records] = await loaded;
    expect(begins[0]).toBe(0);
    expect(begins.length).toBeGreaterThan(1);
    expect(begins.at(-1)).toBeGreaterThan(0);
    const cmd = await waitFor(
      () => r.ctx.store.db('dock_commands').where({ status: 'done' }).first(),
      'the load to be recorded',
    );
    expect(cmd.detail).toMatch(/resumed at byte \d+/);
    // The file the device assembled from two sessions is the one the gateway sent.
    const route = (await r.ctx.store.db('routes').where({ route_code: r.routeCode }).first())!;
    expect(route).toMatchObject({ state: 'loaded', device_id: 'HH-0042', records });
    expect(d.storage.meta(r.routeCode)).toMatchObject({ complete: true, sha256: route.file_sha256 });
  });

  it('reports a device that goes silent within 6 s', async () => {
    const r = await rig('f_silent');
    const d = await r.device();
    await new Promise((res) => setTimeout(res, 2500)); // docked and idle: PINGs are answered
    expect(r.statuses.some((s) => s.last?.includes('lost'))).toBe(false);
    const silentAt = Date.now();
    d.stall(10_000);
    await waitFor(
      () => r.statuses.find((s) => s.last?.includes('lost')),
      'the gateway to report the link lost',
      10_000,
    );
    const reportedAfter = Date.now() - silentAt;
    expect(reportedAfter).toBeLessThanOrEqual(6100);
    expect(r.statuses.at(-1)!.phase).toBe('waiting');
  });

  // Fault suite finding "session left silently": a store or disk error ended the dock's session
  // without a word to the hand-held, which sat in a session the gateway had left until its own
  // watchdog gave up. The device is now told (ERROR FATAL, dock-protocol.md) and docks again at once.
  it(
    'fault finding session left silently: an internal error ends the session with ERROR FATAL, ' +
      'and the device docks again',
    async () => {
      const r = await rig('f_fatal');
      const d = await r.device();
      const getRoute = r.ctx.billing.getRoute.bind(r.ctx.billing);
      // The CSR's assignment looks the route up first; the dock's build of the route file next, and fails.
      let calls = 0;
      r.ctx.billing.getRoute = async (code: string) => {
        if (++calls === 2) throw new Error('ENOSPC: no space left on device, write');
        return getRoute(code);
      };
      const told = nextEvent<[string, string]>(d, 'gatewayError', 10_000);
      const loaded = nextEvent<[string, number]>(d, 'loaded', 30_000);
      await assignRoute(r.ctx, { routeCode: r.routeCode, deviceId: 'HH-0042', actor: 'csr:test' });
      const [code, message] = await told;
      const toldAt = Date.now();
      expect(code).toBe('FATAL');
      expect(message).toMatch(/ENOSPC: no space left on device/);
      expect(r.statuses.some((s) => /session ended \(ENOSPC: no space left on device/.test(s.detail))).toBe(true);
      await loaded;
      // Docked again and loaded well before the device's own 7 s watchdog would have started over.
      expect(Date.now() - toldAt).toBeLessThan(4000);
      await waitFor(
        () => r.ctx.store.db('routes').where({ route_code: r.routeCode, state: 'loaded' }).first(),
        'the load to be recorded',
      );
    },
  );
});
