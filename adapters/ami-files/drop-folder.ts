import { EventEmitter } from 'node:events';
import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Adapter, AdapterHealth, AdapterState } from '../adapter.js';

/**
 * A drop folder for AMI files (a head-end's SFTP target, a share). A file is taken once its
 * size has stood still for one poll (still being written otherwise), handed to `handle`, and
 * moved to done/ or to failed/ with `<name>.reason.txt` beside it. When `handle` throws (the
 * store is down) the file stays where it is and is tried again at the next poll: nothing is
 * moved that was not dealt with. Polling, not fs.watch: watches miss events on network shares.
 */
export interface DropOutcome {
  ok: boolean;
  /** Why it failed, or a summary for the log when it did not. */
  reason: string;
}

interface Events {
  file: [name: string, outcome: DropOutcome];
  error: [err: Error];
}

export class DropFolder extends EventEmitter<Events> implements Adapter<Events> {
  readonly name = 'ami-drop-folder';
  private state: AdapterState = 'stopped';
  private detail = 'not started';
  private since = new Date().toISOString();
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  private readonly sizes = new Map<string, number>();

  constructor(
    private readonly dir: string,
    private readonly handle: (file: string) => Promise<DropOutcome>,
    private readonly pollMs = 5000,
  ) {
    super();
  }

  async start(): Promise<void> {
    for (const sub of ['', 'done', 'failed']) await mkdir(path.join(this.dir, sub), { recursive: true });
    this.set('running', `watching ${this.dir}`);
    this.timer = setInterval(() => void this.scan(), this.pollMs);
    void this.scan();
  }

  async stop(): Promise<void> {
    this.set('stopping', 'stopping');
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.scanning;
    this.set('stopped', 'stopped');
  }

  health(): AdapterHealth {
    return { state: this.state, detail: this.detail, since: this.since };
  }

  /** One pass over the folder; concurrent calls share the pass in progress. */
  scan(): Promise<void> {
    this.scanning ??= this.scanOnce().finally(() => (this.scanning = null));
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(this.dir, { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
    } catch (err) {
      this.set('degraded', `cannot read ${this.dir}: ${(err as Error).message}`);
      return;
    }
    for (const name of names) {
      if (this.state !== 'running' && this.state !== 'degraded') return;
      const file = path.join(this.dir, name);
      const size = (await stat(file).catch(() => null))?.size;
      if (size === undefined) continue;
      // Taken once the size stood still since the last look: a file being copied in keeps growing.
      if (this.sizes.get(name) !== size) {
        this.sizes.set(name, size);
        continue;
      }
      this.sizes.delete(name);
      let outcome: DropOutcome;
      try {
        outcome = await this.handle(file);
      } catch (err) {
        this.set('degraded', `${name} left in place, to try again: ${(err as Error).message}`);
        this.emit('error', err as Error);
        continue;
      }
      await this.move(name, outcome);
      this.set('running', `watching ${this.dir}; last: ${name} ${outcome.ok ? 'done' : 'failed'}`);
      this.emit('file', name, outcome);
    }
  }

  private async move(name: string, outcome: DropOutcome): Promise<void> {
    const to = path.join(this.dir, outcome.ok ? 'done' : 'failed');
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const target = `${stamp}-${name}`;
    await rename(path.join(this.dir, name), path.join(to, target));
    if (!outcome.ok) await writeFile(path.join(to, `${target}.reason.txt`), `${outcome.reason}\n`);
  }

  private set(state: AdapterState, detail: string): void {
    if (state !== this.state) this.since = new Date().toISOString();
    this.state = state;
    this.detail = detail;
  }
}
