/** A scheduled job: a function of (store, billing, clock) that reports what it did as counts. */

import type { GatewayContext } from '../context.js';
import type { Logger } from '../../infra/log/logger.js';

export interface JobContext extends GatewayContext {
  runId: number;
  log: Logger;
  /** Aborted when the gateway is shutting down or the lease was lost: stop at the next safe point. */
  signal: AbortSignal;
}

export interface JobDefinition {
  name: string;
  description: string;
  run(ctx: JobContext): Promise<Record<string, number>>;
}
