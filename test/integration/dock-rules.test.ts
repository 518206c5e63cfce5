import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { FrameType, seqPayload } from '../../adapters/handheld-serial/codec/frame.js';
import { decodeMessage, encodeMessage } from '../../adapters/handheld-serial/codec/messages.js';
import { frameLink } from '../../adapters/handheld-serial/framed-link.js';
import { TcpListenTransport } from '../../src/flows/sim/handheld/tcp-listener.js';
import { assignRoute, clearRoute, reloadRoute } from '../../src/flows/dock/dock-commands.js';
import type { DockService } from '../../src/flows/dock/dock-service.js';
import type { HandheldDevice } from '../../src/flows/sim/handheld/device.js';
import { setDeviceApproved } from '../../src/infra/store/dock-repo.js';
import { BillingError } from '../../src/errors.js';
import { availableDialects } from '../helpers/databases.js';
import { dockService, freePort, handheld, nextEvent, waitFor } from '../helpers/dock.js';
import { testGateway } from '../helpers/gateway.js';

/**
 * The dock's rules as a CSR meets them: new devices wait for approval, a device speaking
 * another protocol is refused, a route is on one device at a time, and re-loads and clears
 * carry a recorded reason and leave no readings behind.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;

describe('dock rules', () => {
  const cleanup = cleanupAfterEach();

  async function rig(label: string, docks: number, opts: { approveAll?: boolean; retryAfterSeconds?: number } = {}) {
    const gw = await testGateway(sqlite, { label, accounts: 200, routes: 2 });
    cleanup.push(() => gw.close());
    const ports = await Promise.all(Array.from({ length: docks }, async () => `tcp://127.0.0.1:${await freePort()}`));
    const { service, ctx } = dockService(gw.ctx, ports, {
      approveAllDevices: opts.approveAll ?? true,
      ...(opts.retryAfterSeconds ? { retryAfterSeconds: opts.retryAfterSeconds } : {}),
    });
    const routes = (await ctx.billing.listRoutes()).map((r) => r.code);
    return { ctx, service, ports, routes, db: ctx.store.db };
  }

  async function dock(
    r: { ctx: Parameters<typeof handheld>[0]; service: DockService; ports: string[] },
    index: number,
    deviceId: string,
    waitWelcome = true,
  ): Promise<HandheldDevice> {
    const d = handheld(r.ctx, { deviceId, port: r.ports[index]! });
    const welcomed = nextEvent(d, 'welcome');
    await d.start();
    cleanup.push(() => d.stop());
    if (waitWelcome) await welcomed;
    return d;
  }

  /** Assigns a route to a docked device and waits until the gateway recorded the load. */
  async function assignAndLoad(
    r: { ctx: Parameters<typeof handheld>[0]; db: Parameters<typeof setDeviceApproved>[0] },
    d: HandheldDevice,
    deviceId: string,
    routeCode: string,
  ) {
    const loaded = nextEvent(d, 'loaded');
    await assignRoute(r.ctx, { routeCode, deviceId, actor: 'csr:test' });
    await loaded;
    await waitFor(
      () => r.db('routes').where({ route_code: routeCode, state: 'loaded', device_id: deviceId }).first(),
      'the load to be recorded',
    );
  }

  // Fault suite finding "clear not recorded": the device obeyed CLEAR, then the store went down
  // before the gateway recorded it; the route stayed "committed" on the device for good.
  it(
    'fault finding clear not recorded: records a committed route the device no longer holds as cleared at its next ' +
      'dock',
    async () => {
      const r = await rig('r_unrec', 1);
      await r.service.start();
      cleanup.push(() => r.service.stop());
      const d = await dock(r, 0, 'HH-0950');
      await assignAndLoad(r, d, 'HH-0950', r.routes[0]!);
      d.readRoutes();
      const cleared = nextEvent(d, 'cleared');
      d.redock();
      await cleared;
      const route = await waitFor(
        () => r.db('routes').where({ route_code: r.routes[0]!, state: 'cleared' }).first(),
        'the clear to be recorded',
      );
      // As if the store had gone down between the device's CLEARED and its recording.
      await r
        .db('routes')
        .where({ id: route.id })
        .update({ state: 'committed', device_id: 'HH-0950', cleared_at: null });
      d.redock();
      await waitFor(
        () => r.db('routes').where({ id: route.id, state: 'cleared' }).first(),
        'the clear to be recorded at the next dock',
      );
      expect(Number((await r.db('readings').where({ route_id: route.id }).count({ n: '*' }).first())!.n)).toBe(
        route.records,
      );
    },
  );

  // Fault suite finding "load failed on a billing blip": billing unreachable for a moment marked
  // the CSR's assignment failed, and the route never went to the hand-held.
  it(
    'fault finding load failed on a billing blip: a load waits while billing is unreachable and goes through ' +
      'after',
    async () => {
      const gw = await testGateway(sqlite, { label: 'r_blip', accounts: 200, routes: 2 });
      cleanup.push(() => gw.close());
      let outage = 3;
      const billing = Object.create(gw.ctx.billing) as typeof gw.ctx.billing;
      billing.routeRegisters = async (...args: Parameters<typeof billing.routeRegisters>) => {
        if (outage-- > 0)
          throw new BillingError('BILLING_UNAVAILABLE', 'billing database unreachable: connect ECONNREFUSED');
        return gw.ctx.billing.routeRegisters(...args);
      };
      const port = `tcp://127.0.0.1:${await freePort()}`;
      const { service, ctx } = dockService({ ...gw.ctx, billing }, [port], { approveAllDevices: true, pollMs: 100 });
      await service.start();
      cleanup.push(() => service.stop());
      const d = handheld(ctx, { deviceId: 'HH-0960', port });
      const welcomed = nextEvent(d, 'welcome');
      await d.start();
      cleanup.push(() => d.stop());
      await welcomed;
      const routeCode = (await ctx.billing.listRoutes())[0]!.code;
      const loaded = nextEvent(d, 'loaded', 20_000);
      await assignRoute(ctx, { routeCode, deviceId: 'HH-0960', actor: 'csr:test' });
      await loaded;
      expect(outage).toBeLessThan(0);
      await waitFor(
        () => ctx.store.db('dock_commands').where({ device_id: 'HH-0960', status: 'done' }).first(),
        'the load to be recorded',
      );
      expect(await ctx.store.db('dock_commands').where({ device_id: 'HH-0960' }).select('status')).toEqual([
        { status: 'done' },
      ]);
    },
  );

  // Fault suite finding "load not recorded": the gateway was killed after the hand-held said LOAD_OK
  // and before the load was committed; at the next dock its readings were refused as "not exported"
  // and the load command failed with ROUTE_PRESENT, the route stuck on the device.
  it('fault finding load not recorded: records a load the device holds as sent, and takes its readings', async () => {
    const r = await rig('r_lnr', 1);
    await r.service.start();
    cleanup.push(() => r.service.stop());
    const d = await dock(r, 0, 'HH-0970');
    await assignAndLoad(r, d, 'HH-0970', r.routes[0]!);
    // As if the gateway had died before committing the load: no route record, the command still pending.
    const route = (await r.db('routes').where({ route_code: r.routes[0]! }).first())!;
    for (const table of ['route_lines', 'route_events']) await r.db(table).where({ route_id: route.id }).delete();
    await r.db('routes').where({ id: route.id }).delete();
    await r.db('dock_commands').where({ device_id: 'HH-0970' }).update({ status: 'pending', done_at: null });
    d.readRoutes();
    const cleared = nextEvent(d, 'cleared', 20_000);
    d.redock();
    await cleared;
    const again = await waitFor(
      () => r.db('routes').where({ route_code: r.routes[0]!, state: 'cleared' }).first(),
      'the route to be cleared',
    );
    expect(Number((await r.db('readings').where({ route_id: again.id }).count({ n: '*' }).first())!.n)).toBe(
      route.records,
    );
    expect(await r.db('dock_commands').where({ device_id: 'HH-0970' }).select('status')).toEqual([{ status: 'done' }]);
  });

  it('refuses an unapproved device with UNKNOWN_DEVICE, lists it, and welcomes it once approved (no unplugging)', async () => {
    const r = await rig('r_approve', 1, { approveAll: false, retryAfterSeconds: 2 });
    await r.service.start();
    cleanup.push(() => r.service.stop());
    const d = await dock(r, 0, 'HH-0900', false);
    const [code, message] = await nextEvent<[string, string]>(d, 'refused');
    expect(code).toBe('UNKNOWN_DEVICE');
    expect(message).toContain('HH-0900');
    expect(await r.db('devices').where({ device_id: 'HH-0900' }).first()).toMatchObject({ approved: 0 });
    await expect(
      assignRoute(r.ctx, { routeCode: r.routes[0]!, deviceId: 'HH-0900', actor: 'csr:test' }),
    ).rejects.toMatchObject({ code: 'DEVICE_NOT_APPROVED' });
    await setDeviceApproved(r.db, 'HH-0900', true);
    // Revision 2: the link stayed open; the device says HELLO again after retryAfterSeconds, decided afresh.
    const started = Date.now();
    await nextEvent(d, 'welcome', 10_000);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('answers a HELLO for another protocol version with ERROR PROTO at seq 0, resent until ACKed, with when to retry', async () => {
    const r = await rig('r_proto', 1, { retryAfterSeconds: 7 });
    const device = new TcpListenTransport('127.0.0.1', Number(r.ports[0]!.split(':').at(-1)));
    await device.listen();
    cleanup.push(() => device.shutdown());
    const opened = device.open();
    await r.service.start();
    cleanup.push(() => r.service.stop());
    await opened;
    // The test reads frames itself: its link would ACK the refusal as a frame already seen.
    const framed = frameLink(device, { intercept: () => true });
    const answers: { type: number; seq: number; payload: Buffer }[] = [];
    framed.parser.on('data', (item) => 'frame' in item && answers.push(item.frame));
    const hello = { device: 'HH-0001', proto: 2, maxFrame: 1024, window: 8, routes: [] };
    await framed.link.sendRaw(FrameType.HELLO, 0, encodeMessage(FrameType.HELLO, hello));
    await waitFor(() => answers.find((f) => f.type === FrameType.ERROR), 'the refusal');
    expect(answers[0]).toEqual({ type: FrameType.ACK, seq: 0, payload: seqPayload(0) });
    const error = answers.find((f) => f.type === FrameType.ERROR)!;
    expect(error.seq).toBe(0);
    expect(decodeMessage(FrameType.ERROR, error.payload)).toMatchObject({ code: 'PROTO', retryAfterSeconds: 7 });
    expect(answers.some((f) => f.type === FrameType.WELCOME)).toBe(false);
    // Not ACKed: the refusal is resent like WELCOME; once ACKed, it stops.
    await waitFor(
      () => answers.filter((f) => f.type === FrameType.ERROR).length >= 2 || undefined,
      'the refusal again',
      5000,
    );
    await framed.link.sendRaw(FrameType.ACK, 0, seqPayload(0));
    await new Promise((r) => setTimeout(r, 100));
    const refusals = answers.filter((f) => f.type === FrameType.ERROR).length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(answers.filter((f) => f.type === FrameType.ERROR).length).toBe(refusals);
    framed.detach();
  });

  it('keeps a route on one device: a second assignment is refused with where the route is', async () => {
    const r = await rig('r_one', 2);
    await r.service.start();
    cleanup.push(() => r.service.stop());
    const first = await dock(r, 0, 'HH-0001');
    await dock(r, 1, 'HH-0002');
    await assignAndLoad(r, first, 'HH-0001', r.routes[0]!);
    const refused = assignRoute(r.ctx, { routeCode: r.routes[0]!, deviceId: 'HH-0002', actor: 'csr:test' });
    await expect(refused).rejects.toMatchObject({ code: 'ROUTE_ON_DEVICE', status: 409 });
    await expect(refused).rejects.toThrow(/loaded on HH-0001 .*re-load it with a reason/);
    await expect(
      reloadRoute(r.ctx, { routeCode: r.routes[0]!, deviceId: 'HH-0002', actor: 'csr:test' }),
    ).rejects.toMatchObject({ code: 'REASON_REQUIRED' });
  });

  it('re-loads a route onto another device with a reason, and the old device gives it up', async () => {
    const r = await rig('r_reload', 2);
    await r.service.start();
    cleanup.push(() => r.service.stop());
    const first = await dock(r, 0, 'HH-0001');
    const second = await dock(r, 1, 'HH-0002');
    const routeCode = r.routes[0]!;
    await assignAndLoad(r, first, 'HH-0001', routeCode);

    const loadedOnSecond = nextEvent(second, 'loaded');
    // HH-0001 sits in its dock holding the route with nothing read: it is told to clear it.
    const cleared = nextEvent(first, 'cleared');
    await reloadRoute(r.ctx, { routeCode, deviceId: 'HH-0002', reason: 'HH-0001 screen cracked', actor: 'csr:maria' });
    await loadedOnSecond;
    const route = await waitFor(async () => {
      const row = (await r.db('routes').where({ route_code: routeCode }).first())!;
      return row.device_id === 'HH-0002' && row.state === 'loaded' && row;
    }, 'the re-load to be recorded');
    const events = await r.db('route_events').where({ route_id: route.id }).orderBy('id');
    expect(events.find((e: { event: string }) => e.event === 'reset')).toMatchObject({
      actor: 'csr:maria',
      reason: 'HH-0001 screen cracked',
    });

    await cleared;
    expect(first.storage.meta(routeCode)).toBeUndefined();
    await waitFor(
      () => r.db('dock_commands').where({ device_id: 'HH-0001', command: 'clear', status: 'done' }).first(),
      'the clear command to be done',
    );
    expect((await r.db('routes').where({ route_code: routeCode }).first())!.device_id).toBe('HH-0002');
  });

  it('clears a route a CSR takes off a device, unloading its readings first', async () => {
    const r = await rig('r_clear', 1);
    await r.service.start();
    cleanup.push(() => r.service.stop());
    const d = await dock(r, 0, 'HH-0001');
    const routeCode = r.routes[1]!;
    await assignAndLoad(r, d, 'HH-0001', routeCode);
    await expect(clearRoute(r.ctx, { routeCode, actor: 'csr:test', reason: ' ' })).rejects.toMatchObject({
      code: 'REASON_REQUIRED',
    });
    await clearRoute(r.ctx, { routeCode, actor: 'csr:maria', reason: 'route re-cut by billing' });
    d.readRoutes();
    const lines = d.storage.readings(routeCode)!.toString('latin1').split('\r\n').filter(Boolean).length;
    const cleared = nextEvent(d, 'cleared');
    d.redock();
    await cleared;
    await waitFor(
      () => r.db('dock_commands').where({ command: 'clear', status: 'done' }).first(),
      'the clear command to be done',
    );
    const route = (await r.db('routes').where({ route_code: routeCode }).first())!;
    expect(route.state).toBe('cleared');
    expect(Number((await r.db('readings').where({ route_id: route.id }).count({ n: '*' }).first())!.n)).toBe(lines);
  });

  it('takes a route off a device while it sits in the dock, without waiting for it to dock again', async () => {
    const r = await rig('r_clear_idle', 1);
    await r.service.start();
    cleanup.push(() => r.service.stop());
    const d = await dock(r, 0, 'HH-0001');
    const routeCode = r.routes[0]!;
    await assignAndLoad(r, d, 'HH-0001', routeCode);
    const cleared = nextEvent(d, 'cleared');
    await clearRoute(r.ctx, { routeCode, actor: 'csr:maria', reason: 'reader went home sick' });
    await cleared;
    expect(d.storage.meta(routeCode)).toBeUndefined();
    const route = await waitFor(async () => {
      const row = (await r.db('routes').where({ route_code: routeCode }).first())!;
      return row.state === 'ready' && row;
    }, 'the route to be back to ready');
    const last = await r.db('route_events').where({ route_id: route.id }).orderBy('id', 'desc').first();
    expect(last).toMatchObject({ event: 'reset', actor: 'csr:maria', reason: 'reader went home sick' });
  });

  it('refuses a load the device already holds (ROUTE_PRESENT) and records why', async () => {
    const r = await rig('r_present', 1);
    await r.service.start();
    cleanup.push(() => r.service.stop());
    const d = await dock(r, 0, 'HH-0001');
    const routeCode = r.routes[0]!;
    await assignAndLoad(r, d, 'HH-0001', routeCode);
    await reloadRoute(r.ctx, { routeCode, deviceId: 'HH-0001', reason: 'send it again', actor: 'csr:test' });
    const failed = await waitFor(
      () => r.db('dock_commands').where({ status: 'failed' }).first(),
      'the refused load to be recorded',
    );
    expect(failed.detail).toMatch(/HH-0001 refused: ROUTE_PRESENT/);
    expect(r.service.status()[0]!.last).toMatch(/ROUTE_PRESENT/);
  });
});
