import { hostname } from 'node:os';
import type { GatewayContext } from '../context.js';
import { ConflictError, errorMessage } from '../../errors.js';
import {
  finishRun,
  getLease,
  releaseLease,
  renewLease,
  startRun,
  tryAcquireLease,
} from '../../infra/store/jobs-repo.js';
import type { JobDefinition } from './job.js';

/** Identifies this gateway process in leases and run history. */
export const INSTANCE_ID = `${hostname()}:${process.pid}`;

export interface RunOutcome {
  runId: number;
  status: 'ok' | 'failed';
  counts: Record<string, number>;
  error?: string;
}

/**
 * Runs a job under its lease: refuse if another gateway holds it, record the run, renew the
 * lease while the job works, and always release it. A job that throws is recorded as failed
 * (its error kept for the CSR/IT), not rethrown, so the scheduler keeps going.
 */
export async function runJob(
  ctx: GatewayContext,
  job: JobDefinition,
  opts: { trigger: 'schedule' | 'manual'; signal?: AbortSignal; holder?: string },
): Promise<RunOutcome> {
  const db = ctx.store.db;
  const holder = opts.holder ?? INSTANCE_ID;
  const ttlMs = ctx.config.jobs.leaseSeconds * 1000;
  if (!(await tryAcquireLease(db, job.name, holder, ctx.clock(), ttlMs))) {
    const lease = await getLease(db, job.name);
    throw new ConflictError(
      'JOB_RUNNING',
      `job ${job.name} is running on ${lease?.holder ?? 'another gateway'} (lease until ${lease?.expires_at ?? '?'})`,
      { record: job.name },
    );
  }
  const runId = await startRun(db, job.name, opts.trigger, holder, ctx.clock());
  const log = ctx.log.child({ job: job.name, run: runId });
  const abort = new AbortController();
  // Removed in `finally`: the scheduler's signal lives as long as the gateway, and a listener
  // left behind by every run (every 10 s for some jobs) would pile up for months.
  const stop = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', stop, { once: true });
  let heartbeat: NodeJS.Timeout | undefined;
  try {
    await renewLease(db, job.name, holder, ctx.clock(), ttlMs, runId);
    heartbeat = setInterval(
      () => {
        renewLease(db, job.name, holder, ctx.clock(), ttlMs).then(
          (held) => {
            if (!held) abort.abort(new Error('lease lost'));
          },
          (err) => log.warn('lease renewal failed', { error: errorMessage(err) }),
        );
      },
      Math.max(1000, ttlMs / 3),
    );
    heartbeat.unref();
    log.info('job started', { trigger: opts.trigger });
    const started = Date.now();
    const counts = await job.run({ ...ctx, log, runId, signal: abort.signal });
    await finishRun(db, runId, 'ok', ctx.clock(), counts);
    log.info('job finished', { ms: Date.now() - started, ...counts });
    return { runId, status: 'ok', counts };
  } catch (err) {
    const message = errorMessage(err);
    const counts = (err as { counts?: Record<string, number> }).counts ?? {};
    await finishRun(db, runId, 'failed', ctx.clock(), counts, message).catch((e) =>
      log.error('cannot record job failure', { error: errorMessage(e) }),
    );
    log.error('job failed', { error: message, ...counts });
    return { runId, status: 'failed', counts, error: message };
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    clearInterval(heartbeat);
    await releaseLease(db, job.name, holder).catch((e) => log.warn('cannot release lease', { error: errorMessage(e) }));
  }
}
