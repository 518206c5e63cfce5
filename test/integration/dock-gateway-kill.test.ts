import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { closeContext, openContext } from '../../src/flows/context.js';
import { loadConfig } from '../../src/infra/config/load.js';
import { assignRoute } from '../../src/flows/dock/dock-commands.js';
import { silentLogger } from '../../src/infra/log/logger.js';
import { gatewayDir, startGatewayProcess } from '../helpers/cli.js';
import { freePort, handheld, nextEvent, waitFor } from '../helpers/dock.js';

/**
 * The gateway process killed with SIGKILL in the middle of an unload, and started again: the
 * readings already received are on disk, the unload resumes from there, every reading is
 * stored once, and the device is cleared only after the restarted gateway committed them.
 */
describe('gateway killed mid-unload', () => {
  const cleanup = cleanupAfterEach();

  it('resumes from the bytes on disk and stores every reading once', async () => {
    const port = `tcp://127.0.0.1:${await freePort()}`;
    const { dir, configFile } = gatewayDir('kill', 1010, { dock: { ports: [{ path: port }] } });
    const first = await startGatewayProcess(configFile, dir, cleanup);
    const ctx = openContext(loadConfig({ file: configFile, env: {} }), silentLogger());
    cleanup.push(() => closeContext(ctx));
    const db = ctx.store.db;

    // Paced like a hand-held's 230,400-baud cable, so there is time to kill the gateway mid-way.
    const device = handheld(ctx, { deviceId: 'HH-0042', port, paceBaud: 230_400, now: () => new Date() });
    const unloads: number[] = [];
    device.on('unloadBegin', (_route, from) => unloads.push(from));
    await device.start();
    cleanup.push(() => device.stop());
    await nextEvent(device, 'welcome');

    const [route] = await ctx.billing.listRoutes();
    const loaded = nextEvent<[string, number]>(device, 'loaded', 60_000);
    await assignRoute(ctx, { routeCode: route!.code, deviceId: 'HH-0042', actor: 'csr:test' });
    const [, records] = await loaded;
    await waitFor(() => db('dock_commands').where({ status: 'done' }).first(), 'the load to be recorded');
    device.readRoutes();
    const readings = device.storage.readings(route!.code)!;
    device.redock();

    const spoolDir = path.join(dir, 'data', 'dock', 'incoming', 'HH-0042');
    const spooled = () => {
      try {
        return readdirSync(spoolDir).reduce((n, f) => n + statSync(path.join(spoolDir, f)).size, 0);
      } catch {
        return 0;
      }
    };
    await waitFor(() => spooled() > 0.4 * readings.length, 'the unload to be 40% on disk');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const kept = spooled();
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(readings.length);
    expect(device.storage.readings(route!.code)).not.toBeNull();

    const cleared = nextEvent(device, 'cleared', 60_000);
    await startGatewayProcess(configFile, dir, cleanup);
    await cleared;
    const row = await waitFor(async () => {
      const r = (await db('routes').where({ route_code: route!.code }).first())!;
      return r.state === 'cleared' && r;
    }, 'the route to be recorded as cleared');
    const count = Number((await db('readings').where({ route_id: row.id }).count({ n: '*' }).first())!.n);
    expect(count).toBe(records);
    expect(Number((await db('import_batches').where({ source: 'dock' }).count({ n: '*' }).first())!.n)).toBe(1);
    expect(unloads[0]).toBe(0);
    expect(unloads.at(-1)).toBeGreaterThanOrEqual(kept - 8192);
    expect(unloads.at(-1)).toBeGreaterThan(0);
  });
});
