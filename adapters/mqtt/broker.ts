import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { Aedes, type Client } from 'aedes';
import type { Topics } from './topics.js';

/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) that `fieldgate start` runs when no external
 * broker is configured. Nobody connects anonymously: devices log in with their device id and
 * secret (checked against the store), and a device publishes and subscribes only under its own
 * topics; its client id must be its device id, so no one can take over its session. CSR and
 * admin accounts may watch device topics; the gateway's own client has a per-process secret.
 */
export interface BrokerAccount {
  username: string;
  role: 'device' | 'radio' | 'tech' | 'csr' | 'admin' | 'gateway';
}

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  portFallback: boolean;
  topics: Topics;
  verify(username: string, secret: string): Promise<BrokerAccount | null>;
  log(message: string, meta?: Record<string, unknown>): void;
  /**
   * Field messages (QoS 1) the broker may hold for the gateway unacknowledged. At the bound, a
   * publishing device is not answered until the gateway catches up: a flood waits in the devices,
   * which keep it on disk, not in this process's memory.
   */
  maxBacklog: number;
}

/** A backlog entry the gateway never acknowledges (no subscription took it) stops counting after this. */
const BACKLOG_ENTRY_TTL_MS = 60_000;

const NOT_AUTHORIZED = 5;
const BAD_CREDENTIALS = 4;
const FALLBACK_PORTS = 20;

export class EmbeddedBroker {
  /** The gateway's own login, valid for this process only. */
  readonly gatewayLogin = { username: `fieldgate-gateway-${randomBytes(4).toString('hex')}`, password: randomBytes(24).toString('base64url') };
  private aedes: Aedes | null = null;
  private server: Server | null = null;
  private accounts = new WeakMap<Client, BrokerAccount>();
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

  async start(): Promise<void> {
    const { topics } = this.opts;
    const aedes = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        const refuse = (returnCode: number, why: string) => {
          this.opts.log(`mqtt login refused for ${username ?? '(anonymous)'}: ${why}`, { client: client.id });
          done(Object.assign(new Error(why), { returnCode }), false);
        };
        if (!username || !password) return refuse(NOT_AUTHORIZED, 'no username and secret (anonymous access is off)');
        const secret = password.toString('utf8');
        if (username === this.gatewayLogin.username) {
          if (secret !== this.gatewayLogin.password) return refuse(BAD_CREDENTIALS, 'wrong secret');
          this.accounts.set(client, { username, role: 'gateway' });
          return done(null, true);
        }
        this.opts.verify(username, secret).then(
          (account) => {
            if (!account) return refuse(BAD_CREDENTIALS, 'unknown device or wrong secret');
            if ((account.role === 'device' || account.role === 'radio' || account.role === 'tech') && client.id !== username) return refuse(NOT_AUTHORIZED, `a device's client id must be its device id (${username})`);
            this.accounts.set(client, account);
            done(null, true);
          },
          (err: Error) => refuse(3, `store unavailable: ${err.message}`),
        );
      },
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null); // the broker's own messages (wills are checked when the device connects)
        const account = this.accounts.get(client);
        if (account?.role === 'gateway') return done(null);
        const allowed =
          (account?.role === 'device' && topics.deviceMayPublish(account.username, packet.topic)) ||
          (account?.role === 'radio' && packet.topic === topics.rtlamr(account.username)) ||
          (account?.role === 'tech' && packet.topic === topics.techUpdates(account.username));
        // aedes takes a client's next packet only after this answer: waiting here is back-pressure on that device.
        if (allowed) return void this.roomInBacklog().then(() => done(null));
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
      if (!client || packet.qos === 0 || !topics.parse(packet.topic) || this.accounts.get(client)?.role === 'gateway') return;
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
    const server = createServer(aedes.handle);
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

function backlogKey(packet: { topic: string; payload: string | Buffer }): string {
  return `${packet.topic}\n${createHash('sha1').update(packet.payload).digest('base64')}`;
}
