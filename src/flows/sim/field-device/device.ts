/**
 * A hand-held or tablet in the field, syncing over MQTT (docs/mqtt.md). It takes the routes the
 * gateway publishes to it (and confirms them), reads them with the same mix as the dock
 * simulator, and sends the readings in batches. Every batch is written to its own disk queue
 * first and deleted only when the gateway's ack names it, so batches made offline, or sent just
 * before a connection dropped, go (again) when it reconnects. The gateway stores a batch once.
 */

import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import {
  batchAckSchema,
  deviceErrorSchema,
  routeMessageSchema,
  type BatchAck,
  type DeviceError,
  type ReadingsBatch,
  type RouteMessage,
} from '../../../../adapters/mqtt/messages.js';
import { Topics } from '../../../../adapters/mqtt/topics.js';
import type { Layout } from '../../../core/fixed-width/layout.js';
import { appendJournal } from '../journal.js';
import { readRoute, type ReadMix } from '../read-route.js';

export interface FieldDeviceOptions {
  deviceId: string;
  url: string;
  secret?: string;
  dir: string;
  prefix: string;
  batchSize?: number;
  /** Send unacknowledged batches again after this long without an ack. */
  resendMs?: number;
  /** Batches sent and not yet acknowledged, at most (default: all at once). */
  window?: number;
  protocolVersion?: 4 | 5;
  reading: {
    routeLayout: Layout;
    readLayout: Layout;
    zone: string;
    readerId: string;
    seed: number;
    mix?: ReadMix;
    now?: () => Date;
    journal?: string;
  };
  battery?: number;
  log?: (message: string) => void;
}

export interface FieldDeviceEvents {
  connected: [];
  /** A batch went to the broker (first time or again). */
  sent: [batchId: string];
  route: [RouteMessage];
  /** Every ack that arrives, the broker's redeliveries included (QoS 1 is at least once). */
  acked: [BatchAck, AckDelivery];
  gatewayError: [DeviceError];
}

/** How an ack reached the device: the first for a batch it held, or again. */
export interface AckDelivery {
  /** The batch was still queued on the device (false: acknowledged before, or never sent by it). */
  held: boolean;
  /** The broker marked it DUP: a QoS 1 redelivery after a connection was lost before the device's PUBACK arrived. */
  redelivered: boolean;
}

const PACE_SECONDS = 30;

export class FieldDevice extends EventEmitter<FieldDeviceEvents> {
  readonly topics: Topics;
  private client: MqttClient | null = null;
  private offline = false;
  private resendTimer: NodeJS.Timeout | null = null;
  private readonly queueDir: string;
  private readonly routesDir: string;
  /**
   * A marker per route file read, so a route delivered again (a retained message after a reconnect) is not read twice.
   */
  private readonly readDir: string;
  /** Batches published and not yet acknowledged, with when they went. */
  private inFlight = new Map<string, number>();

  constructor(private readonly opts: FieldDeviceOptions) {
    super();
    this.topics = new Topics(opts.prefix);
    this.queueDir = path.join(opts.dir, 'queue');
    this.routesDir = path.join(opts.dir, 'routes');
    this.readDir = path.join(opts.dir, 'read');
    mkdirSync(this.readDir, { recursive: true });
    mkdirSync(this.queueDir, { recursive: true });
    mkdirSync(this.routesDir, { recursive: true });
  }

  get connected(): boolean {
    return Boolean(this.client?.connected) && !this.offline;
  }

