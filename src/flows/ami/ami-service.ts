import path from 'node:path';
import { DropFolder, type DropOutcome } from '../../../adapters/ami-files/drop-folder.js';
import type { GatewayContext } from '../context.js';
import { AppError, errorMessage } from '../../errors.js';
import { recordException } from '../../infra/store/exceptions-repo.js';
import { OFF, type Component } from '../lifecycle.js';
import type { AdapterHealth } from '../../../adapters/adapter.js';
import { importOutcome } from './describe.js';
import { heapRetryWarning, importLanes, runAmiImport } from './import-runner.js';

/**
 * AMI files arriving in the drop folder (config ami.dropDir under dataDir), imported like
 * `fieldgate ami import`. A file that was refused, cut short or not an AMI format goes to
 * failed/ with the reason; one with bad records among good ones is done (its exceptions are
 * in the queue). A store or billing outage leaves the file where it is for the next poll.
 */
export class AmiService implements Component {
  readonly name = 'ami';
  private folder: DropFolder | null = null;

  constructor(private readonly ctx: GatewayContext) {}

  get dropDir(): string {
    return path.resolve(this.ctx.config.dataDir, this.ctx.config.ami.dropDir);
  }

  async start(): Promise<void> {
    if (!this.ctx.config.ami.watch) return;
    const { dropPollMs, stopTimeoutMs } = this.ctx.config.ami;
    this.folder = new DropFolder(
      this.dropDir,
      (file, signal) => this.importDropped(file, signal),
      dropPollMs,
      stopTimeoutMs,
      importLanes(this.ctx.config),
    );
    this.folder.on('file', (name, outcome) =>
      this.ctx.log[outcome.ok ? 'info' : 'warn'](`AMI drop file ${outcome.ok ? 'done' : 'failed'}`, {
        module: 'ami',
        file: name,
        detail: outcome.reason,
      }),
    );
    this.folder.on('error', (err) =>
      this.ctx.log.warn('AMI drop file left to retry', { module: 'ami', error: err.message }),
    );
    this.folder.on('stuck', (name, outcome, err) => void this.reportStuck(name, outcome, err));
    await this.folder.start();
  }

  async stop(): Promise<void> {
    await this.folder?.stop();
  }

  /** The drop folder's health; stopped and 'off' when ami.watch is false. */
  health(): AdapterHealth {
    return this.folder?.health() ?? { state: 'stopped', detail: OFF, since: this.created };
  }

  private readonly created = new Date().toISOString();

  /** Files the drop folder could not move out after dealing with them (for /metrics). */
  get stuckFiles(): number {
    return this.folder?.stuckFiles ?? 0;
  }

  /** A file dealt with but left in the inbox: the CSR sees it in the queue, IT in the log and /metrics. */
  private async reportStuck(name: string, outcome: DropOutcome, err: Error): Promise<void> {
    const what = outcome.ok ? 'was imported' : `was refused (${outcome.reason})`;
    const message =
      `AMI drop file '${name}' ${what} but cannot be moved out of ${this.ctx.config.ami.dropDir}: ` +
      `${err.message}. It is left there and not taken again; move or rename it by hand.`;
    this.ctx.log.error(message, { module: 'ami', file: name });
    try {
      await recordException(
        this.ctx.store.db,
        { source: 'ami-drop', kind: 'FILE_NOT_MOVED', severity: 'error', field: 'file name', value: name, message },
        this.ctx.clock().toISOString(),
      );
    } catch (e) {
      this.ctx.log.warn(`could not record the exception for ${name}: ${errorMessage(e)}`, { module: 'ami' });
    }
  }

  /** Scans the drop folder now (tests, and an operator who does not want to wait for the poll). */
  scan(): Promise<void> {
    return this.folder?.scan() ?? Promise.resolve();
  }

  private async importDropped(file: string, signal: AbortSignal): Promise<DropOutcome> {
    try {
      const r = await runAmiImport(this.ctx.config, file, {
        actor: 'drop-folder',
        signal,
        onHeapRetry: heapRetryWarning(this.ctx.log, file),
      });
      return importOutcome(r);
    } catch (err) {
      if (err instanceof AppError && err.code === 'AMI_FORMAT') return { ok: false, reason: err.message };
      throw err;
    }
  }
}
