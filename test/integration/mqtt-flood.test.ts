import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import type { FieldService } from '../../src/flows/field/field-service.js';
import { issueMqttSecret } from '../../src/infra/store/mqtt-accounts-repo.js';
import { waitFor } from '../helpers/dock.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway } from '../helpers/gateway.js';
import { fieldConfig, startField } from '../helpers/mqtt.js';

/**
 * A device floods the embedded broker faster than the gateway stores what it sends. The broker
 * holds at most mqtt.broker.maxBacklog messages for the gateway; beyond that the device is not
 * answered until the gateway catches up, so the flood waits in the device (on its disk), not in
 * the gateway's memory. Every message is still handled, once.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;

describe('flood on the embedded broker', () => {
  const cleanup = cleanupAfterEach();

  async function flood(maxBacklog: number, messages: number): Promise<{ peak: number; handled: number }> {
    const gw = await testGateway(sqlite, { label: 'flood', accounts: 20, routes: 1 });
    cleanup.push(() => gw.close());
    const ctx = fieldConfig(gw.ctx, { name: 'embedded', url: null });
    ctx.config.mqtt.broker.maxBacklog = maxBacklog;
    const field: FieldService = await startField(ctx);
    cleanup.push(() => field.stop());
    const secret = await issueMqttSecret(ctx.store.db, 'T-F', 'device', ctx.clock());
    const device = await mqtt.connectAsync(field.brokerUrl, {
      clientId: 'T-F',
      username: 'T-F',
      password: secret,
      reconnectPeriod: 0,
    });
    cleanup.push(() => device.endAsync(true));
    const topic = `${ctx.config.mqtt.prefix}/devices/T-F/readings`;
    const handled = () =>
      [...field.messageCounts].filter(([k]) => k.startsWith('readings ')).reduce((n, [, v]) => n + v, 0);
    // A buggy app sending the same broken batch over and over, without waiting: each one costs the gateway an
    // exception row and an error message.
    await Promise.all(
      Array.from({ length: messages }, (_, i) =>
        device.publishAsync(topic, `{"batchId":"B${i}","lines":[`, { qos: 1 }),
      ),
    );
    await waitFor(() => handled() >= messages, `${messages} messages handled`, 60_000);
    return { peak: field.broker!.backlogPeak, handled: handled() };
  }

  it('holds at most maxBacklog messages for the gateway, and handles every one', async () => {
    const bounded = await flood(10, 400);
    expect(bounded.handled).toBe(400);
    expect(bounded.peak).toBeLessThanOrEqual(10);
    expect(bounded.peak).toBeGreaterThanOrEqual(5);
    // The same flood with no real bound: the broker takes in far more than the gateway has handled.
    const unbounded = await flood(100_000, 400);
    expect(unbounded.handled).toBe(400);
    expect(unbounded.peak).toBeGreaterThan(50);
  });
});
