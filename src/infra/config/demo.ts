import type { Config } from './schema.js';

/**
 * The demo: the embedded reference CIS on SQLite that the gateway seeds itself (in file mode, the
 * demo CIS at billing.files.demoCisUrl, which exchanges files with the gateway). Demo conveniences
 * (demo users and token, every hand-held welcomed) are only ever on here, never against a real
 * billing database, whatever else the configuration says.
 */
export function isDemoBilling(config: Config): boolean {
  const cis = config.billing.mode === 'files' ? config.billing.files.demoCisUrl : config.billing.url;
  return config.billing.demo.seedOnFirstRun && cis !== null && /^sqlite:/.test(cis);
}

/** dock.approveAllDevices as it applies: "demo" means on for the demo billing database only. */
export function approvesAllDevices(config: Config): boolean {
  const setting = config.dock.approveAllDevices;
  return setting === 'demo' ? isDemoBilling(config) : setting;
}