  /** Batches on the device not yet confirmed by the gateway. */
  queued(): string[] {
    return readdirSync(this.queueDir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -5))
      .sort();
  }

  /** The queued batches as they go on the wire. */
  queuedPayloads(): string[] {
    return this.queued().flatMap((id) => {
      try {
        return [readFileSync(path.join(this.queueDir, `${id}.json`), 'utf8')];
      } catch {
        return [];
      }
    });
  }

  routes(): RouteMessage[] {
    return readdirSync(this.routesDir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => JSON.parse(readFileSync(path.join(this.routesDir, n), 'utf8')) as RouteMessage);
  }

  async start(): Promise<void> {
    const { deviceId } = this.opts;
    const status = (online: boolean) =>
      JSON.stringify({ online, battery: this.opts.battery ?? 80, app: 'fieldgate-sim 1.0', model: 'SIM-TAB' });
    const client = mqtt.connect(this.opts.url, {
      clientId: deviceId,
      username: deviceId,
      password: this.opts.secret,
      clean: false,
      protocolVersion: this.opts.protocolVersion ?? 4,
      reconnectPeriod: 500,
      properties: this.opts.protocolVersion === 5 ? { sessionExpiryInterval: 86_400 } : undefined,
      will: {
        topic: this.topics.fromDevice(deviceId, 'status'),
        payload: Buffer.from(status(false)),
        qos: 1,
        retain: true,
      },
    });
    this.client = client;
    client.on('connect', () => {
      this.inFlight.clear();
      client.subscribe(
        [this.topics.acks(deviceId), this.topics.errors(deviceId), this.topics.route(deviceId, '+')],
        { qos: 1 },
        () => {
          void client
            .publishAsync(this.topics.fromDevice(deviceId, 'status'), status(true), { qos: 1, retain: true })
            .catch(() => undefined);
          void client
            .publishAsync(this.topics.fromDevice(deviceId, 'routes/request'), '{}', { qos: 1 })
            .catch(() => undefined);
          this.flush();
          this.emit('connected');
        },
      );
    });
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.dup));
    client.on('error', (err) => this.log(`mqtt: ${err.message}`));
    this.resendTimer = setInterval(() => this.flush(), Math.max(200, Math.floor((this.opts.resendMs ?? 30_000) / 4)));
    this.resendTimer.unref();
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`${deviceId} could not connect to ${this.opts.url} within 10 s`)),
        10_000,
      );
      client.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    if (this.resendTimer) clearInterval(this.resendTimer);
    await this.client?.endAsync(true);
    this.client = null;
  }

  /** The network drops (a tunnel, a dead zone): the connection goes without a goodbye (the broker sends the will). */
  goOffline(): void {
    this.offline = true;
    this.client?.end(true);
  }

  /** Back in coverage: reconnect; queued batches go once connected. */
  goOnline(): void {
    this.offline = false;
    this.client?.reconnect();
  }

  /** Takes a route as if it had arrived earlier (a route file loaded another way, for tests and the bench). */
  holdRoute(route: RouteMessage): void {
    writeFileSync(path.join(this.routesDir, `${route.route}.json`), JSON.stringify(route));
  }

  /** Fault switch: publishes a payload as it is on one of the device's topics (a buggy app, a truncated message). */
  async sendRaw(kind: 'readings' | 'status' | 'routes/request' | 'routes/ack', payload: string): Promise<void> {
    await this.client!.publishAsync(this.topics.fromDevice(this.opts.deviceId, kind), payload, { qos: 1 });
  }

  /** Reads every route it holds and queues the readings in batches; sends them when online. */
  readRoutes(opts: { send?: boolean } = {}): number {
    let batches = 0;
    for (const route of this.routes()) {
      const r = this.opts.reading;
      const now = r.now?.() ?? new Date();
      const start = new Date(now.getTime() - (route.lines.length * PACE_SECONDS + 600) * 1000);
      const day = readRoute(route.lines.map((l) => `${l}\r\n`).join(''), {
        routeLayout: r.routeLayout,
        readLayout: r.readLayout,
        zone: r.zone,
        readerId: r.readerId,
        seed: r.seed,
        mix: r.mix,
        start,
        pace: PACE_SECONDS,
      });
      const size = this.opts.batchSize ?? 50;
      appendJournal(r.journal, this.opts.deviceId, route.route, day.lines);
      for (let i = 0; i < day.lines.length; i += size) {
        const batch: ReadingsBatch = {
          batchId: `${route.route}-${route.cycle}-${String(i / size + 1).padStart(4, '0')}`,
          route: route.route,
          cycle: route.cycle,
          final: i + size >= day.lines.length,
          lines: day.lines.slice(i, i + size),
        };
        this.enqueue(batch);
        batches++;
      }
      writeFileSync(this.readMarker(route), '');
      rmSync(path.join(this.routesDir, `${route.route}.json`), { force: true });
    }
    if (opts.send !== false) this.flush();
    return batches;
  }

  private enqueue(batch: ReadingsBatch): void {
    const file = path.join(this.queueDir, `${batch.batchId}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(batch));
    renameSync(`${file}.tmp`, file);
  }

  /** Publishes queued batches not in flight (or in flight too long without an ack). */
  flush(): void {
    const client = this.client;
    if (!client?.connected || this.offline) return;
    const now = Date.now();
    const window = this.opts.window ?? Infinity;
    for (const id of this.queued()) {
      const sentAt = this.inFlight.get(id);
      if (sentAt !== undefined && now - sentAt < (this.opts.resendMs ?? 30_000)) continue;
      if (sentAt === undefined && this.inFlight.size >= window) break;
      let payload: string;
      try {
        payload = readFileSync(path.join(this.queueDir, `${id}.json`), 'utf8');
      } catch {
        continue; // acked meanwhile
      }
      this.inFlight.set(id, now);
      this.emit('sent', id);
      client.publish(this.topics.fromDevice(this.opts.deviceId, 'readings'), payload, { qos: 1 }, (err) => {
        if (err) this.inFlight.delete(id);
      });
    }
  }

  private onMessage(topic: string, payload: Buffer, redelivered: boolean): void {
    const { deviceId } = this.opts;
    try {
      if (topic === this.topics.acks(deviceId)) {
        const ack = batchAckSchema.parse(JSON.parse(payload.toString('utf8')));
        const file = path.join(this.queueDir, `${ack.batchId}.json`);
        const held = existsSync(file);
        rmSync(file, { force: true });
        this.inFlight.delete(ack.batchId);
        this.emit('acked', ack, { held, redelivered });
        this.flush();
      } else if (topic === this.topics.errors(deviceId)) {
        const err = deviceErrorSchema.parse(JSON.parse(payload.toString('utf8')));
        this.log(`gateway error: ${err.code} ${err.message}`);
        // A batch the gateway refused will not be accepted by sending it again: keep it aside for a person.
        if (err.batchId) {
          const file = path.join(this.queueDir, `${err.batchId}.json`);
          try {
            renameSync(file, `${file}.refused`);
          } catch {
            // not ours, or already set aside
          }
          this.inFlight.delete(err.batchId);
        }
        this.emit('gatewayError', err);
      } else if (topic.startsWith(this.topics.route(deviceId, '')) && payload.length > 0) {
        const route = routeMessageSchema.parse(JSON.parse(payload.toString('utf8')));
        const file = path.join(this.routesDir, `${route.route}.json`);
        const hash = createHash('sha256')
          .update(route.lines.map((l) => `${l}\r\n`).join(''), 'latin1')
          .digest('hex');
        if (hash !== route.sha256) return this.log(`route ${route.route} arrived with another hash; not confirmed`);
        const again = existsSync(this.readMarker(route));
        if (!again) writeFileSync(file, JSON.stringify(route));
        void this.client
          ?.publishAsync(
            this.topics.fromDevice(deviceId, 'routes/ack'),
            JSON.stringify({ route: route.route, sha256: route.sha256 }),
            { qos: 1 },
          )
          .catch(() => undefined);
        if (again) return this.log(`route ${route.route} arrived again; already read, confirmed and not read twice`);
        this.emit('route', route);
      }
    } catch (err) {
      this.log(`bad message on ${topic}: ${(err as Error).message}`);
    }
  }

  private readMarker(route: RouteMessage): string {
    return path.join(this.readDir, `${route.route}-${route.sha256.slice(0, 16)}`);
  }

  private log(message: string): void {
    this.opts.log?.(`${this.opts.deviceId}: ${message}`);
  }
}
