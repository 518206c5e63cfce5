/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) that `fieldgate start` runs when no external
 * broker is configured. Nobody connects anonymously: devices log in with their device id and
 * secret (checked against the store), and a device publishes and subscribes only under its own
 * topics. Every client id is bound to the login that may use it, so no one can take over
 * another's session (security probe: a CSR login with the gateway's client id and clean=false
 * received the readings meant for the gateway): a device, radio or technician uses its own name;
 * a CSR or admin its name or `<name>:<anything>`; the gateway's ids are the gateway's alone
 * (its login, with a per-process secret). Packets are bounded from their headers
 * (MqttPacketGuard), secrets are checked a few at a time off the event loop, retained messages
 * from the field are small, and a device publishing faster than its rate waits.
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type Client } from 'aedes';
import { MqttPacketGuard } from './packet-guard.js';
import { mqtt5Bridge } from './mqtt5-bridge.js';
import type { Topics } from './topics.js';

export interface BrokerAccount {
  username: string;
  role: 'device' | 'radio' | 'tech' | 'csr' | 'admin' | 'gateway';
}

/** Why a login was refused, when it was not simply a wrong secret. */
export class LoginRefused extends Error {
  constructor(
    message: string,
    /** The CONNACK return code (3.1.1): 3 server unavailable, 4 bad credentials, 5 not authorized. */
    readonly returnCode: 3 | 4 | 5,
  ) {
    super(message);
  }
}

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  portFallback: boolean;
  topics: Topics;
  /** The client id the gateway connects with; it and `<id>-<n>` are reserved for the gateway's login. */
  gatewayClientId: string;
  /** The account these credentials belong to, or null; throws LoginRefused (throttled, say). */
  verify(username: string, secret: string, address: string): Promise<BrokerAccount | null>;
  log(message: string, meta?: Record<string, unknown>): void;
  /**
   * Field messages (QoS 1) the broker may hold for the gateway unacknowledged. At the bound, a
   * publishing device is not answered until the gateway catches up: a flood waits in the devices,
   * which keep it on disk, not in this process's memory.
   */
  maxBacklog: number;
  maxPacketBytes: number;
  maxConnectBytes: number;
  maxRetainedBytes: number;
  /** Secret checks at once, and logins that may wait for one; past that, refused as busy. */
  loginConcurrency: number;
  loginQueue: number;
  devicePublishBurst: number;
  devicePublishPerSecond: number;
}

/** A backlog entry the gateway never acknowledges (no subscription took it) stops counting after this. */
const BACKLOG_ENTRY_TTL_MS = 60_000;

const NOT_AUTHORIZED = 5;
const BAD_CREDENTIALS = 4;
const FALLBACK_PORTS = 20;

export class EmbeddedBroker {
  /** The gateway's own login, valid for this process only. */
  readonly gatewayLogin = {
    username: `fieldgate-gateway-${randomBytes(4).toString('hex')}`,
    password: randomBytes(24).toString('base64url'),
  };
  private aedes: Aedes | null = null;
  private server: Server | null = null;
  private accounts = new WeakMap<Client, BrokerAccount>();
  /** Each connection's guard and remote address, by the stream aedes was handed. */
  private readonly connections = new WeakMap<object, { guard: MqttPacketGuard; address: string }>();
  private logins!: Semaphore;
  private rates!: PublishRates;
  /** Packets refused by size, logins refused, by reason (for /metrics and the security suite). */
  readonly refusals = new Map<string, number>();
  /**
   * Field messages published and not yet acknowledged by the gateway: when each came, by topic and
   * payload hash (the packet aedes reports on publish is the device's own, without the broker id
   * that its acknowledgement later carries).
   */
  private readonly backlog = new Map<string, number[]>();
  private backlogCount = 0;
  /** Publishes let through and not yet seen published: aedes authorizes a whole TCP read of packets at once. */
  private readonly reserved: number[] = [];
  /** Acknowledgements that arrived before aedes reported the publish (counted off when it does). */
  private readonly earlyAcks = new Map<string, number>();
  private readonly waiting: (() => void)[] = [];
  private sweeper: NodeJS.Timeout | null = null;
  /** The most the backlog held at once (for /metrics and the flood test). */
  backlogPeak = 0;
  port = 0;

