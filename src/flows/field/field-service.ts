import { createHash } from 'node:crypto';
import path from 'node:path';
import { EmbeddedBroker, LoginRefused } from '../../../adapters/mqtt/broker.js';
import {
  batchAckSchema,
  parsePayload,
  PayloadError,
  readingsBatchSchema,
  routeAckSchema,
  routeRequestSchema,
  statusSchema,
  type BatchAck,
  type DeviceError,
  type RouteMessage,
} from '../../../adapters/mqtt/messages.js';
import { MqttAdapter, type FieldMessage } from '../../../adapters/mqtt/mqtt-adapter.js';
import { Topics } from '../../../adapters/mqtt/topics.js';
import type { GatewayContext } from '../context.js';
import { RouteAssignment } from '../routes/route-assignment.js';
import { isConnectionError, isUniqueViolation } from '../../infra/db/sql-utils.js';
import { AppError, errorMessage } from '../../errors.js';
import type { Logger } from '../../infra/log/logger.js';
import { bufferLineSource } from '../readings/file-source.js';
import { deviceBatchKey, importReadings } from '../readings/import-readings.js';
import { hostname } from 'node:os';
import {
  noteCommand,
  onlineDevicesWithNewLoads,
  pendingCommands,
  recordDeviceSeen,
  setDeviceOnline,
  type DockCommandRow,
} from '../../infra/store/dock-repo.js';
import { verifyMqttSecret, type MqttAccount } from '../../infra/store/mqtt-accounts-repo.js';
import { beginLogin, loginSucceeded, TooManyAttemptsError } from '../../infra/store/login-throttle.js';
import { isDeviceId } from '../../core/device-id.js';
import { enqueue } from '../../infra/store/outbox-repo.js';
import { bumpVersion } from '../../infra/store/change-counters.js';
import { RtlamrIngest } from '../ami/rtlamr-ingest.js';
import { WmbusIngest } from '../ami/wmbus-ingest.js';
import { BadMessageLimiter } from '../exceptions/bad-message-limiter.js';
import { techUpdate } from '../work-orders/schemas.js';
import { moveWorkOrder, StaleUpdateError, type WorkOrder } from '../work-orders/work-orders.js';
import type { Component } from '../lifecycle.js';
import type { AdapterHealth } from '../../../adapters/adapter.js';
import { OutboxPublisher, MQTT_PUBLISH, type PublishItem } from './outbox-publisher.js';

/**
 * Field devices over MQTT (docs/mqtt.md): readings batches in, acknowledgements, errors and
 * routes out. A batch is stored through the same import as readings files, once per device,
 * batch id and content hash, and acknowledged only after the commit. Everything the gateway
 * sends goes through the store's outbox, so a restart of the gateway or the broker resends what
 * was not yet confirmed. While the store is down, a batch waits (not acknowledged) and retries.
 */
export class FieldService implements Component {
  readonly name = 'mqtt';
  readonly topics: Topics;
  /** This gateway's MQTT client id: never told to devices (anyone holding it could try to take its session). */
  readonly clientId: string;
  /** What acks and import records call this gateway: a digest of its client id, not the id itself. */
  readonly gatewayName: string;
  readonly broker: EmbeddedBroker | null;
  private adapters: MqttAdapter[] = [];
  private publisher: OutboxPublisher | null = null;
  private readonly log: Logger;
  private readonly assignment: RouteAssignment;
  private stopping = false;
  private offerTimer: NodeJS.Timeout | null = null;
  /** rtlamr radio reads arriving on <prefix>/rtlamr/<receiver>. */
  readonly rtlamr: RtlamrIngest;
  /** wmbusmeters telegrams arriving on ami.wmbusmeters.topic. */
  readonly wmbus: WmbusIngest;
  /** Bad messages kept as exceptions, per device and period (mqtt.badMessages). */
  private readonly badMessages: BadMessageLimiter;

