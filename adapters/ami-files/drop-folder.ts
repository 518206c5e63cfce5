/**
 * A drop folder for AMI files (a head-end's SFTP target, a share). A file is taken once its
 * size has stood still for one poll (still being written otherwise), handed to `handle`, and
 * moved to done/ or to failed/ with `<name>.reason.txt` beside it. When `handle` throws (the
 * store is down) the file stays where it is and is tried again at the next poll: nothing is
 * moved that was not dealt with. Polling, not fs.watch: watches miss events on network shares.
 * Nothing about one file may end the process: a name too long for the timestamp is moved under a
 * shortened one, and a file that cannot be moved at all is reported once ('stuck') and left alone.
 * Stopping ends an import in progress after `stopTimeoutMs` (imports resume where they committed).
 */

import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HealthTracker, type Adapter, type AdapterHealth, type AdapterState } from '../adapter.js';
import { inTurn } from '../../src/core/in-turn.js';

export interface DropOutcome {
  ok: boolean;
  /** Why it failed, or a summary for the log when it did not. */
  reason: string;
}

interface Events {
  file: [name: string, outcome: DropOutcome];
  error: [err: Error];
  /** A file dealt with that could not be moved out of the folder: left there, and not taken again. */
  stuck: [name: string, outcome: DropOutcome, err: Error];
}

/** Longest file name most file systems take (bytes). */
const NAME_MAX = 255;
const REASON_SUFFIX = '.reason.txt';

export class DropFolder extends EventEmitter<Events> implements Adapter<Events> {
  readonly name = 'ami-drop-folder';
  private readonly status = new HealthTracker();
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  private readonly sizes = new Map<string, number>();
  /** Files dealt with that could not be moved, by name and size: not taken again while they stay. */
  private readonly stuck = new Map<string, number>();
  private abort = new AbortController();

  constructor(
    private readonly dir: string,
    private readonly handle: (file: string, signal: AbortSignal) => Promise<DropOutcome>,
    private readonly pollMs = 5000,
    private readonly stopTimeoutMs = 5000,
    /** Files imported at once. */
    private readonly parallel = 1,
  ) {
    super();
  }

  /** Files left in the folder because they could not be moved. */
  get stuckFiles(): number {
    return this.stuck.size;
  }

  async start(): Promise<void> {
    for (const sub of ['', 'done', 'failed']) await mkdir(path.join(this.dir, sub), { recursive: true });
    this.abort = new AbortController();
    this.set('running', `watching ${this.dir}`);
    this.timer = setInterval(() => void this.scan(), this.pollMs);
    void this.scan();
  }

  /** Stops polling; an import still running after stopTimeoutMs is ended (the file stays, to resume). */
  async stop(): Promise<void> {
    this.set('stopping', 'stopping');
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const pass = this.scanning;
    if (pass) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.stopTimeoutMs)));
      await Promise.race([pass, late]);
      clearTimeout(timer);
      this.abort.abort(new Error('the gateway is stopping'));
      await pass;
    }
    this.set('stopped', 'stopped');
  }

  health(): AdapterHealth {
    return this.status.get();
  }

  /** One pass over the folder; concurrent calls share the pass in progress. */
  scan(): Promise<void> {
    // A pass never rejects: whatever went wrong with one file is reported, and the next poll goes on.
    this.scanning ??= this.scanOnce()
      .catch((err: unknown) => {
        this.set('degraded', `scan failed: ${(err as Error).message}`);
        this.emit('error', err as Error);
      })
      .finally(() => (this.scanning = null));
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(this.dir, { withFileTypes: true }))
        .filter((e) => e.isFile() && !e.name.startsWith('.'))
        .map((e) => e.name)
        .sort();
    } catch (err) {
      this.set('degraded', `cannot read ${this.dir}: ${(err as Error).message}`);
      return;
    }
    const ready: { name: string; size: number }[] = [];
    for (const name of names) {
      const size = (await stat(path.join(this.dir, name)).catch(() => null))?.size;
      if (size === undefined) continue;
      if (this.stuck.get(name) === size) continue;
      this.stuck.delete(name);
      // Taken once the size stood still since the last look: a file being copied in keeps growing.
      if (this.sizes.get(name) !== size) {
        this.sizes.set(name, size);
        continue;
      }
      this.sizes.delete(name);
      ready.push({ name, size });
    }
    // A head-end's night comes as files split by meter range: several are imported at once, each
    // in its own worker, so one file's parsing overlaps another's writes.
    await inTurn(ready, this.parallel, (f) => this.take(f.name, f.size));
  }

  /** Imports one file and moves it to done/ or failed/. */
  private async take(name: string, size: number): Promise<void> {
    const { state } = this.status.get();
    if (state !== 'running' && state !== 'degraded') return;
    const file = path.join(this.dir, name);
    let outcome: DropOutcome;
    try {
      outcome = await this.handle(file, this.abort.signal);
    } catch (err) {
      if (this.timer === null) return; // stopped meanwhile: the file stays for the next start
      this.set('degraded', `${name} left in place, to try again: ${(err as Error).message}`);
      this.emit('error', err as Error);
      return;
    }
    try {
      await this.move(name, outcome);
    } catch (err) {
      this.stuck.set(name, size);
      this.set(
        'degraded',
        `${name} was ${outcome.ok ? 'imported' : 'refused'} but cannot be moved: ${(err as Error).message}`,
      );
      this.emit('stuck', name, outcome, err as Error);
      return;
    }
    this.set('running', `watching ${this.dir}; last: ${name} ${outcome.ok ? 'done' : 'failed'}`);
    this.emit('file', name, outcome);
  }

  private async move(name: string, outcome: DropOutcome): Promise<void> {
    const to = path.join(this.dir, outcome.ok ? 'done' : 'failed');
    const target = movedName(name, new Date());
    await rename(path.join(this.dir, name), path.join(to, target));
    if (!outcome.ok) await writeFile(path.join(to, `${target}${REASON_SUFFIX}`), `${outcome.reason}\n`);
  }

  private set(state: AdapterState, detail: string): void {
    this.status.set(state, detail);
  }
}

/**
 * `<timestamp>-<name>`, shortened when that (with `.reason.txt`) would pass the file system's
 * 255-byte limit: the name's start, a hash of the whole name, and its extension.
 */
export function movedName(name: string, at: Date): string {
  const stamp = at.toISOString().replace(/[:.]/g, '-');
  const full = `${stamp}-${name}`;
  if (Buffer.byteLength(full) + REASON_SUFFIX.length <= NAME_MAX) return full;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12);
  const ext = /\.[A-Za-z0-9]{1,10}$/.exec(name)?.[0] ?? '';
  const room = NAME_MAX - REASON_SUFFIX.length - Buffer.byteLength(`${stamp}-~${hash}${ext}`);
  let head = name.slice(0, name.length - ext.length);
  while (Buffer.byteLength(head) > room) head = head.slice(0, -1);
  return `${stamp}-${head}~${hash}${ext}`;
}
