import { randomBytes } from 'node:crypto';
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
}

const NOT_AUTHORIZED = 5;
const BAD_CREDENTIALS = 4;
const FALLBACK_PORTS = 20;

export class EmbeddedBroker {
  /** The gateway's own login, valid for this process only. */
  readonly gatewayLogin = { username: `fieldgate-gateway-${randomBytes(4).toString('hex')}`, password: randomBytes(24).toString('base64url') };
  private aedes: Aedes | null = null;
  private server: Server | null = null;
  private accounts = new WeakMap<Client, BrokerAccount>();
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
        if (account?.role === 'device' && topics.deviceMayPublish(account.username, packet.topic)) return done(null);
        if (account?.role === 'radio' && packet.topic === topics.rtlamr(account.username)) return done(null);
        if (account?.role === 'tech' && packet.topic === topics.techUpdates(account.username)) return done(null);
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

  async stop(): Promise<void> {
    const server = this.server;
    const aedes = this.aedes;
    this.server = null;
    this.aedes = null;
    if (aedes) await new Promise<void>((r) => aedes.close(() => r()));
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}