  constructor(private readonly ctx: GatewayContext) {
    const cfg = ctx.config.mqtt;
    this.topics = new Topics(cfg.prefix, ctx.config.ami.wmbusmeters.topic);
    this.clientId = gatewayClientId(ctx);
    this.gatewayName = `gw-${createHash('sha256').update(this.clientId).digest('hex').slice(0, 12)}`;
    this.log = ctx.log.child({ module: 'mqtt' });
    this.assignment = new RouteAssignment(ctx, path.resolve(ctx.config.dataDir, 'mqtt', 'outgoing'));
    this.badMessages = new BadMessageLimiter(ctx.store.db, cfg.badMessages);
    this.rtlamr = new RtlamrIngest(ctx, this.badMessages);
    this.wmbus = new WmbusIngest(ctx, this.badMessages);
    this.broker = cfg.url
      ? null
      : new EmbeddedBroker({
          ...cfg.broker,
          topics: this.topics,
          gatewayClientId: this.clientId,
          verify: (username, secret, address) => this.verifyLogin(username, secret, address),
          log: (message, meta) => this.log.info(message, meta),
        });
  }

  /**
   * A login to the embedded broker, throttled as console logins are (per name and address, in the
   * store), with MQTT names apart from console names.
   */
  private async verifyLogin(username: string, secret: string, address: string): Promise<MqttAccount | null> {
    const db = this.ctx.store.db;
    let attempt;
    try {
      attempt = await beginLogin(
        db,
        { username: `mqtt:${username}`, ip: address },
        this.ctx.config.auth.login,
        this.ctx.clock(),
      );
    } catch (err) {
      if (err instanceof TooManyAttemptsError)
        throw new LoginRefused(`too many failed logins; try again in ${err.retryAfter} s`, 5);
      throw err;
    }
    // A name no account can have still costs a secret check: every refusal takes as long.
    const account = await verifyMqttSecret(db, isDeviceId(username) ? username : '', secret);
    // A refusal is logged by the broker, once, with the client id.
    if (account) await loginSucceeded(db, attempt);
    return account;
  }

  /** Where devices connect: the external broker, or the embedded one once started. */
  get brokerUrl(): string {
    return this.ctx.config.mqtt.url ?? this.broker!.url;
  }

  async start(): Promise<void> {
    const cfg = this.ctx.config.mqtt;
    if (this.broker) {
      await this.broker.start();
      this.log.info(`embedded MQTT broker listening on ${this.broker.url}`);
    }
    // Without shared subscriptions (the embedded broker) a second connection would get every message again.
    const consumers = this.broker || !cfg.sharedGroup ? 1 : cfg.consumers;
    for (let n = 0; n < consumers; n++) {
      const adapter = new MqttAdapter(
        {
          url: this.brokerUrl,
          clientId: n === 0 ? this.clientId : `${this.clientId}-${n}`,
          username: this.broker ? this.broker.gatewayLogin.username : cfg.username,
          password: this.broker ? this.broker.gatewayLogin.password : cfg.password,
          tls: cfg.tls,
          protocolVersion: this.broker ? 4 : 5,
          sharedGroup: cfg.sharedGroup,
          sessionExpirySeconds: cfg.sessionExpirySeconds,
          receiveMaximum: cfg.receiveMaximum,
          topics: this.topics,
        },
        (message) => this.handle(message),
      );
      this.adapters.push(adapter);
      await adapter.start();
    }
    const adapter = this.adapters[0]!;
    this.publisher = new OutboxPublisher(this.ctx, adapter, cfg.outboxPollMs, this.log, this.clientId, this.topics);
    this.publisher.start();
    // A route assigned while its device is online goes out without waiting for the device to ask.
    this.offerTimer = setInterval(
      () =>
        void this.offerNewAssignments().catch((err: unknown) => this.log.warn(`route offers: ${errorMessage(err)}`)),
      this.ctx.config.dock.pollMs,
    );
    this.offerTimer.unref();
    this.log.info(`connected to ${this.brokerUrl}`);
  }

