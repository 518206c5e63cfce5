import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import type { RouteMessage } from '../../adapters/mqtt/messages.js';
import type { GatewayContext } from '../../src/flows/context.js';
import { assignRoute } from '../../src/flows/dock/dock-commands.js';
import { FieldService } from '../../src/flows/field/field-service.js';
import type { FieldDevice } from '../../src/flows/sim/field-device/device.js';
import { issueMqttSecret } from '../../src/infra/store/mqtt-accounts-repo.js';
import { openStore } from '../../src/infra/store/store.js';
import { availableDialects, type DialectFactory } from '../helpers/databases.js';
import { freePort, nextEvent, waitFor } from '../helpers/dock.js';
import { testGateway } from '../helpers/gateway.js';
import { ownMosquitto } from '../helpers/mosquitto.js';
import { availableBrokers, fieldConfig, fieldDevice, type BrokerUnderTest } from '../helpers/mqtt.js';
import { tcpProxy } from '../helpers/tcp-proxy.js';

/**
 * MQTT under faults. Each scenario sends a route's readings one batch at a time and breaks
 * something after the first few acknowledgements; each ends with every reading stored exactly
 * once and nothing left queued on the device.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;
const postgres = availableDialects().find((d) => d.name === 'postgres');

describe('MQTT faults', () => {
  const cleanup = cleanupAfterEach();

  async function rig(
    label: string,
    broker: BrokerUnderTest,
    opts: { dialect?: DialectFactory; brokerPort?: number } = {},
  ) {
    const gw = await testGateway(opts.dialect ?? sqlite, { label, accounts: 300, routes: 1 });
    cleanup.push(() => gw.close());
    const ctx = fieldConfig(
      gw.ctx,
      broker,
      opts.brokerPort
        ? { broker: { ...gw.ctx.config.mqtt.broker, host: '127.0.0.1', port: opts.brokerPort, portFallback: false } }
        : {},
    );
    let field = new FieldService(ctx);
    await field.start();
    cleanup.push(() => field.stop());
    const secret = await issueMqttSecret(ctx.store.db, 'T-17', 'device', ctx.clock());
    const device = fieldDevice(ctx, field, { deviceId: 'T-17', secret, batchSize: 20, window: 1, resendMs: 3000 });
    await device.start();
    cleanup.push(() => device.stop());
    await waitFor(
      () => ctx.store.db('devices').where({ device_id: 'T-17', online: true }).first(),
      'the device online',
    );
    const routeCode = (await ctx.billing.listRoutes())[0]!.code;
    const got = nextEvent<[RouteMessage]>(device, 'route');
    await assignRoute(ctx, { routeCode, deviceId: 'T-17', actor: 'csr:test' });
    const [route] = await got;
    await waitFor(
      () => ctx.store.db('routes').where({ route_code: routeCode, state: 'loaded' }).first(),
      'the load to be recorded',
    );
    return {
      ctx,
      device,
      route,
      get field() {
        return field;
      },
      /** The gateway (and an embedded broker with it) stopped and started again. */
      async restartGateway(using: GatewayContext = ctx) {
        await field.stop();
        field = new FieldService(using);
        await field.start();
      },
    };
  }

  /** Reads the route, waits for `after` acks, breaks something, and checks that every reading is stored once. */
  async function sendThrough(
    r: { ctx: GatewayContext; device: FieldDevice; route: RouteMessage },
    after: number,
    fault: () => Promise<void>,
    timeoutMs = 60_000,
  ) {
    let acks = 0;
    const faulted = new Promise<void>((resolve) => {
      r.device.on('acked', () => {
        if (++acks === after) resolve();
      });
    });
    const batches = r.device.readRoutes();
    expect(batches).toBeGreaterThan(after + 2);
    await faulted;
    await fault();
    await waitFor(() => r.device.queued().length === 0, 'every batch to be acknowledged', timeoutMs);
    const db = r.ctx.store.db;
    const stored = Number((await db('readings').count({ n: '*' }).first())!.n);
    const distinct = Number((await db('readings').countDistinct({ n: 'read_key' }).first())!.n);
    expect({ stored, distinct }).toEqual({ stored: r.route.records, distinct: r.route.records });
    expect(Number((await db('import_batches').where({ source: 'mqtt' }).count({ n: '*' }).first())!.n)).toBe(batches);
  }

  it.each(availableBrokers())(
    'a device that drops off the network mid-stream catches up once back ($name)',
    async (broker) => {
      const r = await rig('mqf_off', broker);
      await sendThrough(r, 3, async () => {
        r.device.goOffline();
        // The broker publishes the device's last will: the gateway shows it offline.
        await waitFor(
          () => r.ctx.store.db('devices').where({ device_id: 'T-17', online: false }).first(),
          'the device shown offline',
          10_000,
        );
        r.device.goOnline();
      });
      expect(await r.ctx.store.db('devices').where({ device_id: 'T-17' }).first()).toMatchObject({
        online: expect.anything(),
        app_version: 'fieldgate-sim 1.0',
      });
    },
  );

  it('the embedded broker restarted with the gateway mid-stream', async () => {
    const r = await rig('mqf_emb', { name: 'embedded', url: null }, { brokerPort: await freePort() });
    await sendThrough(r, 3, () => r.restartGateway());
  });

  it('a Mosquitto restarted mid-stream (its own instance, persistence on)', async () => {
    const mosquitto = await ownMosquitto();
    cleanup.push(() => mosquitto.stop());
    const r = await rig('mqf_mosq', { name: 'mosquitto', url: mosquitto.url });
    await sendThrough(r, 3, () => mosquitto.restart(1000));
  });

  it.skipIf(!postgres)(
    'PostgreSQL unreachable for 30 s while the device publishes',
    async () => {
      const r = await rig(
        'mqf_pg',
        { name: 'embedded', url: null },
        { dialect: postgres, brokerPort: await freePort() },
      );
      const url = new URL(r.ctx.config.store.url);
      const proxy = await tcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
      cleanup.push(() => proxy.close());
      url.port = String(proxy.port);
      const store = openStore(url.toString());
      cleanup.push(() => store.close());
      const proxied = { ...r.ctx, store };
      await r.restartGateway(proxied);
      // Stop the gateway before its store closes (cleanup runs in reverse).
      cleanup.push(() => r.field.stop());
      await sendThrough({ ...r, ctx: proxied }, 3, () => proxy.cut(30_000), 90_000);
    },
    120_000,
  );
});
