import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FieldService } from '../../src/flows/field/field-service.js';
import type { GatewayContext } from '../../src/flows/context.js';
import { issueMqttSecret } from '../../src/infra/store/mqtt-accounts-repo.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { brokerClients, fieldConfig, startField } from '../helpers/mqtt.js';

/**
 * The embedded broker's doors: no anonymous access, no wrong secrets, no borrowed client ids,
 * and a device publishes and subscribes only under its own topics.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;

describe('embedded MQTT broker security', () => {
  let gw: TestGateway;
  let ctx: GatewayContext;
  let field: FieldService;
  let secretA: string;
  let secretB: string;
  const { connect, refusal, closeAll } = brokerClients(() => field.brokerUrl, 3000);

  beforeAll(async () => {
    gw = await testGateway(sqlite, { label: 'mq_sec', accounts: 50, routes: 1 });
    ctx = fieldConfig(gw.ctx, { name: 'embedded', url: null });
    field = await startField(ctx);
    secretA = await issueMqttSecret(ctx.store.db, 'T-A', 'device', ctx.clock());
    secretB = await issueMqttSecret(ctx.store.db, 'T-B', 'device', ctx.clock());
  });
  afterAll(async () => {
    await closeAll();
    await field?.stop();
    await gw?.close();
  });

  it('refuses anonymous access', async () => {
    expect(await refusal({ clientId: 'anon' })).toBe('5');
  });

  it('refuses a wrong secret and an unknown device', async () => {
    expect(await refusal({ clientId: 'T-A', username: 'T-A', password: `${secretA}x` })).toBe('4');
    expect(await refusal({ clientId: 'T-Z', username: 'T-Z', password: secretA })).toBe('4');
  });

  it('refuses a device logging in under another client id (no taking over a session)', async () => {
    expect(await refusal({ clientId: 'T-B', username: 'T-A', password: secretA })).toBe('5');
  });

  it('lets device A subscribe only under its own topics', async () => {
    const a = await connect({ clientId: 'T-A', username: 'T-A', password: secretA });
    const prefix = ctx.config.mqtt.prefix;
    const own = await a.subscribeAsync(`${prefix}/devices/T-A/#`, { qos: 1 });
    expect(own[0]!.qos).toBe(1);
    for (const filter of [`${prefix}/devices/T-B/acks`, `${prefix}/devices/+/acks`, `${prefix}/#`, '#']) {
      // Refused in the SUBACK (0x80), which MQTT.js reports as an error; the client stays connected.
      await expect(a.subscribeAsync(filter, { qos: 1 }), filter).rejects.toThrow(/Subscribe error/);
      expect(a.connected).toBe(true);
    }
  });

  it('lets a CSR account watch device topics but not publish', async () => {
    const secret = await issueMqttSecret(ctx.store.db, 'maria', 'csr', ctx.clock());
    const csr = await connect({ clientId: 'maria:console', username: 'maria', password: secret });
    const granted = await csr.subscribeAsync(`${ctx.config.mqtt.prefix}/devices/+/status`, { qos: 1 });
    expect(granted[0]!.qos).toBe(1);
    const gone = new Promise((r) => csr.once('close', () => r(undefined)));
    csr.publish(`${ctx.config.mqtt.prefix}/devices/T-A/readings`, '{}', { qos: 1 });
    await gone;
  });

  it('does not let device A publish as device B: the message never reaches the gateway', async () => {
    const seen: string[] = [];
    const handle = field.handle.bind(field);
    field.handle = async (m) => {
      seen.push(`${m.deviceId}:${m.kind}`);
      return handle(m);
    };
    const b = await connect({ clientId: 'T-B', username: 'T-B', password: secretB });
    const bSees: string[] = [];
    await b.subscribeAsync(`${ctx.config.mqtt.prefix}/devices/T-B/#`, { qos: 1 });
    b.on('message', (t) => bSees.push(t));
    const a = await connect({ clientId: 'T-A', username: 'T-A', password: secretA });
    const closed = new Promise((r) => a.once('close', () => r(undefined)));
    a.publish(
      `${ctx.config.mqtt.prefix}/devices/T-B/readings`,
      JSON.stringify({ batchId: 'X', route: 'R01', lines: ['x'] }),
      { qos: 1 },
    );
    await closed; // the broker drops a client that publishes where it may not
    a.publish(`${ctx.config.mqtt.prefix}/devices/T-B/status`, '{"online":false}', { qos: 0 });
    // Its own topics still work, for a fresh connection.
    const again = await connect({ clientId: 'T-A', username: 'T-A', password: secretA });
    await again.publishAsync(
      `${ctx.config.mqtt.prefix}/devices/T-A/status`,
      JSON.stringify({ online: true, battery: 50 }),
      { qos: 1 },
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual(['T-A:status']);
    expect(bSees.filter((t) => t.endsWith('/readings'))).toEqual([]);
    expect(await ctx.store.db('import_batches').first()).toBeUndefined();
    // A device may not publish to a gateway-to-device topic either (forged acks).
    const forged = await connect({ clientId: 'T-B', username: 'T-B', password: secretB });
    const gone = new Promise((r) => forged.once('close', () => r(undefined)));
    forged.publish(`${ctx.config.mqtt.prefix}/devices/T-B/acks`, '{}', { qos: 1 });
    await gone;
  });
});
