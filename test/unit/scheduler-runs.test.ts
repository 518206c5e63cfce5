import { afterEach, describe, expect, it, vi } from 'vitest';
import winston from 'winston';
import Transport from 'winston-transport';
import type { GatewayContext } from '../../src/flows/context.js';
import type { JobDefinition } from '../../src/flows/scheduler/job.js';

const finishers: (() => void)[] = [];
vi.mock('../../src/flows/scheduler/runner.js', () => ({
  runJob: vi.fn(() => new Promise((resolve) => finishers.push(() => resolve({ runId: 1, status: 'ok', counts: {} })))),
}));
const { runJob } = await import('../../src/flows/scheduler/runner.js');
const { Scheduler } = await import('../../src/flows/scheduler/scheduler.js');

function harness(cron = '*/2 * * * * *') {
  const lines: { level: string; message: string }[] = [];
  const sink = new (class extends Transport {
    override log(info: { level: string; message: string }, next: () => void) {
      lines.push({ level: info.level, message: info.message });
      next();
    }
  })();
  const ctx = {
    config: { timeZone: 'America/Chicago', jobs: { schedules: { 'post-readings': { cron, enabled: true } } } },
    log: winston.createLogger({ transports: [sink] }),
  } as unknown as GatewayContext;
  const job = { name: 'post-readings', description: 'test' } as JobDefinition;
  return { scheduler: new Scheduler(ctx, [job]), job, lines };
}

describe('scheduler runs', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.mocked(runJob).mockClear();
    finishers.splice(0);
  });

  // Fault suite finding: after a clock step rescheduled the jobs, the new cron task started
  // post-readings while the old task's run was still going, and both posted the same reads.
  it('fault finding two runs at once: starts no second run of a job while this gateway runs it', async () => {
    const { scheduler, job } = harness();
    const first = scheduler.trigger(job, 'schedule');
    await scheduler.trigger(job, 'schedule');
    await expect(scheduler.trigger(job, 'manual')).rejects.toMatchObject({ code: 'JOB_RUNNING' });
    expect(runJob).toHaveBeenCalledTimes(1);
    finishers.shift()!();
    await first;
    const again = scheduler.trigger(job, 'manual');
    expect(runJob).toHaveBeenCalledTimes(2);
    finishers.shift()!();
    await again;
  });

  it('reports the runs a forward clock step skipped in one line, not one per run', async () => {
    vi.useFakeTimers({
      toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'],
      now: new Date('2026-11-23T18:00:00Z'),
    });
    const { scheduler, lines } = harness();
    vi.mocked(runJob).mockImplementation(async () => ({ runId: 1, status: 'ok', counts: {} }));
    scheduler.start();
    await vi.advanceTimersByTimeAsync(3000);
    vi.setSystemTime(new Date(Date.now() + 3_600_000));
    await vi.advanceTimersByTimeAsync(12_000);
    const missed = lines.filter((l) => /missed/.test(l.message));
    expect(missed).toHaveLength(1);
    expect(missed[0]!.message).toMatch(/^\d{3,4} scheduled run\(s\) of post-readings missed/);
    expect(lines.some((l) => /wall clock stepped forward 3600 s/.test(l.message))).toBe(true);
    await scheduler.stop(0);
  });
});
