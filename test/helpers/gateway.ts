import { loadConfig } from '../../src/infra/config/load.js';
import type { Config } from '../../src/infra/config/schema.js';
import { prepare } from '../../src/entry/gateway.js';
import { openContext } from '../../src/flows/context.js';
import type { GatewayContext } from '../../src/flows/context.js';
import { seedReferenceBilling } from '../../src/infra/billing/reference/seed.js';
import { silentLogger } from '../../src/infra/log/logger.js';
import type { DialectFactory, TestDatabase } from './databases.js';

export const TODAY = '2026-11-23';
/** A fixed "now" for the tests: mid-morning in Chicago on the seed's today. */
export const NOW = new Date('2026-11-23T16:00:00Z');

export interface TestGateway {
  ctx: GatewayContext;
  config: Config;
  store: TestDatabase;
  billing: TestDatabase;
  close(): Promise<void>;
}

/** A gateway context on fresh store and billing databases of one dialect, billing seeded small. */
export async function testGateway(
  dialect: DialectFactory,
  opts: {
    accounts?: number;
    routes?: number;
    label?: string;
    clock?: () => Date;
    config?: Record<string, unknown>;
  } = {},
): Promise<TestGateway> {
  const store = await dialect.create(`${opts.label ?? 't'}_store`);
  const billing = await dialect.create(`${opts.label ?? 't'}_billing`);
  const config = loadConfig({
    env: {},
    overrides: {
      store: { url: store.url },
      billing: { url: billing.url, demo: { seedOnFirstRun: false, accounts: 1, routes: 1, seed: 1 } },
      log: { level: 'error', format: 'json' },
      ...opts.config,
      // Billing here is seeded by the test, not the demo: hand-helds are welcomed because the tests say so.
      dock: { approveAllDevices: true, ...((opts.config?.dock as Record<string, unknown> | undefined) ?? {}) },
    },
  });
  const ctx = openContext(config, silentLogger(), opts.clock ?? (() => NOW));
  await seedReferenceBilling(ctx.billing.db, {
    accounts: opts.accounts ?? 200,
    routes: opts.routes ?? 2,
    seed: 42,
    today: TODAY,
  });
  await prepare(ctx);
  return {
    ctx,
    config,
    store,
    billing,
    close: async () => {
      await ctx.store.close();
      await ctx.billing.close();
      await store.drop();
      await billing.drop();
    },
  };
}
