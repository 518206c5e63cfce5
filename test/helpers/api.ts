import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ALL_JOBS } from '../../jobs/index.js';
import { createApi } from '../../src/entry/api/app.js';
import type { Operation } from '../../src/entry/api/openapi.js';
import type { GatewayContext } from '../../src/flows/context.js';
import { DockService } from '../../src/flows/dock/dock-service.js';
import { runJob } from '../../src/flows/scheduler/runner.js';

/** The HTTP API (and console) on a free local port, for suites that only need the API. */
export async function startApi(
  ctx: GatewayContext,
  opts: { dock?: DockService } = {},
): Promise<{ base: string; operations: Operation[]; close(): Promise<void> }> {
  const app = createApi({
    ctx,
    jobs: ALL_JOBS,
    runJobNow: (job) => runJob(ctx, job, { trigger: 'manual' }),
    health: async () => ({ ok: true, checks: {} }),
    dock: opts.dock ?? new DockService(ctx),
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    operations: app.locals.operations as Operation[],
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
