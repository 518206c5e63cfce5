import { connect as tcpConnect } from 'node:net';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { assignRoute } from '../../src/flows/dock/dock-commands.js';
import { connectLevel } from '../../adapters/mqtt/mqtt5-bridge.js';
import { issueMqttSecret } from '../../src/infra/store/mqtt-accounts-repo.js';
import { availableDialects } from '../helpers/databases.js';
import { waitFor } from '../helpers/dock.js';
import { testGateway } from '../helpers/gateway.js';
import { brokerClients, fieldConfig, fieldDevice, startField } from '../helpers/mqtt.js';

/**
 * MQTT 5 clients on the embedded broker (aedes speaks 3.1.1; the bridge in front of it speaks 5):
 * a tablet reads a whole route over MQTT 5, a wmbusmeters receiver's telegram is acknowledged
 * after the commit, refusals carry MQTT 5 reason codes, and what the broker does not offer is
 * said in the CONNACK (and refused when used anyway).
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;
const embedded = { name: 'embedded' as const, url: null };

describe('MQTT 5 clients on the embedded broker', () => {
  const cleanup = cleanupAfterEach();

  async function rig(label: string) {
    const gw = await testGateway(sqlite, { label, accounts: 200, routes: 2 });
    cleanup.push(() => gw.close());
    const ctx = fieldConfig(gw.ctx, embedded);
    const field = await startField(ctx);
    cleanup.push(() => field.stop());
    const clients = brokerClients(() => field.brokerUrl, 3000);
    cleanup.push(() => clients.closeAll());
    return { gw, ctx, field, clients, db: ctx.store.db };
  }

  it('carries a route to an MQTT 5 tablet and every reading back, each batch acknowledged once', async () => {
    const r = await rig('mq5_flow');
    const secret = await issueMqttSecret(r.db, 'T-5', 'device', r.ctx.clock());
    const device = fieldDevice(r.ctx, r.field, { deviceId: 'T-5', secret, batchSize: 40, protocolVersion: 5 });
    await device.start();
    cleanup.push(() => device.stop());
    await waitFor(() => r.db('devices').where({ device_id: 'T-5', online: true }).first(), 'T-5 online');
    const routeCode = (await r.ctx.billing.listRoutes())[0]!.code;
    await assignRoute(r.ctx, { routeCode, deviceId: 'T-5', actor: 'csr:test' });
    const loaded = await waitFor(
      () => r.db('routes').where({ route_code: routeCode, state: 'loaded', device_id: 'T-5' }).first(),
      'the route to be loaded on the tablet',
    );
    const acks: string[] = [];
    device.on('acked', (a: { batchId: string; status: string }) => acks.push(a.status));
    const batches = device.readRoutes();
    await waitFor(() => device.queued().length === 0, 'every batch to be acknowledged');
    expect(acks).toEqual(new Array(batches).fill('stored'));
    const stored = Number((await r.db('readings').where({ route_id: loaded.id }).count({ n: '*' }).first())!.n);
    expect(stored).toBe(loaded.records);
  });

  it('stores a wmbusmeters telegram sent over MQTT 5 with message properties', async () => {
    const r = await rig('mq5_wmbus');
    const water = (await r.ctx.billing.meterRegisters()).find(
      (m) => m.uom === 'GAL' && m.radioId && Number(m.dials) >= 6,
    )!;
    const secret = await issueMqttSecret(r.db, 'WMB-5', 'radio', r.ctx.clock());
    const receiver = await r.clients.connect({
      clientId: 'WMB-5',
      username: 'WMB-5',
      password: secret,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 3600 },
    });
    const id = String(water.radioId);
    await receiver.publishAsync(
      `wmbusmeters/${id}`,
      JSON.stringify({
        _: 'telegram',
        media: 'water',
        meter: 'iperl',
        id,
        total_m3: 42.5,
        timestamp: '2026-11-23T15:00:05Z',
      }),
      { qos: 1, properties: { userProperties: { receiver: 'attic' }, contentType: 'application/json' } },
    );
    const read = await waitFor(
      () =>
        r
          .db('ami_register_reads')
          .where({ meter_id: String(water.meterId), source: 'wmbusmeters' })
          .first(),
      'the telegram to be stored',
    );
    expect(read?.value).toBeCloseTo(42.5 * 264.172052, 6);
  });

  it('answers in MQTT 5: CONNACK properties, reason codes for refusals, SUBACK and UNSUBACK codes', async () => {
    const r = await rig('mq5_codes');
    const secret = await issueMqttSecret(r.db, 'T-6', 'device', r.ctx.clock());
    expect(
      await r.clients.refusal({ clientId: 'T-6', username: 'T-6', password: `${secret}x`, protocolVersion: 5 }),
    ).toBe('134');
    expect(await r.clients.refusal({ clientId: 'anon', protocolVersion: 5 })).toBe('135');

    const connacks: mqtt.IConnackPacket[] = [];
    const client = mqtt.connect(r.field.brokerUrl, {
      clientId: 'T-6',
      username: 'T-6',
      password: secret,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    cleanup.push(() => client.endAsync(true));
    client.on('connect', (p) => connacks.push(p));
    await waitFor(() => connacks.length > 0 || undefined, 'the CONNACK');
    expect(connacks[0]!.reasonCode).toBe(0);
    expect(connacks[0]!.properties).toMatchObject({
      topicAliasMaximum: 0,
      sharedSubscriptionAvailable: false,
      subscriptionIdentifiersAvailable: false,
      maximumPacketSize: r.ctx.config.mqtt.broker.maxPacketBytes,
    });
    const prefix = r.ctx.config.mqtt.prefix;
    const own = await client.subscribeAsync(`${prefix}/devices/T-6/#`, { qos: 1 });
    expect(own[0]!.qos).toBe(1);
    // Someone else's topics: refused with "not authorized" (0x87), and the client stays connected.
    await expect(client.subscribeAsync(`${prefix}/devices/T-7/acks`, { qos: 1 })).rejects.toThrow();
    expect(client.connected).toBe(true);
    await client.unsubscribeAsync([`${prefix}/devices/T-6/#`, `${prefix}/devices/T-6/acks`]);
    expect(client.connected).toBe(true);
  });

  it("sends a client's will when it disconnects with reason 0x04, and not on a plain DISCONNECT", async () => {
    const r = await rig('mq5_will');
    const prefix = r.ctx.config.mqtt.prefix;
    const online = async (id: string) => Boolean((await r.db('devices').where({ device_id: id }).first())?.online);
    for (const [id, reasonCode] of [
      ['T-9', 0x04],
      ['T-10', 0x00],
    ] as const) {
      const secret = await issueMqttSecret(r.db, id, 'device', r.ctx.clock());
      const status = `${prefix}/devices/${id}/status`;
      const c = await r.clients.connect({
        clientId: id,
        username: id,
        password: secret,
        protocolVersion: 5,
        will: { topic: status, payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
      });
      await c.publishAsync(status, JSON.stringify({ online: true, battery: 80 }), { qos: 1, retain: true });
      await waitFor(async () => (await online(id)) || undefined, `${id} online`);
      await c.endAsync(false, { reasonCode });
    }
    await waitFor(async () => !(await online('T-9')) || undefined, 'T-9 offline by its will');
    expect(await online('T-10')).toBe(true);
  });

  it('refuses what it does not offer: enhanced authentication, and a topic alias', async () => {
    const r = await rig('mq5_refuse');
    const secret = await issueMqttSecret(r.db, 'T-8', 'device', r.ctx.clock());
    const port = Number(new URL(r.field.brokerUrl).port);
    /** Sends a raw MQTT 5 CONNECT, then `after` once the CONNACK came; returns what came back until the broker closed. */
    const exchange = (connect: object, after: object[] = []) =>
      new Promise<mqttPacket.Packet[]>((resolve) => {
        const got: mqttPacket.Packet[] = [];
        const parser = mqttPacket.parser({ protocolVersion: 5 });
        const send = (p: object) => socket.write(mqttPacket.generate(p as mqttPacket.Packet, { protocolVersion: 5 }));
        parser.on('packet', (p: mqttPacket.Packet) => {
          got.push(p);
          if (p.cmd === 'connack') after.forEach(send);
        });
        const socket = tcpConnect(port, '127.0.0.1', () => send(connect));
        socket.on('data', (d) => parser.parse(d));
        socket.on('close', () => resolve(got));
        socket.on('error', () => undefined);
        setTimeout(() => socket.destroy(), 3000);
      });
    const login = {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      clientId: 'T-8',
      username: 'T-8',
      password: Buffer.from(secret),
      keepalive: 30,
    };
    const enhanced = await exchange({ ...login, properties: { authenticationMethod: 'SCRAM-SHA-1' } });
    expect(enhanced.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode])).toEqual([['connack', 0x8c]]);
    const aliased = await exchange(login, [
      {
        cmd: 'publish',
        topic: `${r.ctx.config.mqtt.prefix}/devices/T-8/status`,
        payload: '{}',
        qos: 0,
        properties: { topicAlias: 1 },
      },
    ]);
    expect(aliased.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode])).toEqual([
      ['connack', 0],
      ['disconnect', 0x94],
    ]);
  });

  it('reads the protocol level from the first bytes of a connection', () => {
    const v5 = mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: 'x',
      clean: true,
      keepalive: 0,
    } as mqttPacket.Packet);
    const v4 = mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'x',
      clean: true,
      keepalive: 0,
    } as mqttPacket.Packet);
    const v3 = mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQIsdp',
      protocolVersion: 3,
      clientId: 'x',
      clean: true,
      keepalive: 0,
    } as mqttPacket.Packet);
    expect([connectLevel(v5), connectLevel(v4), connectLevel(v3)]).toEqual([5, 4, 3]);
    expect(connectLevel(v5.subarray(0, 8))).toBeUndefined();
    expect(connectLevel(Buffer.from([0x30, 0x00]))).toBeNull();
  });
});
