import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { issueMqttSecret } from '../../src/infra/store/mqtt-accounts-repo.js';
import { availableDialects } from '../helpers/databases.js';
import { waitFor } from '../helpers/dock.js';
import { testGateway } from '../helpers/gateway.js';
import { availableBrokers, fieldConfig, startField } from '../helpers/mqtt.js';

/**
 * rtlamr radio reads over MQTT, on the embedded broker and on this machine's Mosquitto: SCM and
 * IDM reads stored against billing meters by radio id, a redelivered message stored once, and
 * bad JSON and unknown endpoints counted and kept for review.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;

describe.each(availableBrokers())('rtlamr over MQTT ($name broker)', (broker) => {
  const cleanup = cleanupAfterEach();

  it('stores SCM and IDM reads by radio id, once each, and keeps bad JSON and strangers for review', async () => {
    const gw = await testGateway(sqlite, { label: 'rtlamr', accounts: 200, routes: 2 });
    cleanup.push(() => gw.close());
    const ctx = fieldConfig(gw.ctx, broker);
    const field = await startField(ctx);
    cleanup.push(() => field.stop());
    const secret = await issueMqttSecret(ctx.store.db, 'SDR-1', 'radio', ctx.clock());
    const sdr = await mqtt.connectAsync(field.brokerUrl, {
      clientId: 'SDR-1',
      username: 'SDR-1',
      password: secret,
      protocolVersion: 4,
    });
    cleanup.push(() => sdr.endAsync());
    const topic = field.topics.rtlamr('SDR-1');
    // Radio ids of the seeded meters E0000003 and E0000004 (seed 42).
    const scm = JSON.stringify({
      Time: '2026-11-23T06:00:10.5-06:00',
      Offset: 0,
      Length: 0,
      Type: 'SCM',
      Message: { ID: 86020286, Type: 7, TamperPhy: 0, TamperEnc: 0, Consumption: 32460, ChecksumVal: 1 },
    });
    const diffs = Array.from({ length: 47 }, (_, k) => (k % 5) + 1);
    const idm = JSON.stringify({
      Time: '2026-11-23T06:02:30-06:00',
      Type: 'IDM',
      Message: {
        ERTSerialNumber: 66839855,
        ERTType: 7,
        LastConsumptionCount: 70700,
        DifferentialConsumptionIntervals: diffs,
        ConsumptionIntervalCount: 11,
      },
    });
    const stranger = JSON.stringify({
      Time: '2026-11-23T06:00:11-06:00',
      Type: 'R900',
      Message: { ID: 11111111, Consumption: 5, Leak: 0 },
    });
    for (const payload of [scm, idm, '{nope', stranger, stranger, scm])
      await sdr.publishAsync(topic, payload, { qos: 1 });
    await waitFor(() => field.rtlamr.counts.received === 6 || undefined, 'six radio reads to be dealt with');
    expect(field.rtlamr.counts).toEqual({ received: 6, stored: 2, invalid: 1, unknown: 2, duplicates: 1 });

    const reads = (await ctx.store.db('ami_register_reads').where({ source: 'rtlamr' }).orderBy('meter_id')) as {
      meter_id: string;
      value: number;
      read_at: number;
    }[];
    expect(reads.map((r) => [r.meter_id, r.value, Number(r.read_at)])).toEqual([
      ['E0000003', 32460, Date.parse('2026-11-23T12:00:10Z') / 1000],
      ['E0000004', 70700, Date.parse('2026-11-23T12:02:30Z') / 1000],
    ]);
    const intervals = (await ctx.store.db('ami_intervals').where({ meter_id: 'E0000004' }).orderBy('start_at')) as {
      start_at: number;
      seconds: number;
      value: number;
    }[];
    expect(intervals).toHaveLength(47);
    // Newest first on the air, oldest first in the store; the newest ends at the five-minute boundary before the read.
    expect(Number(intervals[46]!.start_at)).toBe(Date.parse('2026-11-23T11:55:00Z') / 1000);
    expect(intervals.map((i) => i.value)).toEqual([...diffs].reverse());
    expect(new Set(intervals.map((i) => i.seconds))).toEqual(new Set([300]));

    // By kind: with several consumer connections (Mosquitto) the messages are handled in parallel.
    const ex = (await ctx.store.db('exceptions').where({ source: 'ami-rtlamr' }).orderBy('kind')) as {
      kind: string;
      meter_id: string | null;
      raw: string | null;
      message: string;
    }[];
    expect(ex.map((e) => [e.kind, e.meter_id])).toEqual([
      ['BAD_MESSAGE', null],
      ['UNKNOWN_METER', '11111111'],
    ]);
    expect(ex[0]!.raw).toBe('{nope');
    expect(ex[0]!.message).toMatch(/rtlamr from receiver SDR-1, \(json\): not JSON/);
    expect(ex[1]!.message).toBe(
      'rtlamr R900 endpoint 11111111 heard by receiver SDR-1 is not a billing radio id; its reads are parked in suspense until billing knows the radio id (or a CSR claims it for a meter)',
    );
  });
});
