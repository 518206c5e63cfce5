import { claimsList } from '../../infra/store/suspense-repo.js';
import type { GatewayContext } from '../context.js';
import { MeterDirectory } from './meter-directory.js';

/**
 * Billing's meters for a live radio source (rtlamr, wmbusmeters): reloaded every 5 minutes, and
 * at once (at most every ami.directoryRefreshSeconds) for a name it does not know, so a radio id
 * added to billing is matched on its next message. Gives the directory and the billing meter the
 * name belongs to, or null.
 */
export function liveDirectory(
  ctx: GatewayContext,
): (ref: string) => Promise<{ directory: MeterDirectory; meterId: string | null }> {
  const cached = MeterDirectory.cached(ctx.billing, () => claimsList(ctx.store.db), {
    missMs: ctx.config.ami.directoryRefreshSeconds * 1000,
  });
  return async (ref) => {
    let directory = await cached();
    if (!directory.meterOf([ref])) directory = await cached(true);
    return { directory, meterId: directory.meterOf([ref]) };
  };
}
