import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { assignRoute } from '../../src/flows/dock/dock-commands.js';
import { availableDialects } from '../helpers/databases.js';
import { dockService, freePort, handheld, nextEvent, waitFor } from '../helpers/dock.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { ptyPair } from '../helpers/pty.js';

/**
 * A morning and an afternoon at the dock, over a real PTY pair made by socat and over TCP (the
 * gateway connecting to a serial device server, played by the simulator): a 1,000-meter route
 * loads, is read, and its readings unload, commit, and only then are cleared from the device.
 */
async function lineFor(
  kind: 'pty' | 'tcp',
): Promise<{ gatewayPort: string; devicePort: string; close(): Promise<void> }> {
  if (kind === 'tcp') {
    const url = `tcp://127.0.0.1:${await freePort()}`;
    return { gatewayPort: url, devicePort: url, close: async () => undefined };
  }
  const pair = await ptyPair();
  return { gatewayPort: pair.a, devicePort: pair.b, close: () => pair.pull() };
}

describe.each(availableDialects())('docking a hand-held on $name', (dialect) => {
  const cleanup = cleanupAfterEach();

  async function rig(kind: 'pty' | 'tcp') {
    const gw: TestGateway = await testGateway(dialect, { label: `dock_${kind}`, accounts: 1010, routes: 1 });
    cleanup.push(() => gw.close());
    const line = await lineFor(kind);
    cleanup.push(() => line.close());
    const { service, ctx } = dockService(gw.ctx, [line.gatewayPort]);
    const device = handheld(ctx, { deviceId: 'HH-0042', port: line.devicePort });
    await device.start();
    cleanup.push(() => device.stop());
    const welcomed = nextEvent(device, 'welcome');
    await service.start();
    cleanup.push(() => service.stop());
    await welcomed;
    const [route] = await ctx.billing.listRoutes();
    return { gw, ctx, service, device, routeCode: route!.code };
  }

  async function loadAndRead(r: Awaited<ReturnType<typeof rig>>) {
    const loaded = nextEvent<[string, number]>(r.device, 'loaded');
    await assignRoute(r.ctx, { routeCode: r.routeCode, deviceId: 'HH-0042', actor: 'csr:test' });
    const [route, records] = await loaded;
    expect(route).toBe(r.routeCode);
    // LOAD_OK is on its way back: the load counts once the gateway recorded it.
    await waitFor(
      () => r.ctx.store.db('dock_commands').where({ route_code: r.routeCode, status: 'done' }).first(),
      'the load to be recorded',
    );
    r.device.readRoutes();
    return { records, readings: r.device.storage.readings(r.routeCode)! };
  }

  it.each(['pty', 'tcp'] as const)(
    'loads a 1,000-meter route, unloads its readings, commits, then clears (%s)',
    async (kind) => {
      const r = await rig(kind);
      const db = r.ctx.store.db;
      const { records, readings } = await loadAndRead(r);
      expect(records).toBeGreaterThanOrEqual(1000);
      const loadedRoute = await db('routes').where({ route_code: r.routeCode }).first();
      expect(loadedRoute).toMatchObject({ state: 'loaded', device_id: 'HH-0042', records });

      const cleared = nextEvent(r.device, 'cleared');
      r.device.redock();
      await cleared;
      // CLEARED is on its way back: the route counts as cleared once the gateway recorded it.
      const route = await waitFor(async () => {
        const row = (await db('routes').where({ route_code: r.routeCode }).first())!;
        return row.state === 'cleared' && row;
      }, 'the route to be recorded as cleared');
      const stored = Number((await db('readings').where({ route_id: route.id }).count({ n: '*' }).first())!.n);
      const rejected = Number((await db('import_batches').where({ source: 'dock' }).first())!.rejected);
      expect(stored + rejected).toBe(records);
      expect(rejected).toBe(0);
      const events = (await db('route_events').where({ route_id: route.id }).orderBy('id')).map(
        (e: { event: string }) => e.event,
      );
      expect(events).toEqual(['prepare', 'load', 'upload', 'commit', 'clear']);
      // The device holds nothing of the route any more.
      expect(r.device.storage.meta(r.routeCode)).toBeUndefined();
      expect(r.device.storage.readings(r.routeCode)).toBeNull();
      expect(readings.length).toBe(records * 141);
    },
  );

  it(
    'does not clear the device when the store cannot commit, and stores the upload once when it comes ' + 'again',
    async () => {
      const r = await rig('tcp');
      const db = r.ctx.store.db;
      const { records, readings } = await loadAndRead(r);
      const routeFile = r.device.storage.routeFile(r.routeCode);
      const meta = r.device.storage.meta(r.routeCode)!;

      // The store fails mid-import: nothing is committed, so nothing may be cleared.
      await db.schema.renameTable('readings', 'readings_away');
      let clearedEarly = false;
      r.device.on('cleared', () => (clearedEarly = true));
      r.device.redock();
      await waitFor(() => r.service.status()[0]!.last?.includes('not stored'), 'the failed import to be reported');
      expect(clearedEarly).toBe(false);
      expect(r.device.storage.readings(r.routeCode)!.equals(readings)).toBe(true);

      await db.schema.renameTable('readings_away', 'readings');
      const cleared = nextEvent(r.device, 'cleared');
      r.device.redock();
      await cleared;
      const count = async () => Number((await db('readings').count({ n: '*' }).first())!.n);
      expect(await count()).toBe(records);

      // The very same upload arrives again (a device restored from backup): stored once, cleared again.
      r.device.storage.beginLoad(meta, 0);
      r.device.storage.writeChunk(r.routeCode, 0, routeFile);
      r.device.storage.completeLoad(r.routeCode);
      r.device.storage.writeReadings(r.routeCode, readings);
      const clearedAgain = nextEvent(r.device, 'cleared');
      r.device.redock();
      await clearedAgain;
      expect(await count()).toBe(records);
      expect(Number((await db('import_batches').where({ source: 'dock' }).count({ n: '*' }).first())!.n)).toBe(1);
    },
  );
});
