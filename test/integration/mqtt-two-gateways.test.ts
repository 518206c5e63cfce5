import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { exportRoute } from '../../src/flows/routes/export-route.js';
import { FieldDevice } from '../../src/flows/sim/field-device/device.js';
import { availableDialects } from '../helpers/databases.js';
import { startGatewayProcess } from '../helpers/cli.js';
import { waitFor } from '../helpers/dock.js';
import { testGateway } from '../helpers/gateway.js';

/**
 * Scale-out: two gateway processes on one PostgreSQL store and one Mosquitto, subscribed with an
 * MQTT 5 shared subscription. 50 devices send 10,000 readings; each batch is handled by one
 * gateway, every reading is stored once, and both gateways take part.
 */
const postgres = availableDialects().find((d) => d.name === 'postgres');
const mqttUrl = process.env.MQTT_URL;

describe.skipIf(!postgres || !mqttUrl)('two gateways sharing the work', () => {
  const cleanup = cleanupAfterEach();

  it('stores 10,000 readings from 50 devices exactly once, spread over both gateways', async () => {
    const gw = await testGateway(postgres!, { label: 'two_gw', accounts: 10_000, routes: 50 });
    cleanup.push(() => gw.close());
    const prefix = `fgtwo/${randomBytes(3).toString('hex')}`;
    // One group for both: each group of a shared subscription gets its own copy of every message.
    const sharedGroup = `two${randomBytes(3).toString('hex')}`;
    const gateways = await Promise.all(
      [1, 2].map(async (n) => {
        const dir = mkdtempSync(path.join(tmpdir(), `fg-gw${n}-`));
        const file = path.join(dir, 'fieldgate.json');
        writeFileSync(
          file,
          JSON.stringify({
            dataDir: path.join(dir, 'data'),
            store: { url: gw.config.store.url },
            server: { port: 0 },
            auth: { createDemoToken: false, createDemoUsers: false },
            billing: { url: gw.config.billing.url, demo: { seedOnFirstRun: false, accounts: 1, routes: 1, seed: 1 } },
            mqtt: { url: mqttUrl, prefix, sharedGroup, outboxPollMs: 100 },
          }),
        );
        return startGatewayProcess(file, dir, cleanup);
      }),
    );
    expect(gateways).toHaveLength(2);

    // Each device holds one route, exported to it as a file would be: 50 routes of about 200 registers.
    const routes = (await gw.ctx.billing.listRoutes()).map((r) => r.code);
    const devices: FieldDevice[] = [];
    let expected = 0;
    for (const [i, code] of routes.entries()) {
      // Ids no other suite uses: a device id is its MQTT client id, and a second client with it takes the session.
      const deviceId = `T-9${String(i).padStart(3, '0')}`;
      const exported = await exportRoute(gw.ctx, { routeCode: code, deviceId, actor: 'test' });
      const lines = exported.content.toString('latin1').split('\r\n').filter(Boolean);
      expected += lines.length;
      const device = new FieldDevice({
        deviceId,
        url: mqttUrl!,
        prefix,
        dir: mkdtempSync(path.join(tmpdir(), `fg-T${i}-`)),
        batchSize: 50,
        resendMs: 60_000,
        protocolVersion: 5,
        reading: {
          routeLayout: gw.ctx.layout('route-v1'),
          readLayout: gw.ctx.layout('read-v1'),
          zone: gw.config.timeZone,
          readerId: 'TAB01',
          seed: i,
          now: () => new Date(),
        },
      });
      device.holdRoute({
        route: code,
        cycle: exported.route.cycle,
        layout: 'route-v1',
        records: lines.length,
        sha256: exported.sha256,
        lines,
      });
      devices.push(device);
    }
    expect(expected).toBeGreaterThanOrEqual(10_000);
    // Which gateway stored each batch (a copy the device sent again is acked as a duplicate).
    const storedBy = new Map<string, { gateway: string; stored: number }>();
    await Promise.all(devices.map((d) => d.start()));
    cleanup.push(() => Promise.all(devices.map((d) => d.stop())));
    let storedAcks = 0;
    // A "stored" ack for a batch the device no longer held: the broker's QoS 1 redelivery (marked DUP,
    // after a connection lost before the device's PUBACK) is allowed; a fresh second send is not.
    const storedAgain: { batchId: string; redelivered: boolean }[] = [];
    // A copy the device itself sent again (after a reconnect) is rightly a duplicate; any other is not.
    const sends = new Map<string, number>();
    const unexpectedDuplicates: string[] = [];
    for (const d of devices) {
      d.on('sent', (id) => sends.set(`${d.topics.prefix}:${id}`, (sends.get(`${d.topics.prefix}:${id}`) ?? 0) + 1));
      d.on('acked', (a, delivery) => {
        if (
          a.status === 'duplicate' &&
          (sends.get(`${d.topics.prefix}:${a.batchId}`) ?? 0) < 2 &&
          !delivery.redelivered
        )
          unexpectedDuplicates.push(a.batchId);
        if (a.status !== 'stored') return;
        if (!delivery.held) return void storedAgain.push({ batchId: a.batchId, redelivered: delivery.redelivered });
        storedAcks++;
        storedBy.set(`${d.topics.prefix}:${a.batchId}`, { gateway: a.gateway ?? '?', stored: a.stored });
      });
    }
    let batches = 0;
    for (const d of devices) batches += d.readRoutes();
    await waitFor(
      () => devices.every((d) => d.queued().length === 0),
      'every batch of every device to be acknowledged',
      120_000,
    );

    const db = gw.ctx.store.db;
    expect(Number((await db('readings').count({ n: '*' }).first())!.n)).toBe(expected);
    expect(Number((await db('readings').countDistinct({ n: 'read_key' }).first())!.n)).toBe(expected);
    // The store says which gateway stored each batch (import_batches.actor is device@gateway).
    const rows = (await db('import_batches').select('actor', 'stored').where({ source: 'mqtt' })) as {
      actor: string;
      stored: number;
    }[];
    const byGateway = new Map<string, number>();
    for (const r of rows)
      byGateway.set(r.actor.split('@')[1]!, (byGateway.get(r.actor.split('@')[1]!) ?? 0) + Number(r.stored));
    const shares = [...byGateway.values()];
    expect(new Set([...storedBy.values()].map((a) => a.gateway))).toEqual(new Set(byGateway.keys()));
    expect(shares).toHaveLength(2);
    expect(shares.reduce((a, b) => a + b, 0)).toBe(expected);
    expect(Math.min(...shares)).toBeGreaterThan(expected * 0.1);
    // One "stored" ack per batch: one gateway stored it, and the shared outbox sent its ack once.
    expect(storedAcks).toBe(batches);
    expect(storedBy.size).toBe(batches);
    expect(storedAgain.filter((a) => !a.redelivered)).toEqual([]);
    // The shared subscription gave each batch to one gateway: nothing sent once was answered as a duplicate.
    expect(unexpectedDuplicates).toEqual([]);
  }, 180_000);
});
