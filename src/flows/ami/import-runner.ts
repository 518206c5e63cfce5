/**
 * Runs one AMI import in a worker thread with a capped heap (ami.workerHeapMb). The import
 * streams, so what it holds at once is small (about 40 MB live for a 10-million-interval file),
 * but it allocates fast, and V8 lets a busy heap grow well past what is live before it collects.
 * A worker's own limit makes it collect sooner, so a gateway's memory stays flat whatever the
 * file size, and the API and the docks stay responsive while a large file is read.
 */

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Config } from '../../infra/config/schema.js';
import { AppError, errorMessage, isErrorCode } from '../../errors.js';
import type { Logger } from '../../infra/log/logger.js';
import type { AmiFormat, AmiImportResult } from './import-ami.js';

export interface RunOptions {
  format?: AmiFormat;
  actor?: string;
  /** Told when an import outgrew its worker's heap and is run again with more. */
  onHeapRetry?(fromMb: number, toMb: number): void;
  /** Ends the import (its worker) when aborted; what it committed stays, and a rerun resumes. */
  signal?: AbortSignal;
}

/** The warning the gateway and the CLI log when an import is run again with more heap. */
export function heapRetryWarning(log: Pick<Logger, 'warn'>, file: string): NonNullable<RunOptions['onHeapRetry']> {
  return (from, to) =>
    log.warn(`import of ${file} outgrew ${from} MB of heap; running it again with ${to} MB (set ami.workerHeapMb)`, {
      module: 'ami',
    });
}

/** How many AMI files to import at once: ami.parallelImports, and never more than the cores. */
export function importLanes(config: Config): number {
  return Math.max(1, Math.min(config.ami.parallelImports, availableParallelism()));
}

/** Past this, an import that still runs out of heap is reported, not retried. */
const MAX_HEAP_MB = 4096;

/**
 * Runs the import; if the worker runs out of heap (a file of very many meters: the day ledger
 * and the meter directory grow with meters, not with the file), it is run again with twice the
 * heap. That is safe: an import is idempotent and resumes where the last one committed.
 */
export async function runAmiImport(config: Config, file: string, opts: RunOptions = {}): Promise<AmiImportResult> {
  let heapMb = config.ami.workerHeapMb;
  for (;;) {
    try {
      return await runInWorker(config, file, opts, heapMb);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_WORKER_OUT_OF_MEMORY' || opts.signal?.aborted) throw err;
      if (heapMb * 2 > MAX_HEAP_MB) {
        throw new AppError(
          'AMI_IMPORT_MEMORY',
          `importing ${file} needs more than ${heapMb} MB of heap; raise ami.workerHeapMb or split the file`,
          { status: 500, field: 'ami.workerHeapMb' },
        );
      }
      opts.onHeapRetry?.(heapMb, heapMb * 2);
      heapMb *= 2;
    }
  }
}

function runInWorker(config: Config, file: string, opts: RunOptions, heapMb: number): Promise<AmiImportResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerFile(), {
      workerData: { config, file, format: opts.format, actor: opts.actor },
      // A 16 MB young generation measured both faster and smaller than the default for this work
      // (4 million intervals: 338k/s and 201 MB peak, against 316k/s and 227 MB).
      resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 16 },
    });
    let settled = false;
    let failure: unknown = null;
    const abort = () => {
      failure = new AppError(
        'AMI_IMPORT_STOPPED',
        `the import of ${file} was stopped (${errorMessage(opts.signal?.reason)}); it resumes where it committed`,
        { status: 503 },
      );
      void worker.terminate();
    };
    if (opts.signal?.aborted) abort();
    opts.signal?.addEventListener('abort', abort, { once: true });
    worker.once(
      'message',
      (
        m:
          | { ok: true; result: AmiImportResult }
          | { ok: false; error: { code: string; message: string; status: number } },
      ) => {
        settled = true;
        if (m.ok) resolve(m.result);
        else
          reject(
            new AppError(isErrorCode(m.error.code) ? m.error.code : 'AMI_IMPORT', m.error.message, {
              status: m.error.status,
            }),
          );
      },
    );
    // `on`, not `once`: a worker out of memory reports an error from inside, then another as it
    // exits; a second error with no listener would take the whole gateway down.
    worker.on('error', (err) => {
      if ((err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY' || !failure) failure = err;
    });
    worker.once('exit', (code) => {
      opts.signal?.removeEventListener('abort', abort);
      if (settled) return;
      reject(
        failure ??
          new AppError('AMI_IMPORT', `the import worker stopped (exit ${code}) before it finished ${file}`, {
            status: 500,
          }),
      );
    });
  });
}

/** The compiled worker beside this module; under the test runner (TypeScript sources), the one in dist/. */
function workerFile(): string {
  const here = fileURLToPath(new URL('./import-worker.js', import.meta.url));
  if (existsSync(here)) return here;
  const built = here.replace(/([\\/])src([\\/]flows[\\/]ami[\\/]import-worker\.js)$/, '$1dist$1src$2');
  if (existsSync(built)) return built;
  throw new AppError('AMI_IMPORT', `the AMI import worker is not built (${built}); run npm run build`, { status: 500 });
}
