import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import type { RouteMessage } from '../../adapters/mqtt/messages.js';
import { assignRoute } from '../../src/flows/dock/dock-commands.js';
import { issueMqttSecret } from '../../src/infra/store/mqtt-accounts-repo.js';
import { availableDialects } from '../helpers/databases.js';
import { nextEvent, waitFor } from '../helpers/dock.js';
import { testGateway } from '../helpers/gateway.js';
import { simulateReads } from '../helpers/read-file.js';
import { availableBrokers, fieldConfig, fieldDevice, startField } from '../helpers/mqtt.js';

/**
 * A tablet in the field over MQTT, on the embedded broker and on this machine's Mosquitto: it
 * gets its route, reads it, and sends its readings in batches; each batch is stored once and
 * acknowledged after the commit; a bad payload is answered with the field named and kept.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;

describe.each(availableBrokers())('field devices over MQTT ($name broker)', (broker) => {
  const cleanup = cleanupAfterEach();

  async function rig(label: string, deviceOpts: { resendMs?: number } = {}) {
    const gw = await testGateway(sqlite, { label, accounts: 300, routes: 2 });
    cleanup.push(() => gw.close());
    const ctx = fieldConfig(gw.ctx, broker);
    const field = await startField(ctx);
    cleanup.push(() => field.stop());
    const secret = await issueMqttSecret(ctx.store.db, 'T-17', 'device', ctx.clock());
    const device = fieldDevice(ctx, field, { deviceId: 'T-17', secret, batchSize: 40, ...deviceOpts });
    await device.start();
    cleanup.push(() => device.stop());
    await waitFor(
      () => ctx.store.db('devices').where({ device_id: 'T-17', online: true }).first(),
      'the device to say it is online',
    );
    const routeCode = (await ctx.billing.listRoutes())[0]!.code;
    return { ctx, field, device, routeCode, db: ctx.store.db };
  }

  /** A device app of the test's own on a raw MQTT client: online, subscribed to its topics, every message kept. */
  async function rawTablet(r: Awaited<ReturnType<typeof rig>>, deviceId: string) {
    const secret = await issueMqttSecret(r.ctx.store.db, deviceId, 'device', r.ctx.clock());
    const tablet = await mqtt.connectAsync(r.field.brokerUrl, {
      clientId: deviceId,
      username: deviceId,
      password: secret,
      reconnectPeriod: 0,
      protocolVersion: 4,
    });
    cleanup.push(() => tablet.endAsync(true));
    const prefix = `${r.ctx.config.mqtt.prefix}/devices/${deviceId}`;
    const inbox: { topic: string; body: string }[] = [];
    tablet.on('message', (topic, payload) => inbox.push({ topic, body: payload.toString('utf8') }));
    await tablet.subscribeAsync(`${prefix}/#`, { qos: 1 });
    await tablet.publishAsync(`${prefix}/status`, JSON.stringify({ online: true, battery: 90 }), { qos: 1 });
    await waitFor(() => r.db('devices').where({ device_id: deviceId, online: true }).first(), `${deviceId} online`);
    /** The route the gateway sent it, once it has come. */
    const route = async (code: string) =>
      JSON.parse(
        (await waitFor(() => inbox.find((m) => m.topic === `${prefix}/route/${code}` && m.body), 'the route to arrive'))
          .body,
      ) as RouteMessage;
    return { tablet, prefix, inbox, route };
  }

  it('sends a route down, and stores every reading of it once, acknowledged batch by batch', async () => {
    const r = await rig('mq_flow');
    const got = nextEvent<[RouteMessage]>(r.device, 'route');
    await assignRoute(r.ctx, { routeCode: r.routeCode, deviceId: 'T-17', actor: 'csr:test' });
    const [route] = await got;
    const loaded = await waitFor(
      () => r.db('routes').where({ route_code: r.routeCode, state: 'loaded', device_id: 'T-17' }).first(),
      'the route to be recorded as loaded',
    );
    expect(route.records).toBe(loaded.records);

    const acks: string[] = [];
    r.device.on('acked', (a) => acks.push(`${a.batchId}:${a.status}`));
    const batches = r.device.readRoutes();
    expect(batches).toBeGreaterThan(3);
    await waitFor(() => r.device.queued().length === 0, 'every batch to be acknowledged');
    expect(acks.filter((a) => a.endsWith(':stored'))).toHaveLength(batches);
    const stored = Number((await r.db('readings').where({ route_id: loaded.id }).count({ n: '*' }).first())!.n);
    expect(stored).toBe(route.records);
    expect((await r.db('routes').where({ id: loaded.id }).first())!.state).toBe('committed');
    // Partial batches do not call the rest of the route "not read".
    expect(await r.db('exceptions').where({ kind: 'NOT_READ' }).first()).toBeUndefined();
  });

  // Fault suite finding "route read twice": a broker restart redelivered the retained route to a
  // device that had already read it, and the simulator read the route again (60 readings for 30 meters).
  it(
    'fault finding route read twice: a device given a route it has read already confirms it and does not read it ' +
      'again',
    async () => {
      const r = await rig('mq_again');
      const got = nextEvent<[RouteMessage]>(r.device, 'route');
      await assignRoute(r.ctx, { routeCode: r.routeCode, deviceId: 'T-17', actor: 'csr:test' });
      const [route] = await got;
      await waitFor(
        () => r.db('routes').where({ route_code: r.routeCode, state: 'loaded', device_id: 'T-17' }).first(),
        'the route to be recorded as loaded',
      );
      const acks: string[] = [];
      r.device.on('acked', (a) => acks.push(a.status));
      const batches = r.device.readRoutes();
      await waitFor(() => acks.length === batches, 'every batch to be acknowledged');
      // The same route again, as a reconnect delivers a retained message.
      let again = 0;
      r.device.on('route', () => again++);
      const publisher = await mqtt.connectAsync(
        r.field.brokerUrl,
        r.field.broker
          ? {
              username: r.field.broker.gatewayLogin.username,
              password: r.field.broker.gatewayLogin.password,
              clientId: `${r.field.broker.gatewayLogin.username}-t`,
            }
          : { clientId: 'fg-test-publisher' },
      );
      cleanup.push(() => publisher.endAsync(true));
      await publisher.publishAsync(
        `${r.ctx.config.mqtt.prefix}/devices/T-17/route/${route.route}`,
        JSON.stringify(route),
        { qos: 1 },
      );
      await new Promise((res) => setTimeout(res, 500));
      expect(again).toBe(0);
      expect(r.device.readRoutes()).toBe(0);
      expect(Number((await r.db('readings').count({ n: '*' }).first())!.n)).toBe(route.records);
    },
  );

  // Fault suite finding "readings before the route's confirmation": with the store down and the
  // gateway killed, a device's readings were handled before its routes/ack, refused as "route not
  // exported", and set aside on the device: never billed.
  it(
    'fault finding readings before the route ack: stores readings of a sent route whose confirmation has not been ' +
      'handled',
    async () => {
      const r = await rig('mq_early');
      const { tablet, prefix, inbox, route: routeOf } = await rawTablet(r, 'T-18');
      await assignRoute(r.ctx, { routeCode: r.routeCode, deviceId: 'T-18', actor: 'csr:test' });
      const route = await routeOf(r.routeCode);
      // No routes/ack: the readings come first.
      const day = simulateReads(
        r.ctx,
        route.lines.map((l) => `${l}\r\n`).join(''),
        new Date('2026-11-23T14:00:00Z'),
        9,
      );
      await tablet.publishAsync(
        `${prefix}/readings`,
        JSON.stringify({ batchId: 'EARLY-1', route: route.route, cycle: route.cycle, final: true, lines: day.lines }),
        { qos: 1 },
      );
      const ack = await waitFor(
        () => inbox.find((m) => m.topic === `${prefix}/acks` || m.topic === `${prefix}/errors`),
        'an answer to the batch',
      );
      expect(ack.topic).toBe(`${prefix}/acks`);
      expect(JSON.parse(ack.body)).toMatchObject({ batchId: 'EARLY-1', status: 'stored', lines: route.records });
      const loaded = (await r.db('routes').where({ route_code: r.routeCode, device_id: 'T-18' }).first())!;
      expect(loaded).toBeDefined();
      expect(Number((await r.db('readings').where({ route_id: loaded.id }).count({ n: '*' }).first())!.n)).toBe(
        route.records,
      );
      expect(await r.db('dock_commands').where({ device_id: 'T-18', status: 'pending' }).first()).toBeUndefined();
    },
  );

  // Fault suite finding "confirmed twice at once": a device's routes/ack and two of its batches were
  // handled at the same moment; each tried to record the load, and the losers were refused.
  it('fault finding confirmed twice at once: a route ack and readings handled together all go through', async () => {
    const r = await rig('mq_race');
    const { prefix, route: routeOf } = await rawTablet(r, 'T-19');
    await assignRoute(r.ctx, { routeCode: r.routeCode, deviceId: 'T-19', actor: 'csr:test' });
    const route = await routeOf(r.routeCode);
    const day = simulateReads(r.ctx, route.lines.map((l) => `${l}\r\n`).join(''), new Date('2026-11-23T14:00:00Z'), 9);
    const half = Math.ceil(day.lines.length / 2);
    const message = (kind: 'readings' | 'routes/ack', body: unknown) => ({
      deviceId: 'T-19',
      kind,
      topic: `${prefix}/${kind}`,
      payload: Buffer.from(JSON.stringify(body)),
    });
    await Promise.all([
      r.field.handle(message('routes/ack', { route: route.route, sha256: route.sha256 })),
      r.field.handle(
        message('readings', {
          batchId: 'RACE-1',
          route: route.route,
          cycle: route.cycle,
          final: false,
          lines: day.lines.slice(0, half),
        }),
      ),
      r.field.handle(
        message('readings', {
          batchId: 'RACE-2',
          route: route.route,
          cycle: route.cycle,
          final: true,
          lines: day.lines.slice(half),
        }),
      ),
    ]);
    expect(await r.db('exceptions').where({ kind: 'BAD_MESSAGE' }).first()).toBeUndefined();
    const loaded = (await r.db('routes').where({ route_code: r.routeCode, device_id: 'T-19' }).first())!;
    expect(Number((await r.db('readings').where({ route_id: loaded.id }).count({ n: '*' }).first())!.n)).toBe(
      route.records,
    );
  });

  it('stores a batch that arrives again (a lost ack) once, and answers the copy as a duplicate', async () => {
    const r = await rig('mq_twice');
    await assignRoute(r.ctx, { routeCode: r.routeCode, deviceId: 'T-17', actor: 'csr:test' });
    const [route] = await nextEvent<[RouteMessage]>(r.device, 'route');
    await waitFor(
      () => r.db('routes').where({ route_code: r.routeCode, state: 'loaded' }).first(),
      'the load to be recorded',
    );
    const batches = r.device.readRoutes();
    // What the device sent, kept aside before the acks clear its queue.
    const sent = r.device.queuedPayloads();
    expect(sent).toHaveLength(batches);
    await waitFor(() => r.device.queued().length === 0, 'every batch to be acknowledged');
    const duplicates: string[] = [];
    r.device.on('acked', (a) => a.status === 'duplicate' && duplicates.push(a.batchId));
    for (const payload of sent) await r.device.sendRaw('readings', payload);
    await waitFor(() => duplicates.length === batches, 'every copy to be answered as a duplicate');
    expect(Number((await r.db('readings').count({ n: '*' }).first())!.n)).toBe(route.records);
    expect(Number((await r.db('import_batches').where({ source: 'mqtt' }).count({ n: '*' }).first())!.n)).toBe(batches);
  });

  it("answers a bad payload on the device's error topic, naming the field, and keeps it for a CSR", async () => {
    const r = await rig('mq_bad');
    const errors = nextEvent<[{ code: string; field: string | null; message: string; batchId: string | null }]>(
      r.device,
      'gatewayError',
    );
    await r.device.sendRaw('readings', JSON.stringify({ batchId: 'B-1', route: r.routeCode, lines: [] }));
    const [err] = await errors;
    expect(err).toMatchObject({ batchId: 'B-1', code: 'BAD_MESSAGE', field: 'lines' });
    const kept = await waitFor(
      () => r.db('exceptions').where({ kind: 'BAD_MESSAGE' }).first(),
      'the bad message to be kept',
    );
    expect(kept).toMatchObject({ source: 'mqtt', field: 'lines', status: 'open' });
    expect(JSON.parse(kept.raw!)).toMatchObject({ batchId: 'B-1' });
  });
});
