import mqtt from 'mqtt';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { GatewayContext } from '../../src/flows/context.js';
import type { Config } from '../../src/infra/config/schema.js';
import { FieldService } from '../../src/flows/field/field-service.js';
import { FieldDevice, type FieldDeviceOptions } from '../../src/flows/sim/field-device/device.js';
import { NOW } from './gateway.js';

/**
 * The brokers MQTT suites run on: the embedded aedes broker always, and the real Mosquitto of
 * this machine when MQTT_URL is set (always in CI). Each suite gets its own topic prefix and
 * shared-subscription group, so suites never see each other's messages on one broker.
 */
export interface BrokerUnderTest {
  name: 'embedded' | 'mosquitto';
  url: string | null;
}

export function availableBrokers(): BrokerUnderTest[] {
  return [
    { name: 'embedded', url: null },
    ...(process.env.MQTT_URL ? [{ name: 'mosquitto' as const, url: process.env.MQTT_URL }] : []),
  ];
}

export function fieldConfig(
  ctx: GatewayContext,
  broker: BrokerUnderTest,
  over: Partial<Config['mqtt']> = {},
): GatewayContext {
  const tag = randomBytes(4).toString('hex');
  const config: Config = {
    ...ctx.config,
    dataDir: mkdtempSync(path.join(tmpdir(), 'fg-field-')),
    dock: { ...ctx.config.dock, pollMs: 200 },
    mqtt: {
      ...ctx.config.mqtt,
      url: broker.url,
      prefix: `fgtest/${tag}`,
      sharedGroup: `fg${tag}`,
      broker: { ...ctx.config.mqtt.broker, host: '127.0.0.1', port: 0, portFallback: false },
      outboxPollMs: 100,
      ...over,
    },
  };
  return { ...ctx, config };
}

export async function startField(ctx: GatewayContext): Promise<FieldService> {
  const field = new FieldService(ctx);
  await field.start();
  return field;
}

export function fieldDevice(
  ctx: GatewayContext,
  field: FieldService,
  opts: Partial<FieldDeviceOptions> & { deviceId: string },
): FieldDevice {
  return new FieldDevice({
    url: field.brokerUrl,
    prefix: ctx.config.mqtt.prefix,
    dir: mkdtempSync(path.join(tmpdir(), `fg-${opts.deviceId}-`)),
    reading: {
      routeLayout: ctx.layout('route-v1'),
      readLayout: ctx.layout('read-v1'),
      zone: ctx.config.timeZone,
      readerId: 'TAB01',
      seed: 5,
      now: () => NOW,
    },
    ...opts,
  });
}

/**
 * The clients a suite opens against one broker, closed together at its end, and how the broker
 * answered a login: 'connected', or the CONNACK code ('4' bad credentials, '5' not authorized).
 */
export function brokerClients(url: () => string, connectTimeout: number) {
  const clients: mqtt.MqttClient[] = [];
  const connect = async (opts: mqtt.IClientOptions) => {
    const client = await mqtt.connectAsync(url(), { reconnectPeriod: 0, connectTimeout, ...opts });
    clients.push(client);
    return client;
  };
  const refusal = (opts: mqtt.IClientOptions) =>
    connect(opts).then(
      () => 'connected',
      (err: Error & { code?: number }) => String(err.code ?? err.message),
    );
  const closeAll = async () => {
    for (const c of clients.splice(0)) await c.endAsync(true).catch(() => undefined);
  };
  return { connect, refusal, closeAll };
}
