import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttAdapter } from '../../adapters/mqtt/mqtt-adapter.js';
import { Topics } from '../../adapters/mqtt/topics.js';
import { MQTT_PUBLISH, OutboxPublisher } from '../../src/flows/field/outbox-publisher.js';
import type { GatewayContext } from '../../src/flows/context.js';
import { enqueue, pendingCount } from '../../src/infra/store/outbox-repo.js';
import { availableDialects } from '../helpers/databases.js';
import { waitFor } from '../helpers/dock.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Fault suite finding "claim kept through an outage": the store went away for a second between a
 * message's publish and its mark as sent. The publisher's claim on it stayed, so the message (an
 * ack a technician's tablet waited for) sat pending for the 30 s stale time instead of the next poll.
 */
describe.each(availableDialects())('MQTT outbox publisher on $name', (dialect) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'publisher', accounts: 10, routes: 1 });
  });
  afterAll(async () => gw?.close());

  it(
    'fault finding claim kept through an outage: sends again on the next poll when the store failed after a ' +
      'publish',
    async () => {
      const db = gw.ctx.store.db;
      const published: string[] = [];
      const adapter = {
        connected: true,
        publish: (topic: string) => {
          published.push(topic);
          return Promise.resolve();
        },
      } as unknown as MqttAdapter;
      // The store fails once, at the transaction that marks the publish sent.
      let failNext = true;
      const flaky = new Proxy(db, {
        get(target, prop, receiver) {
          if (prop === 'transaction' && failNext) {
            failNext = false;
            return () => Promise.reject(new Error('Connection terminated unexpectedly'));
          }
          return Reflect.get(target, prop, receiver) as unknown;
        },
      });
      const ctx = { ...gw.ctx, clock: () => new Date(), store: { ...gw.ctx.store, db: flaky } } as GatewayContext;
      await enqueue(
        db,
        MQTT_PUBLISH,
        [{ key: 'ack:T-1:B-1', payload: { topic: 'p/acks/T-1', payload: '{}' } }],
        gw.ctx.clock().toISOString(),
      );
      const publisher = new OutboxPublisher(ctx, adapter, 100, gw.ctx.log, 'gateway-under-test', new Topics('p'));
      publisher.start();
      try {
        await waitFor(async () => (await pendingCount(db, MQTT_PUBLISH)) === 0, 'the message to be marked sent', 5000);
        // Sent twice (at least once: the first publish was never marked), not held for 30 s.
        expect(published).toEqual(['p/acks/T-1', 'p/acks/T-1']);
      } finally {
        await publisher.stop();
      }
    },
  );
});
