import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { prepare } from '../../src/entry/gateway.js';
import { closeContext, openContext } from '../../src/flows/context.js';
import { FieldService } from '../../src/flows/field/field-service.js';
import { seedReferenceBilling } from '../../src/infra/billing/reference/seed.js';
import { loadConfig } from '../../src/infra/config/load.js';
import { silentLogger } from '../../src/infra/log/logger.js';
import { issueMqttSecret } from '../../src/infra/store/mqtt-accounts-repo.js';

/**
 * Radio reads over MQTT into the store, one case per process:
 *   node radio-cases.js <rtlamr|wmbusmeters|wmbusmeters-twice>
 * A gateway on its defaults (SQLite store, embedded broker) and four receivers publishing at
 * QoS 1 as fast as the broker takes them: rtlamr SCM reads, or wmbusmeters telegrams (each heard
 * by one receiver, or by two: half the messages are then the same reading again). Every message
 * is one radio read of a billing meter, matched by radio id, stored as a register read.
 * Prints { items, seconds, rate, peakRssMb, stored, duplicates }: items are messages, timed from the
 * first publish until the last is stored (or found a duplicate).
 */
const kind = process.argv[2] as 'rtlamr' | 'wmbusmeters' | 'wmbusmeters-twice';
const READS = Number(process.env.BENCH_RADIO_READS ?? 5000);
const RECEIVERS = 4;

const dir = mkdtempSync(path.join(tmpdir(), 'fg-bench-radio-'));
const config = loadConfig({
  env: {},
  overrides: {
    dataDir: dir,
    store: { url: `sqlite:${path.join(dir, 'store.sqlite')}` },
    billing: {
      url: `sqlite:${path.join(dir, 'billing.sqlite')}`,
      demo: { seedOnFirstRun: false, accounts: 1, routes: 1, seed: 1 },
    },
    mqtt: {
      prefix: 'fgbench',
      // The bench measures the store path, not the per-device rate limit.
      broker: {
        host: '127.0.0.1',
        port: 0,
        portFallback: false,
        devicePublishBurst: 100_000,
        devicePublishPerSecond: 100_000,
      },
    },
  },
});
const ctx = openContext(config, silentLogger());
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
try {
  await seedReferenceBilling(ctx.billing.db, {
    accounts: 2000,
    routes: 10,
    seed: 42,
    today: new Date().toISOString().slice(0, 10),
  });
  await prepare(ctx);
  const meters = (await ctx.billing.meterRegisters())
    .filter((r) => r.radioId && (kind === 'rtlamr' || r.uom === 'GAL' || r.uom === 'CF'))
    .map((r) => String(r.radioId));
  const field = new FieldService(ctx);
  await field.start();
  const clients: mqtt.MqttClient[] = [];
  for (let i = 0; i < RECEIVERS; i++) {
    const name = `RX-${i}`;
    const secret = await issueMqttSecret(ctx.store.db, name, 'radio', ctx.clock());
    clients.push(
      await mqtt.connectAsync(field.brokerUrl, {
        clientId: name,
        username: name,
        password: secret,
        protocolVersion: 4,
      }),
    );
  }
  const start = Math.floor(Date.now() / 1000) - 3 * 86_400;
  const message = (j: number): { topic: string; payload: string } => {
    const id = meters[j % meters.length]!;
    const at = new Date((start + j * 10) * 1000);
    if (kind === 'rtlamr')
      return {
        topic: field.topics.rtlamr('RX-0'),
        payload: JSON.stringify({
          Time: at.toISOString(),
          Type: 'SCM',
          Message: { ID: Number(id), Type: 7, Consumption: 1000 + j },
        }),
      };
    return {
      topic: `wmbusmeters/${id}`,
      payload: JSON.stringify({
        _: 'telegram',
        media: 'water',
        meter: 'multical21',
        id,
        total_m3: 10 + j / 1000,
        flow_temperature_c: 11,
        timestamp: at.toISOString().replace(/\.\d+Z$/, 'Z'),
      }),
    };
  };
  // rtlamr's topic names its receiver: each receiver publishes to its own.
  const topicOf = (m: { topic: string }, receiver: number) =>
    kind === 'rtlamr' ? field.topics.rtlamr(`RX-${receiver}`) : m.topic;
  const copies = kind === 'wmbusmeters-twice' ? 2 : 1;
  const counts = () => (kind === 'rtlamr' ? field.rtlamr.counts : field.wmbus.counts);
  const started = Date.now();
  const sent: Promise<unknown>[] = [];
  for (let j = 0; j < READS; j++) {
    const m = message(j);
    for (let c = 0; c < copies; c++) {
      const receiver = (j + c) % RECEIVERS;
      sent.push(clients[receiver]!.publishAsync(topicOf(m, receiver), m.payload, { qos: 1 }));
    }
  }
  await Promise.all(sent);
  const total = READS * copies;
  const handled = () => {
    const c = counts();
    return c.stored + c.duplicates + c.invalid + c.unknown;
  };
  while (handled() < total) await new Promise((r) => setTimeout(r, 20));
  const seconds = (Date.now() - started) / 1000;
  const c = counts();
  for (const client of clients) await client.endAsync();
  await field.stop();
  console.log(
    JSON.stringify({
      items: total,
      seconds,
      rate: total / seconds,
      peakRssMb: peakRss / 2 ** 20,
      stored: c.stored,
      duplicates: c.duplicates,
    }),
  );
} finally {
  clearInterval(sampler);
  await closeContext(ctx);
  rmSync(dir, { recursive: true, force: true });
}
