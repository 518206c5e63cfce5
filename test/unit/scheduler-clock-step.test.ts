import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GatewayContext } from '../../src/flows/context.js';
import { silentLogger } from '../../src/infra/log/logger.js';
import type { JobDefinition } from '../../src/flows/scheduler/job.js';
import { clockStep, Scheduler } from '../../src/flows/scheduler/scheduler.js';

/**
 * Fault suite finding "clock stepped back": after the gateway's wall clock stepped back 108
 * minutes, node-cron waited for the old next-run time and post-readings did not run again, so
 * readings sat in the outbox. The scheduler now notices a step and schedules its jobs again.
 */
describe('scheduler and wall-clock steps', () => {
  afterEach(() => vi.useRealTimers());

  it('measures a step as wall time against monotonic time', () => {
    expect(clockStep({ wall: 1_000_000, mono: 50 }, { wall: 1_005_000, mono: 5050 })).toBe(0);
    expect(clockStep({ wall: 10_000_000, mono: 0 }, { wall: 10_000_000 - 6_480_000 + 5000, mono: 5000 })).toBe(
      -6_480_000,
    );
  });

  it('fault finding clock stepped back: jobs keep running after the wall clock steps back two hours', async () => {
    // Date and timers are fake; setSystemTime steps Date alone, as NTP steps a real clock.
    vi.useFakeTimers({
      toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'],
      now: new Date('2026-11-23T18:00:00Z'),
    });
    const job = { name: 'post-readings', description: 'test' } as JobDefinition;
    const ctx = {
      config: {
        timeZone: 'America/Chicago',
        jobs: { schedules: { 'post-readings': { cron: '*/2 * * * * *', enabled: true } } },
      },
      log: silentLogger(),
    } as unknown as GatewayContext;
    const scheduler = new Scheduler(ctx, [job]);
    const runs: string[] = [];
    vi.spyOn(scheduler, 'trigger').mockImplementation(async () => void runs.push(new Date().toISOString()));
    scheduler.start();

    await vi.advanceTimersByTimeAsync(10_000);
    const before = runs.length;
    expect(before).toBeGreaterThanOrEqual(4);

    vi.setSystemTime(new Date(Date.now() - 2 * 3_600_000));
    await vi.advanceTimersByTimeAsync(20_000);
    const after = runs.length - before;
    // Five seconds to notice the step, then a run every 2 s.
    expect(after).toBeGreaterThanOrEqual(5);
    expect(runs.at(-1)! < '2026-11-23T17:00:00Z').toBe(true);
    await scheduler.stop(0);
  });
});