  constructor(private readonly opts: EmbeddedBrokerOptions) {}

  get url(): string {
    return `mqtt://${this.opts.host}:${this.port}`;
  }

  /** True for the client ids the gateway's own connections use. */
  private isGatewayClientId(id: string): boolean {
    const own = this.opts.gatewayClientId;
    return id === own || (id.startsWith(`${own}-`) && /^\d{1,2}$/.test(id.slice(own.length + 1)));
  }

  /** Why this login may not use this client id, or null when it may. */
  private clientIdRefusal(account: BrokerAccount, clientId: string): string | null {
    // Only this process holds the gateway's secret; its ids are reserved for it, not it to them.
    if (account.role === 'gateway') return null;
    if (this.isGatewayClientId(clientId)) return 'that client id is reserved for the gateway';
    if (account.role === 'csr' || account.role === 'admin') {
      return clientId === account.username || clientId.startsWith(`${account.username}:`)
        ? null
        : `the client id must be ${account.username} or ${account.username}:<anything>`;
    }
    return clientId === account.username ? null : `a device's client id must be its device id (${account.username})`;
  }

  private count(reason: string): void {
    this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
  }

  async start(): Promise<void> {
    const { topics } = this.opts;
    this.logins = new Semaphore(this.opts.loginConcurrency, this.opts.loginQueue);
    this.rates = new PublishRates(this.opts.devicePublishBurst, this.opts.devicePublishPerSecond);
    const aedes = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        const refuse = (returnCode: number, why: string, reason: string) => {
          this.count(reason);
          this.opts.log(`mqtt login refused for ${username ?? '(anonymous)'}: ${why}`, { client: client.id });
          done(Object.assign(new Error(why), { returnCode }), false);
        };
        if (!username || !password)
          return refuse(NOT_AUTHORIZED, 'no username and secret (anonymous access is off)', 'anonymous');
        const secret = password.toString('utf8');
        const conn = this.connections.get(client.conn);
        const accept = (account: BrokerAccount) => {
          const wrongId = this.clientIdRefusal(account, client.id);
          if (wrongId) return refuse(NOT_AUTHORIZED, wrongId, 'client id');
          this.accounts.set(client, account);
          // The gateway sends routes to devices: its own packets are bounded by MQTT's limit, not the devices'.
          if (account.role === 'gateway' && conn) conn.guard.maxPacketBytes = MQTT_MAX_PACKET;
          done(null, true);
        };
        if (username === this.gatewayLogin.username) {
          if (!sameSecret(secret, this.gatewayLogin.password))
            return refuse(BAD_CREDENTIALS, 'wrong secret', 'bad credentials');
          return accept({ username, role: 'gateway' });
        }
        if (!this.logins.tryEnter()) return refuse(3, 'too many logins at once; try again shortly', 'busy');
        this.opts
          .verify(username, secret, conn?.address ?? 'unknown')
          .finally(() => this.logins.leave())
          .then(
            (account) =>
              account ? accept(account) : refuse(BAD_CREDENTIALS, 'unknown device or wrong secret', 'bad credentials'),
            (err: Error) =>
              err instanceof LoginRefused
                ? refuse(err.returnCode, err.message, 'throttled')
                : refuse(3, `store unavailable: ${err.message}`, 'store'),
          );
      },
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null); // the broker's own messages (wills are checked when the device connects)
        const account = this.accounts.get(client);
        if (account?.role === 'gateway') return done(null);
        const allowed =
          (account?.role === 'device' && topics.deviceMayPublish(account.username, packet.topic)) ||
          (account?.role === 'radio' &&
            (packet.topic === topics.rtlamr(account.username) || topics.isWmbus(packet.topic))) ||
          (account?.role === 'tech' && packet.topic === topics.techUpdates(account.username));
        if (allowed && packet.retain && packet.payload.length > this.opts.maxRetainedBytes) {
          this.count('retained too large');
          this.opts.log(
            `mqtt publish refused: ${account.username} may not retain ${packet.payload.length} bytes on ` +
              `${packet.topic} (mqtt.broker.maxRetainedBytes ${this.opts.maxRetainedBytes})`,
          );
          return done(new Error('retained message too large'));
        }
        // aedes takes a client's next packet only after this answer: waiting here is back-pressure on that device.
        if (allowed)
          return void this.rates
            .wait(account.username)
            .then(() => this.roomInBacklog())
            .then(() => done(null));
        this.count('publish not allowed');
        this.opts.log(`mqtt publish refused: ${account?.username ?? client.id} may not publish to ${packet.topic}`);
        done(new Error(`not allowed to publish to ${packet.topic}`));
      },
      authorizeSubscribe: (client, sub, done) => {
        const account = this.accounts.get(client);
        const ok =
          account?.role === 'gateway' ||
          (account?.role === 'device' && topics.deviceMaySubscribe(account.username, sub.topic)) ||
          (account?.role === 'tech' && topics.techMaySubscribe(account.username, sub.topic)) ||
          ((account?.role === 'csr' || account?.role === 'admin') && sub.topic.startsWith(`${topics.prefix}/devices/`));
        if (ok) return done(null, sub);
        this.opts.log(`mqtt subscribe refused: ${account?.username ?? client.id} may not subscribe to ${sub.topic}`);
        // A null subscription is refused in the SUBACK (0x80); the client stays connected.
        done(null, null);
      },
    });
    this.aedes = aedes;
    aedes.on('publish', (packet, client) => {
      // Only what the gateway takes in (QoS 1 on its topics) waits for its acknowledgement.
      if (!client || packet.qos === 0 || !topics.parse(packet.topic) || this.accounts.get(client)?.role === 'gateway')
        return;
      this.reserved.shift();
      const key = backlogKey(packet);
      const early = this.earlyAcks.get(key);
      if (early) {
        if (early > 1) this.earlyAcks.set(key, early - 1);
        else this.earlyAcks.delete(key);
        return this.release();
      }
      const list = this.backlog.get(key);
      if (list) list.push(Date.now());
      else this.backlog.set(key, [Date.now()]);
      this.backlogPeak = Math.max(this.backlogPeak, ++this.backlogCount);
    });
    aedes.on('ack', (packet, client) => {
      if (!packet || !client || this.accounts.get(client)?.role !== 'gateway' || !('topic' in packet)) return;
      const key = backlogKey(packet);
      const list = this.backlog.get(key);
      if (!list) return void this.earlyAcks.set(key, (this.earlyAcks.get(key) ?? 0) + 1);
      list.shift();
      if (list.length === 0) this.backlog.delete(key);
      this.backlogCount--;
      this.release();
    });
    this.sweeper = setInterval(() => {
      const stale = Date.now() - BACKLOG_ENTRY_TTL_MS;
      while (this.reserved.length && this.reserved[0]! < stale) this.reserved.shift();
      if (this.backlogCount === 0) this.earlyAcks.clear();
      for (const [key, list] of this.backlog) {
        while (list.length && list[0]! < stale) {
          list.shift();
          this.backlogCount--;
        }
        if (list.length === 0) this.backlog.delete(key);
      }
      this.release();
    }, 1000);
    this.sweeper.unref();
    const server = createServer((socket) => this.accept(socket, aedes));
    this.server = server;
    const tries = this.opts.portFallback && this.opts.port !== 0 ? FALLBACK_PORTS : 1;
    for (let i = 0; i < tries; i++) {
      const port = this.opts.port === 0 ? 0 : this.opts.port + i;
      const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
        server.once('error', resolve);
        server.listen(port, this.opts.host, () => {
          server.off('error', resolve);
          resolve(null);
        });
      });
      if (!err) {
        this.port = (server.address() as { port: number }).port;
        if (i > 0) this.opts.log(`mqtt port ${this.opts.port} is taken; the embedded broker listens on ${this.port}`);
        return;
      }
      if (err.code !== 'EADDRINUSE' || i === tries - 1) {
        await new Promise<void>((r) => aedes.close(() => r()));
        throw new Error(`the embedded MQTT broker cannot listen on ${this.opts.host}:${port}: ${err.message}`);
      }
    }
  }

  /** Hands aedes the socket behind a packet-size guard; a packet over the bound closes the connection. */
  private accept(socket: Socket, aedes: Aedes): void {
    const guard = new MqttPacketGuard(this.opts.maxConnectBytes, this.opts.maxPacketBytes);
    const address = socket.remoteAddress ?? 'unknown';
    guard.on('error', (err: Error & { code?: string }) => {
      socket.destroy();
      // An abort is the connection ending (the socket went first); only the guard's own refusals are news.
      if (err.code !== 'MQTT_PACKET_TOO_LARGE' && err.code !== 'MQTT_MALFORMED') return;
      this.count(err.code === 'MQTT_PACKET_TOO_LARGE' ? 'packet too large' : 'malformed');
      this.opts.log(`mqtt connection from ${address} closed: ${err.message}`);
    });
    socket.on('error', () => guard.destroy());
    socket.pipe(guard);
    const conn = mqtt5Bridge(guard, socket, {
      maxPacketBytes: () => guard.maxPacketBytes,
      onProtocolError: (message) => {
        this.count('mqtt5 protocol error');
        this.opts.log(`mqtt connection from ${address} closed: ${message}`);
      },
    });
    conn.on('error', () => socket.destroy());
    this.connections.set(conn, { guard, address });
    aedes.handle(conn);
  }

  /** Field messages handed to the gateway and not yet acknowledged. */
  get backlogSize(): number {
    return this.backlogCount;
  }

  private roomInBacklog(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.release();
    });
  }

  /** Lets waiting publishes through while there is room, each holding its place until aedes publishes it. */
  private release(): void {
    while (this.waiting.length && this.backlogCount + this.reserved.length < this.opts.maxBacklog) {
      this.reserved.push(Date.now());
      this.waiting.shift()!();
    }
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const resolve of this.waiting.splice(0)) resolve();
    const server = this.server;
    const aedes = this.aedes;
    this.server = null;
    this.aedes = null;
    if (aedes) await new Promise<void>((r) => aedes.close(() => r()));
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

