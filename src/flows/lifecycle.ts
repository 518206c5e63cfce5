/**
 * One lifecycle for every part the gateway runs (the docks, the MQTT field service, the AMI drop
 * folder, the scheduler), as adapters have (adapters/adapter.ts): start, stop, and a health
 * report in one shape. The gateway keeps them as a list: it starts them last to first and stops
 * them first to last, each stop bounded in time, so one part that hangs cannot keep the process.
 */

import type { AdapterHealth } from '../../adapters/adapter.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../infra/log/logger.js';

export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): AdapterHealth;
}

/** Starts the components from the last to the first (the list is in stopping order). */
export async function startAll(components: readonly Component[]): Promise<void> {
  for (const c of [...components].reverse()) await c.start();
}

/** Stops each in turn; one that takes longer than `timeoutMs` is logged and left behind. */
export async function stopAll(components: readonly Component[], timeoutMs: number, log: Logger): Promise<void> {
  for (const c of components) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const outcome = await Promise.race([
      c.stop().then(
        () => 'stopped' as const,
        (err: unknown) => err,
      ),
      late,
    ]);
    clearTimeout(timer);
    if (outcome === 'late')
      log.warn(`${c.name} did not stop within ${timeoutMs} ms; going on without it`, { module: 'gateway' });
    else if (outcome !== 'stopped')
      log.warn(`${c.name} failed to stop: ${errorMessage(outcome)}`, { module: 'gateway' });
  }
}

/** What /healthz says of a component: 'ok' while it runs, 'off' when it is not configured, else its state and why. */
export function healthText(h: AdapterHealth): string {
  if (h.state === 'running') return 'ok';
  if (h.state === 'stopped' && h.detail === OFF) return 'off';
  return `${h.state}: ${h.detail}`;
}

/** The detail of a component that configuration turned off. */
export const OFF = 'off';

export { HealthTracker } from '../../adapters/adapter.js';
