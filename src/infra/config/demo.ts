import type { Config } from './schema.js';

/**
 * The demo: the embedded reference CIS on SQLite that the gateway seeds itself. Demo conveniences
 * (demo users and token, every hand-held welcomed) are only ever on here, never against a real
 * billing database, whatever else the configuration says.
 */
export function isDemoBilling(config: Config): boolean {
  return (
    config.billing.mode === 'database' && config.billing.demo.seedOnFirstRun && /^sqlite:/.test(config.billing.url)
  );
}

/** dock.approveAllDevices as it applies: "demo" means on for the demo billing database only. */
export function approvesAllDevices(config: Config): boolean {
  const setting = config.dock.approveAllDevices;
  return setting === 'demo' ? isDemoBilling(config) : setting;
}