  private async offerNewAssignments(): Promise<void> {
    for (const deviceId of await onlineDevicesWithNewLoads(this.ctx.store.db)) await this.offerRoutes(deviceId);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.offerTimer) clearInterval(this.offerTimer);
    await this.publisher?.stop();
    await Promise.all(this.adapters.map((a) => a.stop()));
    await this.broker?.stop();
  }

  /** Running while every connection to the broker is; otherwise the first one that is not, and why. */
  health(): AdapterHealth {
    const states = this.adapters.map((a) => a.health());
    return (
      states.find((h) => h.state !== 'running') ??
      states[0] ?? { state: 'stopped', detail: 'not started', since: new Date().toISOString() }
    );
  }

  /** Messages handled since start, by "kind outcome" (for /metrics). */
  readonly messageCounts = new Map<string, number>();

  /** One message from a device; resolves once it is dealt with, which is when the broker gets its PUBACK. */
  async handle(message: FieldMessage): Promise<void> {
    const count = (outcome: string) =>
      this.messageCounts.set(
        `${message.kind} ${outcome}`,
        (this.messageCounts.get(`${message.kind} ${outcome}`) ?? 0) + 1,
      );
    try {
      await this.handleOnce(message);
      count('handled');
    } catch (err) {
      count('failed');
      throw err;
    }
  }

  private async handleOnce(message: FieldMessage): Promise<void> {
    await this.untilStored(`${message.kind} from ${message.deviceId}`, async () => {
      try {
        switch (message.kind) {
          case 'readings':
            return await this.onReadings(message);
          case 'status':
            return await this.onStatus(message);
          case 'routes/request':
            parsePayload(routeRequestSchema, message.payload);
            return await this.offerRoutes(message.deviceId);
          case 'routes/ack':
            return await this.onRouteAck(message);
          case 'rtlamr':
            return await this.rtlamr.handle(message.deviceId, message.payload);
          case 'wmbusmeters':
            return await this.wmbus.handle(message.topic, message.payload);
          case 'tech/updates':
            return await this.onTechUpdate(message);
        }
      } catch (err) {
        if (err instanceof PayloadError || err instanceof AppError) return this.reject(message, err);
        throw err;
      }
    });
  }

  /** Retries while the store is unreachable (a restart, a failover): the message stays unacknowledged meanwhile. */
  private async untilStored(what: string, work: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        if (this.stopping || !isConnectionError(err)) throw err;
        const wait = Math.min(5000, 200 * 2 ** attempt);
        this.log.warn(`${what}: the store is unreachable (${errorMessage(err)}); retrying in ${wait} ms`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private async onReadings(message: FieldMessage): Promise<void> {
    const batch = parsePayload(readingsBatchSchema, message.payload);
    await this.confirmLoadFromReadings(message.deviceId, batch.route, batch.cycle);
    const content = Buffer.from(batch.lines.map((l) => `${l}\r\n`).join(''), 'latin1');
    const contentSha = createHash('sha256').update(content).digest('hex');
    const key = deviceBatchKey('mqtt', message.deviceId, batch.batchId, content);
    const summary = await importReadings(this.ctx, bufferLineSource(`${message.deviceId}-${batch.batchId}`, content), {
      source: 'mqtt',
      actor: `mqtt:${message.deviceId}@${this.gatewayName}`.slice(0, 64),
      route: { code: batch.route, cycle: batch.cycle },
      partial: { final: batch.final },
      idempotencyKey: key,
    });
    const ack: BatchAck = batchAckSchema.parse({
      batchId: batch.batchId,
      status: summary.duplicateOf ? 'duplicate' : 'stored',
      lines: summary.lines,
      stored: summary.stored,
      rejected: summary.rejected,
      exceptions: summary.exceptions,
      gateway: this.gatewayName,
    });
    // Keyed by status too: when two gateways race on one batch, the "stored" ack is never lost to the "duplicate" one.
    await this.send(
      { topic: this.topics.acks(message.deviceId), payload: JSON.stringify(ack) },
      `ack:${message.deviceId}:${batch.batchId}:${contentSha.slice(0, 16)}:${ack.status}`,
    );
    this.log.info(
      `readings batch ${batch.batchId} from ${message.deviceId}: ${ack.status}, ${ack.stored} stored, ` +
        `${ack.rejected} rejected`,
      { device: message.deviceId, batch: summary.batchId },
    );
  }

  private async onStatus(message: FieldMessage): Promise<void> {
    const status = parsePayload(statusSchema, message.payload);
    const now = this.ctx.clock().toISOString();
    const db = this.ctx.store.db;
    // A device that can log in to the broker holds a secret an admin issued: it is approved.
    await recordDeviceSeen(
      db,
      { device: message.deviceId, battery: status.battery, model: status.model, fw: status.app },
      { now, approve: true },
    );
    await setDeviceOnline(db, message.deviceId, status.online, status.app ?? null);
    if (status.online) await this.offerRoutes(message.deviceId);
  }

  /** Publishes (retained) every route assigned to the device; the command is done when the device acks it. */
  private async offerRoutes(deviceId: string): Promise<void> {
    const db = this.ctx.store.db;
    for (const cmd of await pendingCommands(db, { deviceId, command: 'load' })) {
      const built = await this.assignment.prepare(cmd);
      if (!cmd.file_sha256) await noteCommand(db, cmd.id, { file_sha256: built.sha256 });
      const route: RouteMessage = {
        route: built.routeCode,
        cycle: built.cycle,
        layout: built.layout,
        records: built.lines.length,
        sha256: built.sha256,
        lines: built.content.toString('latin1').split('\r\n').filter(Boolean),
      };
      await this.send(
        { topic: this.topics.route(deviceId, built.routeCode), payload: JSON.stringify(route), retain: true },
        `route:${deviceId}:${cmd.id}`,
      );
    }
  }

  private async onRouteAck(message: FieldMessage): Promise<void> {
    const ack = parsePayload(routeAckSchema, message.payload);
    const cmd = (
      await pendingCommands(this.ctx.store.db, { deviceId: message.deviceId, routeCode: ack.route, command: 'load' })
    ).find((c) => c.file_sha256 === ack.sha256);
    if (!cmd) return; // acked twice, or a route not sent by this gateway: nothing to record
    await this.confirmLoad(message.deviceId, cmd);
  }

  /**
   * Readings of a route this gateway sent the device but whose confirmation it has not handled yet
   * (the ack was held up by a store outage or a restart, and the readings overtook it): a device
   * sending readings of the route holds it, so the load is recorded now rather than the readings
   * refused (fault suite finding: refused batches were set aside on the device, never billed).
   */
  private async confirmLoadFromReadings(deviceId: string, routeCode: string, cycle: string | undefined): Promise<void> {
    const cmd = await this.assignment.unrecordedLoad(deviceId, routeCode, cycle);
    if (!cmd) return;
    this.log.info(
      `readings of ${routeCode} from ${deviceId} arrived before its confirmation of the route: recording the load now`,
      { device: deviceId },
    );
    await this.confirmLoad(deviceId, cmd);
  }

  private async confirmLoad(deviceId: string, cmd: DockCommandRow): Promise<void> {
    const built = await this.assignment.prepare(cmd);
    await this.assignment.recordLoad(
      deviceId,
      cmd,
      built,
      `loaded ${built.lines.length} records on ${deviceId} over MQTT`,
    );
    await bumpVersion(this.ctx.store.db, 'ledger');
    // The retained copy is no longer needed: an empty retained message removes it.
    await this.send(
      { topic: this.topics.route(deviceId, built.routeCode), payload: '', retain: true },
      `unroute:${deviceId}:${cmd.id}`,
    );
  }

  /** A message a device must fix: answered on its error topic, and kept for a CSR. */
  private async reject(message: FieldMessage, err: PayloadError | AppError): Promise<void> {
    const field = err instanceof PayloadError ? err.field : (err.detail.field ?? null);
    const batchId = (() => {
      try {
        const id = (JSON.parse(message.payload.toString('utf8')) as { batchId?: unknown }).batchId;
        return typeof id === 'string' ? id.slice(0, 64) : null;
      } catch {
        return null;
      }
    })();
    const now = this.ctx.clock();
    const raw = message.payload.toString('utf8', 0, Math.min(message.payload.length, 100_000));
    const kept = await this.badMessages.record(
      message.deviceId,
      {
        source: 'mqtt',
        kind: 'BAD_MESSAGE',
        severity: 'reject',
        field,
        value: message.topic,
        message: `${message.deviceId} on ${message.kind}: ${err.message}`,
        raw,
      },
      now,
    );
    // A device past its bound is told once per period, not once per message (each answer is an outbox row, each line a
    // log line).
    if (kept === 'counted') return;
    const error: DeviceError =
      kept === 'kept'
        ? { batchId, code: err.code, field, message: err.message }
        : {
            batchId,
            code: 'TOO_MANY_BAD_MESSAGES',
            field,
            message:
              `too many bad messages: further ones are counted, not answered, for up to ` +
              `${this.ctx.config.mqtt.badMessages.periodMinutes} minutes. This one: ${err.message}`,
          };
    const rawSha = createHash('sha256').update(raw).digest('hex').slice(0, 24);
    const key = `error:${message.deviceId}:${rawSha}:${now.toISOString()}`;
    await this.send({ topic: this.topics.errors(message.deviceId), payload: JSON.stringify(error) }, key);
    this.log.warn(`bad ${message.kind} from ${message.deviceId}: ${error.message}`, {
      device: message.deviceId,
      field,
    });
  }

  /**
   * A technician's change to an order, from their tablet. The reply goes to the technician's
   * replies topic: applied (with the order), conflict (with the order as it is now: the tablet
   * worked on an older version) or rejected (with the field). A change delivered twice is
   * applied once and answered `applied` both times.
   */
  private async onTechUpdate(message: FieldMessage): Promise<void> {
    const tech = message.deviceId;
    let reply: TechReply;
    try {
      const u = parsePayload(techUpdate, message.payload);
      const base = { updateId: u.updateId, orderNo: u.orderNo };
      try {
        const order = await moveWorkOrder(
          this.ctx.store.db,
          this.ctx.config,
          u.orderNo,
          {
            to: u.state,
            version: u.version,
            at: u.at,
            note: u.note,
            gps: u.gps,
            completion: u.completion ?? null,
            reason: u.completion?.reason ?? null,
            updateId: u.updateId,
          },
          { role: 'tech', name: tech },
          this.ctx.clock(),
        );
        reply = { ...base, status: 'applied', order };
      } catch (err) {
        if (err instanceof StaleUpdateError)
          reply = {
            ...base,
            status: 'conflict',
            error: { code: err.code, field: 'version', message: err.message },
            current: err.current,
          };
        else if (err instanceof AppError && err.status < 500)
          reply = {
            ...base,
            status: 'rejected',
            error: { code: err.code, field: err.detail.field ?? null, message: err.message },
          };
        else throw err;
      }
    } catch (err) {
      if (!(err instanceof PayloadError)) throw err;
      reply = {
        updateId: null,
        orderNo: null,
        status: 'rejected',
        error: { code: err.code, field: err.field, message: err.message },
      };
    }
    const update = reply.updateId ?? createHash('sha256').update(message.payload).digest('hex').slice(0, 24);
    const key = `tech-reply:${tech}:${update}:${reply.status}`;
    await this.send({ topic: this.topics.techReplies(tech), payload: JSON.stringify(reply) }, key);
    // The order topics changed with the order (queued in its transaction): send them now too.
    this.publisher?.wake();
  }

  private async send(item: PublishItem, key: string): Promise<void> {
    try {
      await enqueue(this.ctx.store.db, MQTT_PUBLISH, [{ key, payload: item }], this.ctx.clock().toISOString());
    } catch (err) {
      // The same answer is already waiting to go out (a duplicate arrived before it was sent).
      if (!isUniqueViolation(err)) throw err;
    }
    this.publisher?.wake();
  }
}

/**
 * The same gateway keeps the same client id across restarts, so its persistent session (and the
 * messages the broker holds for it) is there when it comes back; two gateways on one host differ
 * by data directory and port.
 */
/** What a technician's tablet is told about one change it sent. */
export interface TechReply {
  updateId: string | null;
  orderNo: string | null;
  status: 'applied' | 'conflict' | 'rejected';
  order?: WorkOrder;
  current?: WorkOrder;
  error?: { code: string; field: string | null; message: string };
}

export function gatewayClientId(ctx: GatewayContext): string {
  const where = createHash('sha256')
    .update(`${path.resolve(ctx.config.dataDir)}|${ctx.config.server.port}`)
    .digest('hex')
    .slice(0, 8);
  return `fieldgate-${hostname()
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .slice(0, 30)}-${where}`;
}
