import type { Billing } from '../billing/billing.js';
import type { Config } from '../config/schema.js';
import { resolveResource } from '../config/paths.js';
import { loadLayout, type Layout } from '../fixed-width/layout.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';

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
