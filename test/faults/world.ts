import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  rmSync,
  writeFileSync,
  writeSync,
  readdirSync,
  readFileSync,
  appendFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knex from 'knex';
import pg from 'pg';
import { seedReferenceBilling } from '../../src/infra/billing/reference/seed.js';
import { migrateStore, openStore } from '../../src/infra/store/store.js';
import { createToken } from '../../src/infra/store/tokens-repo.js';
import { BIN } from '../helpers/cli.js';
import { freePort } from '../helpers/dock.js';
import type { OwnMosquitto } from '../helpers/mosquitto.js';
import { ptyPair, type PtyPair } from '../helpers/pty.js';
import type { TcpProxy } from '../helpers/tcp-proxy.js';
import type { FaultStep, RunPlan } from './plan.js';

/**
 * One fault run's world, every part its own process: `fieldgate start` (under libfaketime, so
 * its clock can jump), a simulated hand-held on a socat PTY pair, a simulated field device on
 * the lane's Mosquitto, billing (and, for half the runs, the store) on PostgreSQL behind the
 * lane's TCP proxy, and the gateway's data directory (drop folder, dock spools) on a small
 * tmpfs that a fault can fill.
 */
export const PG_ADMIN = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
export const ROUTES = { handheld: 'R01', field: 'R02', ami: 'R03', app: 'R04' } as const;

export interface Lane {
  mosquitto: OwnMosquitto;
  proxy: TcpProxy;
}

export class World {
  readonly dir: string;
  readonly dataDir: string;
  readonly configFile: string;
  readonly journal: string;
  readonly fieldDir: string;
  readonly handheldDir: string;
  readonly prefix: string;
  readonly clockFile: string;
  readonly log: string[] = [];
  gateway: ChildProcess | null = null;
  handheld: ChildProcess | null = null;
  field: ChildProcess | null = null;
  pty!: PtyPair;
  port = 0;
  token = '';
  private gatewayOut = '';
  private readonly billingDb: string;
  private readonly storeDb: string;
  private mounted = false;
  private stopping = false;

  constructor(
    readonly plan: RunPlan,
    readonly lane: Lane,
  ) {
    this.dir = mkdtempSync(path.join(tmpdir(), `fg-fault-${plan.seed}-`));
    this.dataDir = path.join(this.dir, 'data');
    this.configFile = path.join(this.dir, 'fieldgate.json');
    this.journal = path.join(this.dir, 'journal.tsv');
    this.fieldDir = path.join(this.dir, 'field-device');
    this.handheldDir = path.join(this.dir, 'handheld');
    this.clockFile = path.join(this.dir, 'faketime');
    this.prefix = `fgf${plan.seed}`;
    this.billingDb = `fgf_${plan.seed}_billing`;
    this.storeDb = `fgf_${plan.seed}_store`;
  }

  note(message: string): void {
    this.log.push(`${new Date().toISOString().slice(11, 23)} ${message}`);
  }

  pgUrl(db: string, through: 'proxy' | 'direct'): string {
    const u = new URL(PG_ADMIN);
    if (through === 'proxy') {
      u.hostname = '127.0.0.1';
      u.port = String(this.lane.proxy.port);
    }
    u.pathname = `/${db}`;
    return u.toString();
  }

  get storeUrl(): string {
    return this.plan.store === 'postgres'
      ? this.pgUrl(this.storeDb, 'direct')
      : `sqlite:${path.join(this.dir, 'store.sqlite')}`;
  }

  /** File mode's exchange folder. */
  get exchangeDir(): string {
    return path.join(this.dataDir, 'cis-exchange');
  }

  get billingUrl(): string {
    return this.pgUrl(this.billingDb, 'direct');
  }

