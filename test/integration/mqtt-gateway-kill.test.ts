import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import type { RouteMessage } from '../../adapters/mqtt/messages.js';
import { closeContext, openContext } from '../../src/flows/context.js';
import { loadConfig } from '../../src/infra/config/load.js';
import { assignRoute } from '../../src/flows/dock/dock-commands.js';
import { silentLogger } from '../../src/infra/log/logger.js';
import { FieldDevice } from '../../src/flows/sim/field-device/device.js';
import { gatewayDir, startGatewayProcess } from '../helpers/cli.js';
import { nextEvent, waitFor } from '../helpers/dock.js';
import { ownMosquitto } from '../helpers/mosquitto.js';

/**
 * The gateway process killed with SIGKILL while a device is sending batches through Mosquitto,
 * and started again: what it had not acknowledged comes again (the broker's persistent session,
 * and the device's own resend), and every reading is stored exactly once.
 */
describe('gateway killed mid-batch (MQTT)', () => {
  const cleanup = cleanupAfterEach();

  it('stores every reading once after a SIGKILL and a restart', async () => {
    const mosquitto = await ownMosquitto();
    cleanup.push(() => mosquitto.stop());
    const { dir, configFile } = gatewayDir('mqkill', 300, {
      dock: { pollMs: 200 },
      mqtt: { url: mosquitto.url, prefix: 'fgkill', outboxPollMs: 100 },
    });
    const first = await startGatewayProcess(configFile, dir, cleanup);
    const ctx = openContext(loadConfig({ file: configFile, env: {} }), silentLogger());
    cleanup.push(() => closeContext(ctx));
    const db = ctx.store.db;

    const device = new FieldDevice({
      deviceId: 'T-17',
      url: mosquitto.url,
      prefix: 'fgkill',
      dir: mkdtempSync(path.join(tmpdir(), 'fg-T17-')),
      batchSize: 20,
      window: 1,
      resendMs: 3000,
      reading: {
        routeLayout: ctx.layout('route-v1'),
        readLayout: ctx.layout('read-v1'),
        zone: ctx.config.timeZone,
        readerId: 'TAB01',
        seed: 3,
        now: () => new Date(),
      },
    });
    await device.start();
    cleanup.push(() => device.stop());
    await waitFor(() => db('devices').where({ device_id: 'T-17', online: true }).first(), 'the device online');
    const routeCode = (await ctx.billing.listRoutes())[0]!.code;
    const got = nextEvent<[RouteMessage]>(device, 'route');
    await assignRoute(ctx, { routeCode, deviceId: 'T-17', actor: 'csr:test' });
    const [route] = await got;
    await waitFor(
      () => db('routes').where({ route_code: routeCode, state: 'loaded' }).first(),
      'the load to be recorded',
    );

    let acks = 0;
    const three = new Promise<void>((resolve) => device.on('acked', () => ++acks === 3 && resolve()));
    const batches = device.readRoutes();
    await three;
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const storedWhenKilled = Number((await db('readings').count({ n: '*' }).first())!.n);
    expect(storedWhenKilled).toBeLessThan(route.records);
    await new Promise((r) => setTimeout(r, 1000)); // the device keeps sending into the broker meanwhile
    await startGatewayProcess(configFile, dir, cleanup);
    await waitFor(() => device.queued().length === 0, 'every batch to be acknowledged', 60_000);
    expect(Number((await db('readings').count({ n: '*' }).first())!.n)).toBe(route.records);
    expect(Number((await db('readings').countDistinct({ n: 'read_key' }).first())!.n)).toBe(route.records);
    expect(Number((await db('import_batches').where({ source: 'mqtt' }).count({ n: '*' }).first())!.n)).toBe(batches);
  });
});
