import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { issueMqttSecret } from '../../src/infra/store/mqtt-accounts-repo.js';
import { claimMeter } from '../../src/flows/ami/suspense.js';
import { WmbusIngest } from '../../src/flows/ami/wmbus-ingest.js';
import { BadMessageLimiter } from '../../src/flows/exceptions/bad-message-limiter.js';
import { availableDialects } from '../helpers/databases.js';
import { waitFor } from '../helpers/dock.js';
import { testGateway } from '../helpers/gateway.js';
import { availableBrokers, fieldConfig, startField } from '../helpers/mqtt.js';

/**
 * wmbusmeters over MQTT, on the embedded broker and on Mosquitto: telegrams become register
 * reads on the register in their unit; the same reading heard by two receivers and through a
 * repeater is stored once; fields spread over two telegrams are each stored and never zero;
 * an unknown id is parked and stored once claimed; bad telegrams are kept for review.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;
const GAL_PER_M3 = 264.172052;

describe.each(availableBrokers())('wmbusmeters over MQTT ($name broker)', (broker) => {
  const cleanup = cleanupAfterEach();

  it('stores each reading once by meter, time and value, parks strangers, and keeps bad telegrams', async () => {
    const gw = await testGateway(sqlite, { label: 'wmbus', accounts: 200, routes: 2 });
    cleanup.push(() => gw.close());
    const base = fieldConfig(gw.ctx, broker);
    const filter = `${base.config.mqtt.prefix}-wmbus/+`;
    const ctx = {
      ...base,
      config: {
        ...base.config,
        ami: { ...base.config.ami, wmbusmeters: { ...base.config.ami.wmbusmeters, topic: filter } },
      },
    };
    const field = await startField(ctx);
    cleanup.push(() => field.stop());
    const registers = (await ctx.billing.meterRegisters()).map((r) => ({
      meterId: String(r.meterId),
      registerNo: Number(r.registerNo),
      uom: String(r.uom),
      dials: Number(r.dials),
      radioId: r.radioId == null ? null : String(r.radioId),
    }));
    const water = registers.find((r) => r.uom === 'GAL' && r.radioId && r.dials >= 6)!;
    const electric = registers.find((r) => r.uom === 'KWH' && r.radioId && r.dials >= 5)!;
    const topic = (id: string) => filter.replace('+', id);

    const receivers = [];
    for (const name of ['WMB-1', 'WMB-2']) {
      const secret = await issueMqttSecret(ctx.store.db, name, 'radio', ctx.clock());
      const c = await mqtt.connectAsync(field.brokerUrl, {
        clientId: name,
        username: name,
        password: secret,
        protocolVersion: 4,
      });
      cleanup.push(() => c.endAsync());
      receivers.push(c);
    }
    const [r1, r2] = receivers as [mqtt.MqttClient, mqtt.MqttClient];
    const w = String(water.radioId);
    const telegram = (id: string, fields: Record<string, unknown>, at = '2026-11-23T15:00:05Z') =>
      JSON.stringify({ _: 'telegram', media: 'water', meter: 'multical21', name: 'Tap', id, ...fields, timestamp: at });
    const send = [
      // Heard by both receivers, a few seconds apart, then again through a repeater.
      [r1, topic(w), telegram(w, { total_m3: 12.345, rssi_dbm: -71 })],
      [r2, topic(w), telegram(w, { total_m3: 12.345, rssi_dbm: -88 }, '2026-11-23T15:00:07Z')],
      [r1, topic(w), telegram(w, { total_m3: 12.345, rssi_dbm: -60 }, '2026-11-23T15:01:40Z')],
      // The next telegram carries the due-date value and not the total: the total is missing, not zero.
      [
        r1,
        topic(w),
        telegram(w, { total_m3: null, target_m3: 11.5, target_date: '2026-10-31' }, '2026-11-23T15:00:21Z'),
      ],
      // Only a temperature: nothing to store.
      [r2, topic(w), telegram(w, { flow_temperature_c: 9 }, '2026-11-23T15:00:37Z')],
      // A heat-style meter on an electric register: kWh stored, the volume has no register.
      [
        r2,
        topic(String(electric.radioId)),
        telegram(String(electric.radioId), { total_energy_consumption_kwh: 5366.1, total_volume_m3: 553.9 }),
      ],
      [r1, topic('99887766'), telegram('99887766', { total_m3: 3.25 })],
      [r1, topic('99887766'), telegram('99887766', { total_m3: 3.25 }, '2026-11-23T15:00:09Z')],
      [r2, topic('broken'), '{"id":"12"'],
      [r2, topic('clockless'), telegram('12', { total_m3: 1 }, '1111-11-11T11:11:11Z')],
    ] as const;
    for (const [client, t, payload] of send) await client.publishAsync(t, payload, { qos: 1 });
    await waitFor(() => field.wmbus.counts.received === send.length || undefined, 'every telegram to be dealt with');
    expect(field.wmbus.counts).toEqual({
      received: 10,
      stored: 3,
      invalid: 2,
      unknown: 2,
      duplicates: 2,
      noQuantity: 1,
    });

    const reads = (await ctx.store
      .db('ami_register_reads')
      .where({ source: 'wmbusmeters' })
      .orderBy(['meter_id', 'read_at'])) as {
      meter_id: string;
      channel: number;
      value: number;
      read_at: number;
    }[];
    const s = (iso: string) => Date.parse(iso) / 1000;
    expect(reads.map((r) => [r.meter_id, r.channel, Number(r.read_at)])).toEqual(
      [
        [water.meterId, water.registerNo, s('2026-11-01T00:00:00Z')],
        [water.meterId, water.registerNo, s('2026-11-23T15:00:05Z')],
        [electric.meterId, electric.registerNo, s('2026-11-23T15:00:05Z')],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0])) || Number(a[2]) - Number(b[2])),
    );
    const valueOf = (meter: string, at: string) =>
      reads.find((r) => r.meter_id === meter && Number(r.read_at) === s(at))!.value;
    expect(valueOf(water.meterId, '2026-11-23T15:00:05Z')).toBeCloseTo(12.345 * GAL_PER_M3, 6);
    expect(valueOf(water.meterId, '2026-11-01T00:00:00Z')).toBeCloseTo(11.5 * GAL_PER_M3, 6);
    expect(valueOf(electric.meterId, '2026-11-23T15:00:05Z')).toBe(5366.1);

    const ex = (await ctx.store.db('exceptions').where({ source: 'ami-wmbusmeters' }).orderBy(['kind', 'id'])) as {
      kind: string;
      field: string;
      meter_id: string | null;
      message: string;
    }[];
    expect(ex.map((e) => [e.kind, e.field, e.meter_id])).toEqual([
      ['BAD_MESSAGE', '(json)', null],
      ['BAD_MESSAGE', 'timestamp', null],
      ['UNKNOWN_METER', 'id', '99887766'],
      ['UNKNOWN_REGISTER', 'total_volume_m3', String(electric.radioId)],
    ]);
    expect(ex[2]!.message).toBe(
      `wmbusmeters meter 99887766 (multical21 water) on ${topic('99887766')} is not a billing meter, radio id or serial; its reads are parked in suspense until billing knows the id (or a CSR claims it for a meter)`,
    );
    expect(ex[3]!.message).toBe(
      `wmbusmeters meter ${electric.radioId} reports total_volume_m3 (M3), but billing meter ${electric.meterId} has no register in a unit it converts to; total_volume_m3 is not stored`,
    );

    // A CSR claims the stranger for a water meter: its parked reads go to that meter's register in its unit.
    const target = registers.find((r) => r.uom === 'GAL' && r.meterId !== water.meterId && r.dials >= 6)!;
    const claimed = await claimMeter(
      { ...ctx, db: ctx.store.db },
      { ref: '99887766', meterId: target.meterId, by: 'csr1' },
    );
    expect(claimed.matched).toEqual([
      { ref: '99887766', meterId: target.meterId, intervals: 0, reads: 1, batchId: expect.any(Number) },
    ]);
    const claimedReads = (await ctx.store.db('ami_register_reads').where({ meter_id: target.meterId })) as {
      value: number;
    }[];
    expect(claimedReads.map((r) => r.value)).toEqual([expect.closeTo(3.25 * GAL_PER_M3, 6)]);
  });

  it('lets a radio publish telegrams, and nobody else', async () => {
    if (broker.name !== 'embedded') return;
    const gw = await testGateway(sqlite, { label: 'wmbus-acl', accounts: 20, routes: 1 });
    cleanup.push(() => gw.close());
    const ctx = fieldConfig(gw.ctx, broker);
    const field = await startField(ctx);
    cleanup.push(() => field.stop());
    const secret = await issueMqttSecret(ctx.store.db, 'HH-0009', 'device', ctx.clock());
    const device = await mqtt.connectAsync(field.brokerUrl, {
      clientId: 'HH-0009',
      username: 'HH-0009',
      password: secret,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    cleanup.push(() => device.end(true));
    // aedes closes a client whose publish is refused.
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    device.publish('wmbusmeters/12345678', '{"id":"12345678","total_m3":1,"timestamp":"2026-11-23T15:00:05Z"}', {
      qos: 1,
    });
    await closed;
    expect(field.wmbus.counts.received).toBe(0);
  });
});

describe('wmbusmeters readings of an unknown meter', () => {
  const cleanup = cleanupAfterEach();

  it("parks each unit of one telegram on its own (a heat meter's volume and energy), and a claim imports each", async () => {
    const gw = await testGateway(sqlite, { label: 'wmbus_units', accounts: 60, routes: 1 });
    cleanup.push(() => gw.close());
    const ctx = gw.ctx;
    const ingest = new WmbusIngest(ctx, new BadMessageLimiter(ctx.store.db, ctx.config.mqtt.badMessages));
    const telegram = {
      _: 'telegram',
      media: 'heat',
      meter: 'sharky775',
      id: '44556677',
      total_energy_consumption_kwh: 7831.56,
      total_volume_m3: 1531.4762,
      timestamp: '2026-11-23T15:00:05Z',
    };
    await ingest.handle('wmbusmeters/44556677', Buffer.from(JSON.stringify(telegram)));
    const parked = (await ctx.store.db('ami_suspense').where({ meter_ref: '44556677' }).orderBy('unit')) as {
      unit: string;
      value: number;
    }[];
    expect(parked.map((p) => [p.unit, p.value])).toEqual([
      ['KWH', 7831.56],
      ['M3', 1531.4762],
    ]);
    // Claimed for an electric meter: the energy goes to its kWh register; the volume has no register there.
    const electric = (await ctx.billing.meterRegisters()).find((r) => r.uom === 'KWH' && Number(r.dials) >= 5)!;
    const claimed = await claimMeter(
      { ...ctx, db: ctx.store.db },
      { ref: '44556677', meterId: String(electric.meterId), by: 'csr1' },
    );
    expect(claimed.matched[0]).toMatchObject({ reads: 2 });
    const reads = (await ctx.store
      .db('ami_register_reads')
      .where({ meter_id: String(electric.meterId), source: 'suspense' })) as {
      value: number;
    }[];
    expect(reads.map((r) => r.value)).toEqual([7831.56]);
  });
});