  async setUp(): Promise<void> {
    mkdirSync(this.dataDir);
    // 8 MB: room for the run's files, little enough that a filler fills it in a moment.
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', this.dataDir], { encoding: 'utf8' });
    if (mount.status !== 0)
      throw new Error(`cannot mount a tmpfs for the full-disk fault (run as root): ${mount.stderr.trim()}`);
    this.mounted = true;
    await this.recreateDatabases();
    this.pty = await ptyPair();
    this.port = await freePort();
    writeFileSync(this.clockFile, '+0\n');
    const disabled = { cron: '0 0 1 1 *', enabled: false };
    writeFileSync(
      this.configFile,
      JSON.stringify({
        dataDir: this.dataDir,
        store: { url: this.plan.store === 'postgres' ? this.pgUrl(this.storeDb, 'proxy') : this.storeUrl },
        // In file mode the seeded billing database is the mirror, as if its routes had been pulled from files.
        billing: { mode: this.plan.billing, url: this.pgUrl(this.billingDb, 'proxy'), postBatchSize: 20 },
        server: { port: this.port },
        auth: { createDemoToken: false, createDemoUsers: false },
        log: { level: 'info', format: 'json' },
        // Billing here is PostgreSQL, not the demo: the hand-held is welcomed because the config says so.
        dock: { ports: [{ path: this.pty.a }], approveAllDevices: true },
        mqtt: { url: this.lane.mosquitto.url, prefix: this.prefix, outboxPollMs: 100 },
        ami: { dropPollMs: 200 },
        jobs: {
          leaseSeconds: 6,
          schedules: {
            // Every 10 s, not every second: after a 48-hour forward step node-cron walks every skipped
            // slot synchronously (a 1-second schedule froze the gateway for over a minute). The settle
            // phase runs the jobs now through the API instead.
            'post-readings': { cron: '*/10 * * * * *', enabled: true },
            'post-field-work': { cron: '*/10 * * * * *', enabled: true },
            'pull-service-orders': disabled,
            'past-due': disabled,
            'pull-headend': disabled,
          },
        },
      }),
    );
  }

  private async recreateDatabases(): Promise<void> {
    const client = new pg.Client({ connectionString: PG_ADMIN });
    await client.connect();
    try {
      for (const db of [this.billingDb, this.storeDb]) {
        await client.query(`drop database if exists ${db} with (force)`);
        if (db === this.billingDb || this.plan.store === 'postgres') await client.query(`create database ${db}`);
      }
    } finally {
      await client.end();
    }
    // The reference CIS: 4 routes of 30 accounts (the hand-held's, the field device's, AMI's and the field app's).
    const billing = knex({ client: 'pg', connection: this.billingUrl, pool: { min: 0, max: 1 } });
    try {
      await seedReferenceBilling(billing, { accounts: 120, routes: 4, seed: 42, today: '2026-11-20' });
    } finally {
      await billing.destroy();
    }
    // The office's API token, made as an admin would (fieldgate token create), before the first start.
    const store = openStore(this.storeUrl);
    try {
      await migrateStore(store.db);
      this.token = await createToken(store.db, 'fault-suite', 'admin', new Date());
    } finally {
      await store.close();
    }
  }

