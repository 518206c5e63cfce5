import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { findJob } from '../../jobs/index.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import { issueMqttSecret } from '../../src/infra/store/mqtt-accounts-repo.js';
import { moveWorkOrder } from '../../src/flows/work-orders/work-orders.js';
import { availableDialects } from '../helpers/databases.js';
import { waitFor } from '../helpers/dock.js';
import { testGateway } from '../helpers/gateway.js';
import { availableBrokers, fieldConfig, startField } from '../helpers/mqtt.js';

/**
 * The work-order loop over MQTT, on the embedded broker and on Mosquitto: an order entered in
 * billing is pulled, dispatched to a technician's tablet, accepted, worked offline, synced when
 * the tablet is back, and posted to billing exactly once. A redelivered update is applied once;
 * a stale one gets the order as it is now.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;

describe.each(availableBrokers())('work orders over MQTT ($name broker)', (broker) => {
  const cleanup = cleanupAfterEach();

  it(
    'billing order → pulled → dispatched to the tablet → accepted → completed offline → synced → posted ' + 'once',
    async () => {
      const gw = await testGateway(sqlite, { label: 'womqtt', accounts: 200, routes: 2 });
      cleanup.push(() => gw.close());
      const ctx = fieldConfig(gw.ctx, broker);
      const field = await startField(ctx);
      cleanup.push(() => field.stop());
      const account = (
        (await ctx.billing.db('cis_meters').where({ meter_id: 'E0000004' }).first()) as { account_no: string }
      ).account_no;
      await ctx.billing.db('cis_service_orders').insert({
        order_no: 'SO900002',
        account_no: account,
        meter_id: 'E0000004',
        order_type: 'EXCHANGE',
        status: 'OPEN',
        created_at: new Date('2026-11-22T15:00:00Z'),
        due_date: '2026-11-24',
        notes: 'Meter stopped',
      });
      expect((await runJob(ctx, findJob('pull-service-orders')!, { trigger: 'manual' })).counts).toMatchObject({
        created: 1,
      });
      const secret = await issueMqttSecret(ctx.store.db, 'tom', 'tech', ctx.clock());

      // The technician's tablet.
      const orders = new Map<string, Record<string, any> | null>();
      const replies = new Map<string, Record<string, any>>();
      const tablet = async () => {
        const c = await mqtt.connectAsync(field.brokerUrl, {
          clientId: 'tom',
          username: 'tom',
          password: secret,
          protocolVersion: 4,
          clean: false,
        });
        c.on('message', (topic, payload) => {
          if (topic.includes('/orders/'))
            orders.set(topic.split('/').pop()!, payload.length ? JSON.parse(payload.toString()) : null);
          else
            replies.set(
              String((JSON.parse(payload.toString()) as { updateId: string | null }).updateId),
              JSON.parse(payload.toString()),
            );
        });
        await c.subscribeAsync([field.topics.techOrder('tom', '+'), field.topics.techReplies('tom')], { qos: 1 });
        return c;
      };
      const send = (c: mqtt.MqttClient, u: Record<string, unknown>) =>
        c.publishAsync(field.topics.techUpdates('tom'), JSON.stringify(u), { qos: 1 });
      let c = await tablet();

      await moveWorkOrder(
        ctx.store.db,
        ctx.config,
        'SO900002',
        { to: 'dispatched', version: 1, technician: 'tom' },
        { role: 'csr', name: 'maria' },
        ctx.clock(),
      );
      await waitFor(() => orders.get('SO900002')?.state === 'dispatched' || undefined, 'the order to reach the tablet');
      expect(orders.get('SO900002')).toMatchObject({
        type: 'ExchangeMeter',
        version: 2,
        meterId: 'E0000004',
        notes: 'Meter stopped',
      });

      await send(c, { updateId: 'u1', orderNo: 'SO900002', version: 2, state: 'accepted', at: '2026-11-23T14:00:00Z' });
      await waitFor(() => replies.get('u1'), 'the accept to be answered');
      expect(replies.get('u1')).toMatchObject({ status: 'applied', order: { state: 'accepted', version: 3 } });

      // No signal in the basement: the tablet queues the rest and sends it when it is back.
      await c.endAsync();
      const queued = [
        { updateId: 'u2', orderNo: 'SO900002', version: 3, state: 'en_route', at: '2026-11-23T14:10:00Z' },
        {
          updateId: 'u3',
          orderNo: 'SO900002',
          version: 4,
          state: 'on_site',
          at: '2026-11-23T14:25:00Z',
          gps: { lat: 41.59, lon: -93.62 },
        },
        {
          updateId: 'u4',
          orderNo: 'SO900002',
          version: 5,
          state: 'completed',
          at: '2026-11-23T14:48:00Z',
          completion: {
            outcome: 'COMPLETED',
            completedAt: '2026-11-23T14:48:00Z',
            finalRead: 70712,
            newMeterSerial: 'LG55501234',
            newMeterRead: 2,
            seals: ['S-2001'],
            photos: ['p/SO900002-old.jpg', 'p/SO900002-new.jpg'],
          },
        },
      ];
      c = await tablet();
      cleanup.push(() => c.endAsync());
      for (const u of queued) await send(c, u);
      await waitFor(() => (replies.get('u4') ? true : undefined), 'the synced updates to be answered');
      expect(queued.map((u) => replies.get(u.updateId)?.status)).toEqual(['applied', 'applied', 'applied']);
      expect(replies.get('u4')).toMatchObject({
        order: { state: 'completed', version: 6, completion: { newMeterSerial: 'LG55501234' } },
      });
      await waitFor(
        () => (orders.get('SO900002') === null ? true : undefined),
        'the completed order to leave the tablet',
      );

      // The same update delivered again is answered, not applied twice; a stale one gets the order as it is now.
      await send(c, queued[0]!);
      await send(c, { updateId: 'u5', orderNo: 'SO900002', version: 3, state: 'on_site' });
      await waitFor(() => replies.get('u5'), 'the stale update to be answered');
      expect(replies.get('u5')).toMatchObject({
        status: 'conflict',
        error: { field: 'version' },
        current: { state: 'completed', version: 6 },
      });
      await send(c, { updateId: 'u6', orderNo: 'NOPE', version: 1, state: 'accepted' });
      await send(c, { updateId: 'u7', orderNo: 'SO900002', state: 'accepted' });
      await waitFor(
        () => (replies.get('u6') && replies.has('null') ? true : undefined),
        'the bad updates to be answered',
      );
      expect(replies.get('u6')).toMatchObject({ status: 'rejected', error: { code: 'NOT_FOUND', field: 'orderNo' } });
      expect(replies.get('null')).toMatchObject({
        status: 'rejected',
        error: { code: 'BAD_MESSAGE', field: 'version' },
      });
      const events = await ctx.store
        .db('work_order_events')
        .join('work_orders', 'work_orders.id', 'work_order_events.order_id')
        .where({ order_no: 'SO900002' })
        .count({ n: '*' })
        .first();
      expect(Number((events as { n: number }).n)).toBe(6);

      const post = findJob('post-field-work')!;
      expect((await runJob(ctx, post, { trigger: 'manual' })).counts).toMatchObject({ posted: 1 });
      expect((await runJob(ctx, post, { trigger: 'manual' })).counts).toMatchObject({ posted: 0 });
      const rows = (await ctx.billing.db('cis_fieldwork_upload').where({ order_no: 'SO900002' })) as {
        outcome: string;
        final_read: number;
        new_meter_serial: string;
        new_meter_read: number;
        technician: string;
      }[];
      expect(
        rows.map((r) => [r.outcome, Number(r.final_read), r.new_meter_serial, Number(r.new_meter_read), r.technician]),
      ).toEqual([['COMPLETED', 70712, 'LG55501234', 2, 'tom']]);
    },
  );
});
