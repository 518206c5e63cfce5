import cron, { type ScheduledTask } from 'node-cron';
import type { GatewayContext } from '../context.js';
import { ConflictError, errorMessage } from '../../errors.js';
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
    return {
      name: job.name,
      description: job.description,
      cron: schedule?.cron ?? null,
      enabled: schedule?.enabled ?? false,
      nextRun,
    };
  });
}

/** A wall-clock step larger than this (NTP stepping the clock, a VM resumed) reschedules the jobs. */
export const CLOCK_STEP_TOLERANCE_MS = 5000;
const CLOCK_CHECK_MS = 5000;

/** How far the wall clock moved beyond the monotonic clock between two looks (negative: stepped back). */
export function clockStep(before: { wall: number; mono: number }, now: { wall: number; mono: number }): number {
  return now.wall - before.wall - (now.mono - before.mono);
}

/**
 * Starts node-cron tasks for the enabled jobs (cron in the utility's time zone). Leases, not
 * this process, decide who runs: several gateways may schedule the same job safely.
 *
 * node-cron waits for the wall-clock time of each task's next run, worked out when the last run
 * was due. When the clock steps back, that time moves away: a job every 15 minutes would not run
 * for as long as the step (an hour back, an hour without posting). So the scheduler watches the
 * wall clock against the monotonic one and, after a step, schedules its tasks again from the new time.
 */
export class Scheduler {
  private tasks: ScheduledTask[] = [];
  private clockWatch: NodeJS.Timeout | null = null;
  private stopped = false;
  /**
   * This process's run of each job, while it lasts (a lease renews for its own holder, so it cannot stop a second run
   * here).
   */
  private readonly runningHere = new Map<string, Promise<RunOutcome | void>>();
  /** Scheduled runs node-cron skipped (the clock stepped forward, or the process was busy), by job. */
  private readonly missed = new Map<string, number>();
  private readonly abort = new AbortController();

  constructor(
    private readonly ctx: GatewayContext,
    private readonly jobs: readonly JobDefinition[],
  ) {}

  start(): void {
    this.schedule();
    let last = { wall: Date.now(), mono: performance.now() };
    this.clockWatch = setInterval(() => {
      const now = { wall: Date.now(), mono: performance.now() };
      const step = clockStep(last, now);
      last = now;
      this.reportMissed();
      if (Math.abs(step) <= CLOCK_STEP_TOLERANCE_MS) return;
      this.ctx.log.warn(
        `the wall clock stepped ${step < 0 ? 'back' : 'forward'} ${Math.round(Math.abs(step) / 1000)} s; jobs ` +
          `scheduled again from the new time`,
        { module: 'scheduler', stepMs: step },
      );
      void this.reschedule();
    }, CLOCK_CHECK_MS);
    this.clockWatch.unref();
  }

  /** One line per job for the runs it missed since the last look, not node-cron's line per run. */
  private reportMissed(): void {
    for (const [job, n] of this.missed)
      this.ctx.log.warn(
        `${n} scheduled run(s) of ${job} missed (the clock stepped forward, or the gateway was too busy); the next ` +
          `runs go on`,
        { module: 'scheduler', job, missed: n },
      );
    this.missed.clear();
  }

  private async reschedule(): Promise<void> {
    const old = this.tasks;
    this.tasks = [];
    for (const task of old) await task.destroy();
    if (!this.stopped) this.schedule();
  }

  private schedule(): void {
    for (const job of this.jobs) {
      const schedule = this.ctx.config.jobs.schedules[job.name];
      if (!schedule?.enabled) continue;
      const task = cron.schedule(schedule.cron, () => void this.trigger(job, 'schedule'), {
        timezone: this.ctx.config.timeZone,
        name: job.name,
        noOverlap: true,
      });
      // Counted and reported once per look: a clock stepped 47 hours forward missed 84,600 runs of a 2-second job, one
      // log line each.
      task.on('execution:missed', () => void this.missed.set(job.name, (this.missed.get(job.name) ?? 0) + 1));
      this.tasks.push(task);
      this.ctx.log.info('job scheduled', {
        module: 'scheduler',
        job: job.name,
        cron: schedule.cron,
        next: task.getNextRun()?.toISOString(),
      });
    }
  }

  /** Runs a job now in this process; used by the scheduler and the API's "run now". */
  trigger(job: JobDefinition, trigger: 'schedule' | 'manual'): Promise<RunOutcome | void> {
    // Fault suite finding: after a clock step rescheduled the jobs, the new task started post-readings
    // while the old task's run was still going; both posted the same reads (billing's key refused the second).
    if (this.runningHere.has(job.name)) {
      if (trigger === 'manual')
        return Promise.reject(
          new ConflictError('JOB_RUNNING', `job ${job.name} is running on this gateway now`, { record: job.name }),
        );
      this.ctx.log.info('job skipped: its last run on this gateway is still going', {
        module: 'scheduler',
        job: job.name,
      });
      return Promise.resolve();
    }
    const run = runJob(this.ctx, job, { trigger, signal: this.abort.signal }).catch((err) => {
      if (err instanceof ConflictError)
        this.ctx.log.info('job skipped: held by another gateway', {
          module: 'scheduler',
          job: job.name,
          reason: err.message,
        });
      else this.ctx.log.error('job could not start', { module: 'scheduler', job: job.name, error: errorMessage(err) });
      if (trigger === 'manual') throw err;
    });
    this.runningHere.set(job.name, run);
    void run.finally(() => this.runningHere.delete(job.name)).catch(() => undefined);
    return run;
  }

  /** Stops scheduling, asks running jobs to stop at a safe point, and waits up to `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    if (this.clockWatch) clearInterval(this.clockWatch);
    this.clockWatch = null;
    for (const task of this.tasks) await task.destroy();
    this.tasks = [];
    if (this.runningHere.size === 0) return;
    this.abort.abort(new Error('gateway shutting down'));
    const all = Promise.allSettled([...this.runningHere.values()]);
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
  }
}
