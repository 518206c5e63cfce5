import { Billing } from '../infra/billing/billing.js';
import { FileBilling } from '../infra/billing/file-billing.js';
import type { Config } from '../infra/config/schema.js';
import { resolveResource } from '../infra/config/paths.js';
import { type Layout } from '../core/fixed-width/layout.js';
import { loadLayout } from '../infra/config/layouts.js';
import type { Logger } from '../infra/log/logger.js';
import { openStore, type Store } from '../infra/store/store.js';

/** What the services need, passed in (no module singletons), so tests build their own. */
export interface GatewayContext {
  config: Config;
  store: Store;
  billing: Billing;
  log: Logger;
  clock: () => Date;
  layout(name: string): Layout;
}

export function layoutLoader(config: Config): (name: string) => Layout {
  const cache = new Map<string, Layout>();
  const dir = resolveResource(config.layouts.dir);
  return (name) => {
    let layout = cache.get(name);
    if (!layout) cache.set(name, (layout = loadLayout(dir, name)));
    return layout;
  };
}

/** Opens the store and billing connections (no migrations): what every CLI command starts from. */
export function openContext(config: Config, log: Logger, clock: () => Date = () => new Date()): GatewayContext {
  return {
    config,
    log,
    clock,
    store: openStore(config.store.url),
    billing:
      config.billing.mode === 'files'
        ? FileBilling.openFiles(config)
        : Billing.open(config.billing.url, config.billing.mapping, {
            bulkLoadMinRows: config.billing.bulkLoadMinRows,
          }),
    layout: layoutLoader(config),
  };
}

export async function closeContext(ctx: GatewayContext): Promise<void> {
  await Promise.allSettled([ctx.store.close(), ctx.billing.close()]);
}