  /** Starts the gateway and resolves once it says it is running (its clock offset as the file says). */
  async startGateway(): Promise<void> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: undefined,
      BILLING_DATABASE_URL: undefined,
      MQTT_URL: undefined,
      LD_PRELOAD: FAKETIME_LIB,
      FAKETIME_TIMESTAMP_FILE: this.clockFile,
      FAKETIME_CACHE_DURATION: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    };
    const child = spawn(process.execPath, [BIN, 'start', '--config', this.configFile], {
      cwd: this.dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.gateway = child;
    let out = '';
    const collect = (d: Buffer) => {
      out += d.toString();
      this.gatewayOut += d.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', (code, signal) => {
      this.note(`gateway exited (${signal ?? code})`);
      if (!this.stopping && signal !== 'SIGKILL') this.note(`UNEXPECTED gateway exit: ${out.slice(-3000)}`);
    });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`gateway did not start within 60 s:\n${out.slice(-2000)}`)), 60_000);
      const check = () => {
        if (out.includes('fieldgate is running')) {
          clearTimeout(t);
          child.stdout.off('data', check);
          resolve();
        }
      };
      child.stdout.on('data', check);
      child.once('exit', () => {
        clearTimeout(t);
        reject(new Error(`gateway exited before it was running:\n${out.slice(-2000)}`));
      });
    });
    this.note('gateway running');
  }

  gatewayLog(): string {
    return this.gatewayOut;
  }

  startSimulators(): void {
    const common = ['--config', this.configFile, '--journal', this.journal, '--seed', String(this.plan.seed % 100_000)];
    const hh = [
      'sim',
      'handheld',
      '--port',
      this.pty.b,
      '--device',
      'HH-0001',
      '--dir',
      this.handheldDir,
      '--read-after-load',
      '1',
      ...common,
    ];
    if (this.plan.corruptBytes > 0) hh.push('--corrupt-bytes', String(this.plan.corruptBytes));
    this.handheld = this.spawnSim(hh, 'handheld');
    this.field = this.spawnSim(
      [
        'sim',
        'field-device',
        '--mqtt',
        this.lane.mosquitto.url,
        '--device',
        'T-0001',
        '--dir',
        this.fieldDir,
        '--read-after',
        '1',
        '--batch-size',
        '10',
        '--resend',
        '2',
        ...common,
      ],
      'field device',
    );
  }

  /** The last `lines` lines a simulator printed (its log file in the run's directory). */
  simLog(label: string, lines: number): string {
    const file = path.join(this.dir, `${label}.log`);
    return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log)';
  }

  private spawnSim(args: string[], label: string): ChildProcess {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: undefined,
      BILLING_DATABASE_URL: undefined,
      MQTT_URL: undefined,
    };
    const child = spawn(process.execPath, [BIN, ...args], { cwd: this.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const logFile = path.join(this.dir, `${label.replace(' ', '-')}.log`);
    child.stdout.on('data', (d) => appendFileSync(logFile, d));
    child.stderr.on('data', (d) => appendFileSync(logFile, d));
    child.once(
      'exit',
      (code, signal) => !this.stopping && this.note(`UNEXPECTED ${label} exit (${signal ?? code}); see ${logFile}`),
    );
    return child;
  }

  /** Applies one fault and undoes it after its time; resolves when the world is whole again. */
  async inject(f: FaultStep): Promise<void> {
    this.note(`fault ${f.kind}${f.offset ? ` ${f.offset}` : ` ${f.ms} ms`}`);
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    switch (f.kind) {
      case 'kill-gateway': {
        const g = this.gateway;
        if (!g || g.exitCode !== null || g.signalCode !== null) return;
        const gone = new Promise((r) => g.once('exit', r));
        g.kill('SIGKILL');
        await gone;
        await pause(f.ms);
        await this.startGateway();
        return;
      }
      case 'broker-restart':
        return this.lane.mosquitto.restart(f.ms);
      case 'postgres-down':
        return this.lane.proxy.cut(f.ms);
      case 'pty-pull': {
        await this.pty.pull();
        await pause(f.ms);
        this.pty = await ptyPair({ a: this.pty.a, b: this.pty.b });
        return;
      }
      case 'disk-full': {
        const filler = path.join(this.dataDir, 'filler.bin');
        const fd = openSync(filler, 'w');
        const block = Buffer.alloc(64 * 1024, 0x41);
        try {
          for (;;) writeSync(fd, block);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        } finally {
          closeSync(fd);
        }
        await pause(f.ms);
        rmSync(filler, { force: true });
        return;
      }
      case 'clock-jump':
        writeFileSync(this.clockFile, `${f.offset}\n`);
        return;
    }
  }

  /** The AMI drop folder's inbox (inside the tmpfs). */
  get inbox(): string {
    return path.join(this.dataDir, 'ami', 'inbox');
  }

  inboxPending(): string[] {
    if (!existsSync(this.inbox)) return [];
    return readdirSync(this.inbox, { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name);
  }

  journalLines(): number {
    return existsSync(this.journal) ? readFileSync(this.journal, 'latin1').split('\n').filter(Boolean).length : 0;
  }

  /** Batches the gateway refused, set aside on the device for a person: never billed unless someone acts. */
  fieldRefused(): string[] {
    const q = path.join(this.fieldDir, 'queue');
    return existsSync(q) ? readdirSync(q).filter((f) => f.endsWith('.refused')) : [];
  }

  fieldQueue(): string[] {
    const q = path.join(this.fieldDir, 'queue');
    return existsSync(q) ? readdirSync(q).filter((f) => f.endsWith('.json')) : [];
  }

  async tearDown(keep: boolean): Promise<void> {
    this.stopping = true;
    for (const child of [this.handheld, this.field, this.gateway]) {
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const late = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(late);
    }
    await this.pty?.pull();
    if (this.mounted) spawnSync('umount', ['-l', this.dataDir]);
    if (!keep) {
      const client = new pg.Client({ connectionString: PG_ADMIN });
      await client.connect();
      try {
        for (const db of [this.billingDb, this.storeDb])
          await client.query(`drop database if exists ${db} with (force)`);
      } finally {
        await client.end();
      }
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
