/**
 * The worker side of runAmiImport: its own store and billing connections (the context, not the
 * gateway: nothing of the API, docks or broker is loaded here), one file, the result posted
 * back. See import-runner.ts for why imports run here.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { closeContext, openContext } from '../context.js';
import type { Config } from '../../infra/config/schema.js';
import { AppError, errorMessage } from '../../errors.js';
import { createLogger } from '../../infra/log/logger.js';
import { importAmiFile, type AmiFormat } from './import-ami.js';

interface Job {
  config: Config;
  file: string;
  format?: AmiFormat;
  actor?: string;
}

const job = workerData as Job;
const ctx = openContext(
  job.config,
  createLogger({ ...job.config.log, toStderr: true }).child({ worker: 'ami-import' }),
);
try {
  const result = await importAmiFile({ ...ctx, db: ctx.store.db }, job.file, { format: job.format, actor: job.actor });
  parentPort!.postMessage({ ok: true, result });
} catch (err) {
  parentPort!.postMessage({
    ok: false,
    error: {
      code: err instanceof AppError ? err.code : 'AMI_IMPORT',
      message: errorMessage(err),
      status: err instanceof AppError ? err.status : 500,
    },
  });
} finally {
  await closeContext(ctx);
}
