/**
 * The gateway's MQTT client (MQTT.js 5). QoS 1 with a persistent session (clean start off), so
 * what arrives while the gateway is away waits at the broker. A message is acknowledged to the
 * broker (PUBACK) only after the handler finished, which for readings means after the store
 * committed them: a gateway killed in between gets the message again. With an MQTT 5 broker and
 * a shared-subscription group, several gateways split the messages between them.
 */

import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Adapter, AdapterHealth } from '../adapter.js';
import type { InboundKind, Topics } from './topics.js';

export interface FieldMessage {
  deviceId: string;
  kind: InboundKind;
  topic: string;
  payload: Buffer;
}

export interface MqttAdapterOptions {
  url: string;
  clientId: string;
  username?: string | null;
  password?: string | null;
  tls?: { ca: string | null; cert: string | null; key: string | null; rejectUnauthorized: boolean };
  /** 5 for external brokers (shared subscriptions, session expiry); 4 for the embedded aedes. */
  protocolVersion: 4 | 5;
  sharedGroup: string | null;
  sessionExpirySeconds: number;
  /** MQTT 5: unacknowledged QoS 1 messages the broker may send at once (back-pressure at the broker). */
  receiveMaximum?: number;
  topics: Topics;
  reconnectMs?: number;
}

export interface MqttAdapterEvents {
  connected: [];
  disconnected: [reason: string];
}

export class MqttAdapter extends EventEmitter<MqttAdapterEvents> implements Adapter<MqttAdapterEvents> {
  readonly name = 'mqtt';
  private client: MqttClient | null = null;
  private state: AdapterHealth = { state: 'stopped', detail: 'not started', since: new Date().toISOString() };

  constructor(
    private readonly opts: MqttAdapterOptions,
    /** Resolves when the message is dealt with (stored, or answered as bad); only then is it PUBACKed. */
    private readonly handle: (message: FieldMessage) => Promise<void>,
  ) {
    super();
  }

  health(): AdapterHealth {
    return this.state;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  private setState(state: AdapterHealth['state'], detail: string): void {
    this.state = { state, detail, since: new Date().toISOString() };
  }

  async start(): Promise<void> {
    const o = this.opts;
    const options: IClientOptions = {
      clientId: o.clientId,
      clean: false,
      protocolVersion: o.protocolVersion,
      reconnectPeriod: o.reconnectMs ?? 1000,
      connectTimeout: 10_000,
      username: o.username ?? undefined,
      password: o.password ?? undefined,
      ca: o.tls?.ca ? readFileSync(o.tls.ca) : undefined,
      cert: o.tls?.cert ? readFileSync(o.tls.cert) : undefined,
      key: o.tls?.key ? readFileSync(o.tls.key) : undefined,
      rejectUnauthorized: o.tls?.rejectUnauthorized,
      properties:
        o.protocolVersion === 5
          ? { sessionExpiryInterval: o.sessionExpirySeconds, receiveMaximum: o.receiveMaximum }
          : undefined,
    };
    this.setState('starting', `connecting to ${o.url}`);
    const client = mqtt.connect(o.url, { ...options, manualConnect: true });
    this.client = client;
    client.handleMessage = (packet, done) => {
      const parsed = o.topics.parse(packet.topic);
      if (!parsed) return done();
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      this.handle({ ...parsed, topic: packet.topic, payload }).then(
        () => done(),
        (err: Error) => {
          // Not acknowledged: drop the connection, and the broker delivers it again when the session resumes.
          this.setState(
            'degraded',
            `message on ${packet.topic} not handled (${err.message}); reconnecting for redelivery`,
          );
          client.stream?.destroy();
        },
      );
    };
    client.on('connect', (connack) => {
      this.setState('running', `connected to ${o.url}${connack.sessionPresent ? ' (session resumed)' : ''}`);
      // Subscribing again is harmless on a resumed session and needed on a new one.
      client.subscribe(o.topics.gatewayFilters(o.protocolVersion === 5 ? o.sharedGroup : null), { qos: 1 }, (err) => {
        if (err) this.setState('degraded', `subscribe failed: ${err.message}`);
      });
      this.emit('connected');
    });
    client.on('close', () => {
      if (this.state.state === 'stopping') return;
      this.setState('degraded', `disconnected from ${o.url}; reconnecting`);
      this.emit('disconnected', 'connection closed');
    });
    client.on('error', (err) => this.setState('degraded', `${o.url}: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`cannot reach the MQTT broker at ${o.url} within 10 s`)), 10_000);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      client.connect();
    });
  }

  /** Publishes with QoS 1; resolves when the broker acknowledged it. */
  async publish(topic: string, payload: string | Buffer, opts: { retain?: boolean } = {}): Promise<void> {
    const client = this.client;
    if (!client?.connected) throw new Error('not connected to the MQTT broker');
    await client.publishAsync(topic, payload, { qos: 1, retain: opts.retain ?? false });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.setState('stopping', 'stopping');
    if (client) await client.endAsync();
    this.setState('stopped', 'stopped');
  }
}
