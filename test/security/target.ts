import { spawn, type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BIN, demoToken, runCli } from '../helpers/cli.js';

/**
 * The gateway under attack: `fieldgate start` as its own process in a directory of its own, as a
 * utility would run it, with a watcher that asks /healthz every 100 ms and reads the process's
 * RSS every 200 ms, so each attack class can report its peak latency and memory.
 */
export interface Peaks {
  healthMs: number;
  rssMb: number;
  healthFailures: number;
}

export class Target {
  child: ChildProcess | null = null;
  output = '';
  url = '';
  token = '';
  exited: number | string | null = null;
  private rssPeakMb = 0;
  /** Peak /healthz ms and failures since the last look, written by the watcher thread. */
  private readonly health = new Int32Array(new SharedArrayBuffer(8));
  private watcher: Worker | null = null;
  private rssTimer: NodeJS.Timeout | null = null;
  readonly configFile: string;

  constructor(
    readonly dir: string,
    readonly config: Record<string, unknown>,
  ) {
    mkdirSync(dir, { recursive: true });
    this.configFile = path.join(dir, 'fieldgate.json');
    writeFileSync(this.configFile, JSON.stringify(config));
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return runCli(['--config', this.configFile, ...args], { cwd: this.dir, env: { LOG_LEVEL: 'warn' } });
  }

  async start(): Promise<void> {
    const env = { ...process.env, DATABASE_URL: undefined, BILLING_DATABASE_URL: undefined, MQTT_URL: undefined };
    const child = spawn(process.execPath, [BIN, 'start', '--config', this.configFile], {
      cwd: this.dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout.on('data', (d) => (this.output += d));
    child.stderr.on('data', (d) => (this.output += d));
    child.once('exit', (code, signal) => (this.exited = signal ?? code));
    const deadline = Date.now() + 120_000;
    while (!/fieldgate is running at (\S+)/.test(this.output)) {
      if (this.exited !== null)
        throw new Error(`the gateway exited (${this.exited}) while starting:\n${this.output.slice(-3000)}`);
      if (Date.now() > deadline)
        throw new Error(`the gateway did not start within 120 s:\n${this.output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    this.url = /fieldgate is running at (\S+)/.exec(this.output)![1]!;
    this.token = demoToken(this.dataDir) ?? '';
    this.watcher = healthWatcher(this.url, this.health);
    this.rssTimer = setInterval(() => this.sampleRss(), 200);
  }

  rssMb(): number {
    try {
      return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.child!.pid}/status`, 'utf8'))![1]) / 1024;
    } catch {
      return 0;
    }
  }

  private sampleRss(): void {
    this.rssPeakMb = Math.max(this.rssPeakMb, this.rssMb());
  }

  /** The peaks since the last call, and a fresh start for the next class. */
  takePeaks(): Peaks {
    const p = {
      healthMs: Atomics.exchange(this.health, 0, 0),
      rssMb: this.rssPeakMb,
      healthFailures: Atomics.exchange(this.health, 1, 0),
    };
    this.rssPeakMb = this.rssMb();
    return p;
  }

  get alive(): boolean {
    return this.exited === null;
  }

  /** The gateway's own store, read beside it (SQLite in WAL takes a reader while it writes). */
  query<T>(sql: string, ...params: unknown[]): T[] {
    const db = new Database(path.join(this.dir, 'store.sqlite'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }

  api(method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const isRaw = Buffer.isBuffer(body);
    return fetch(`${this.url}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': isRaw ? 'text/plain' : 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : isRaw ? body : JSON.stringify(body),
    });
  }

  /** SIGTERM, and how long the gateway took to stop. */
  async stop(): Promise<number> {
    await this.watcher?.terminate();
    if (this.rssTimer) clearInterval(this.rssTimer);
    const child = this.child;
    if (!child || this.exited !== null) return 0;
    const started = Date.now();
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const late = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(late);
    return Date.now() - started;
  }
}

/**
 * Asks /healthz every 100 ms from a thread of its own: the probes' own work in this thread (building and
 * sending a 50 MB body, reading the store) must not count as the gateway's latency.
 */
function healthWatcher(url: string, peaks: Int32Array): Worker {
  const code = `
    const { workerData } = require('node:worker_threads');
    const { url, peaks } = workerData;
    const probe = async () => {
      const started = performance.now();
      try {
        const res = await fetch(url + '/healthz', { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        if (res.status !== 200) Atomics.add(peaks, 1, 1);
      } catch {
        Atomics.add(peaks, 1, 1);
      }
      const ms = Math.ceil(performance.now() - started);
      for (let cur = Atomics.load(peaks, 0); ms > cur; cur = Atomics.load(peaks, 0))
        if (Atomics.compareExchange(peaks, 0, cur, ms) === cur) break;
    };
    setInterval(() => void probe(), 100);
  `;
  const worker = new Worker(code, { eval: true, workerData: { url, peaks } });
  worker.unref();
  return worker;
}
