import cron, { type ScheduledTask } from 'node-cron';
import type { GatewayContext } from '../app/context.js';
import { ConflictError, errorMessage } from '../errors.js';
import type { JobDefinition } from './job.js';
import { runJob, type RunOutcome } from './runner.js';

export interface ScheduleInfo {
  name: string;
  description: string;
  cron: string | null;
  enabled: boolean;
  nextRun: string | null;
}

/** Describes every known job with its schedule and next run, without starting anything. */
export function describeSchedules(ctx: Pick<GatewayContext, 'config'>, jobs: readonly JobDefinition[]): ScheduleInfo[] {
  return jobs.map((job) => {
    const schedule = ctx.config.jobs.schedules[job.name];
    let nextRun: string | null = null;
    if (schedule?.enabled) {
      const task = cron.createTask(schedule.cron, () => undefined, { timezone: ctx.config.timeZone });
      nextRun = task.getNextRuns(1)[0]?.toISOString() ?? null;
      void task.destroy();
    }
    return { name: job.name, description: job.description, cron: schedule?.cron ?? null, enabled: schedule?.enabled ?? false, nextRun };
  });
}

/**
 * Starts node-cron tasks for the enabled jobs (cron in the utility's time zone). Leases, not
 * this process, decide who runs: several gateways may schedule the same job safely.
 */
export class Scheduler {
  private tasks: ScheduledTask[] = [];
  private inFlight = new Set<Promise<RunOutcome | void>>();
  private readonly abort = new AbortController();

  constructor(
    private readonly ctx: GatewayContext,
    private readonly jobs: readonly JobDefinition[],
  ) {}

  start(): void {
    for (const job of this.jobs) {
      const schedule = this.ctx.config.jobs.schedules[job.name];
      if (!schedule?.enabled) continue;
      const task = cron.schedule(schedule.cron, () => void this.trigger(job, 'schedule'), { timezone: this.ctx.config.timeZone, name: job.name, noOverlap: true });
      this.tasks.push(task);
      this.ctx.log.info('job scheduled', { module: 'scheduler', job: job.name, cron: schedule.cron, next: task.getNextRun()?.toISOString() });
    }
  }

  /** Runs a job now in this process; used by the scheduler and the API's "run now". */
  trigger(job: JobDefinition, trigger: 'schedule' | 'manual'): Promise<RunOutcome | void> {
    const run = runJob(this.ctx, job, { trigger, signal: this.abort.signal }).catch((err) => {
      if (err instanceof ConflictError) this.ctx.log.info('job skipped: held by another gateway', { module: 'scheduler', job: job.name, reason: err.message });
      else this.ctx.log.error('job could not start', { module: 'scheduler', job: job.name, error: errorMessage(err) });
      if (trigger === 'manual') throw err;
    });
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run)).catch(() => undefined);
    return run;
  }

  /** Stops scheduling, asks running jobs to stop at a safe point, and waits up to `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    for (const task of this.tasks) await task.destroy();
    this.tasks = [];
    if (this.inFlight.size === 0) return;
    this.abort.abort(new Error('gateway shutting down'));
    const all = Promise.allSettled([...this.inFlight]);
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
  }
}
