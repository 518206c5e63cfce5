import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayContext } from '../../src/flows/context.js';
import { packageRoot } from '../../src/infra/config/paths.js';
import type { FieldService } from '../../src/flows/field/field-service.js';
import { availableDialects } from '../helpers/databases.js';
import { waitFor } from '../helpers/dock.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { ownMosquitto, type OwnMosquitto } from '../helpers/mosquitto.js';
import { fieldConfig, startField } from '../helpers/mqtt.js';

/**
 * Security finding 2 on an external broker: Mosquitto set up as docs/mqtt.md says, with the
 * project's own ACL file (config/mosquitto/fieldgate.acl). A CSR login that connects with the
 * gateway's client id gets its own session, not the gateway's; a device publishes only as itself.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;
const USERS = { 'fieldgate-gw1': 'gw-secret-1', 'T-A': 'device-a-secret', maria: 'csr-secret' };

describe('Mosquitto with the documented ACL', () => {
  let gw: TestGateway;
  let ctx: GatewayContext;
  let field: FieldService;
  let broker: OwnMosquitto;
  const clients: mqtt.MqttClient[] = [];

  beforeAll(async () => {
    broker = await ownMosquitto({
      secure: { users: USERS, aclFile: path.join(packageRoot, 'config', 'mosquitto', 'fieldgate.acl') },
    });
    gw = await testGateway(sqlite, { label: 'mq_acl', accounts: 20, routes: 1 });
    ctx = fieldConfig(
      gw.ctx,
      { name: 'mosquitto', url: broker.url },
      { prefix: 'fieldgate', username: 'fieldgate-gw1', password: USERS['fieldgate-gw1'], consumers: 1 },
    );
    field = await startField(ctx);
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await field?.stop();
    await broker?.stop();
    await gw?.close();
  });

  const connect = async (username: keyof typeof USERS, opts: mqtt.IClientOptions = {}) => {
    const client = await mqtt.connectAsync(broker.url, {
      reconnectPeriod: 0,
      connectTimeout: 5000,
      protocolVersion: 5,
      username,
      password: USERS[username],
      ...opts,
    });
    clients.push(client);
    return client;
  };
  const badMessages = async (device: string) =>
    Number(
      (
        (await ctx.store
          .db('exceptions')
          .where({ source: 'mqtt', kind: 'BAD_MESSAGE' })
          .whereLike('message', `${device} on %`)
          .count({ n: '*' })
          .first()) as { n: number }
      ).n,
    );

  it('refuses anonymous clients and wrong passwords', async () => {
    await expect(mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 3000 })).rejects.toThrow();
    await expect(
      mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 3000, username: 'T-A', password: 'wrong' }),
    ).rejects.toThrow();
  });

  it("a CSR login with the gateway's client id does not take the gateway's session or its messages", async () => {
    const device = await connect('T-A', { clientId: 'anything' });
    await device.publishAsync('fieldgate/devices/T-A/readings', 'not json', { qos: 1 });
    await waitFor(
      async () => (await badMessages('T-A')) === 1 || undefined,
      "the gateway to take the device's message",
    );

    const intruder = await connect('maria', {
      clientId: field.clientId,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    const stolen: string[] = [];
    intruder.on('message', (topic) => stolen.push(topic));
    await intruder.subscribeAsync('$share/fieldgate/fieldgate/devices/+/readings', { qos: 1 }).catch(() => undefined);
    await intruder.subscribeAsync('fieldgate/devices/+/readings', { qos: 1 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    expect(field.health()).toMatchObject({ state: 'running' });

    for (let i = 0; i < 3; i++)
      await device.publishAsync('fieldgate/devices/T-A/readings', `still not json ${i}`, { qos: 1 });
    await waitFor(async () => (await badMessages('T-A')) === 4 || undefined, 'the gateway to take every later message');
    expect(stolen).toEqual([]);
    expect(field.health()).toMatchObject({ state: 'running' });
  });

  it('a device cannot publish as another device: the gateway never hears it', async () => {
    const device = await connect('T-A');
    await device.publishAsync('fieldgate/devices/T-B/readings', 'forged', { qos: 1 }).catch(() => undefined);
    await device.publishAsync('fieldgate/devices/T-A/readings', 'marker', { qos: 1 });
    await waitFor(async () => (await badMessages('T-A')) === 5 || undefined, 'the marker');
    expect(await badMessages('T-B')).toBe(0);
  });
});
