import path from 'node:path';
import { DropFolder, type DropOutcome } from '../../adapters/ami-files/drop-folder.js';
import type { GatewayContext } from '../app/context.js';
import { AppError } from '../errors.js';
import { describeImport } from './describe.js';
import { heapRetryWarning, runAmiImport } from './import-runner.js';

/**
 * AMI files arriving in the drop folder (config ami.dropDir under dataDir), imported like
 * `fieldgate ami import`. A file that was refused, cut short or not an AMI format goes to
 * failed/ with the reason; one with bad records among good ones is done (its exceptions are
 * in the queue). A store or billing outage leaves the file where it is for the next poll.
 */
export class AmiService {
  private folder: DropFolder | null = null;

  constructor(private readonly ctx: GatewayContext) {}

  get dropDir(): string {
    return path.resolve(this.ctx.config.dataDir, this.ctx.config.ami.dropDir);
  }

  async start(): Promise<void> {
    if (!this.ctx.config.ami.watch) return;
    this.folder = new DropFolder(this.dropDir, (file) => this.importDropped(file), this.ctx.config.ami.dropPollMs);
    this.folder.on('file', (name, outcome) => this.ctx.log[outcome.ok ? 'info' : 'warn'](`AMI drop file ${outcome.ok ? 'done' : 'failed'}`, { module: 'ami', file: name, detail: outcome.reason }));
    this.folder.on('error', (err) => this.ctx.log.warn('AMI drop file left to retry', { module: 'ami', error: err.message }));
    await this.folder.start();
  }

  async stop(): Promise<void> {
    await this.folder?.stop();
  }

  /** 'ok' while the drop folder is watched as it should be; otherwise what is wrong. */
  health(): string {
    if (!this.folder) return 'off';
    const h = this.folder.health();
    return h.state === 'running' ? 'ok' : `${h.state}: ${h.detail}`;
  }

  /** Scans the drop folder now (tests, and an operator who does not want to wait for the poll). */
  scan(): Promise<void> {
    return this.folder?.scan() ?? Promise.resolve();
  }

  private async importDropped(file: string): Promise<DropOutcome> {
    try {
      const r = await runAmiImport(this.ctx.config, file, { actor: 'drop-folder', onHeapRetry: heapRetryWarning(this.ctx.log, file) });
      const refused = r.exceptionsByKind.REFUSED ?? 0;
      const truncated = r.exceptionsByKind.TRUNCATED ?? 0;
      const summary = describeImport(r);
      if (refused) return { ok: false, reason: `refused: ${summary}` };
      if (truncated) return { ok: false, reason: `truncated (the intervals before the cut are stored; send the whole file again): ${summary}` };
      return { ok: true, reason: summary };
    } catch (err) {
      if (err instanceof AppError && err.code === 'AMI_FORMAT') return { ok: false, reason: err.message };
      throw err;
    }
  }
}