/** MQTT's own bound on a packet (the largest remaining length a header can say). */
const MQTT_MAX_PACKET = 268_435_455;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Secret checks in flight: up to `limit` run (the thread pool takes four at a time) and `queue` more wait in it; past
 * that, refused at once.
 */
class Semaphore {
  private active = 0;
  constructor(
    private readonly limit: number,
    private readonly queue: number,
  ) {}

  tryEnter(): boolean {
    if (this.active >= this.limit + this.queue) return false;
    this.active++;
    return true;
  }

  leave(): void {
    this.active--;
  }
}

/**
 * A token bucket per publisher: a device past its burst waits for its rate (the broker reads nothing more from it
 * meanwhile).
 */
class PublishRates {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
  ) {}

  async wait(who: string): Promise<void> {
    for (;;) {
      const now = Date.now();
      const b = this.buckets.get(who) ?? { tokens: this.burst, at: now };
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
      b.at = now;
      this.buckets.set(who, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        if (this.buckets.size > 10_000) this.forgetFull();
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - b.tokens) / this.perSecond) * 1000)));
    }
  }

  private forgetFull(): void {
    for (const [who, b] of this.buckets) if (b.tokens >= this.burst - 1) this.buckets.delete(who);
  }
}

function backlogKey(packet: { topic: string; payload: string | Buffer }): string {
  return `${packet.topic}\n${createHash('sha1').update(packet.payload).digest('base64')}`;
}
