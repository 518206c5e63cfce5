/**
 * Every billing route with its state here for the cycle of its next read date: what a CSR sees
 * first in the morning. A route the gateway has not touched yet is `ready`.
 */

import type { GatewayContext } from '../context.js';
import { listRoutes } from '../../infra/store/routes-repo.js';

export interface RouteOverview {
  route: string;
  description: string;
  readDate: string;
  cycle: string;
  state: string;
  device: string | null;
  records: number | null;
  read: number;
  held: number;
  skipped: number;
  openExceptions: number;
}

export async function routeOverview(ctx: GatewayContext): Promise<RouteOverview[]> {
  const [billingRoutes, stored] = await Promise.all([ctx.billing.listRoutes(), listRoutes(ctx.store.db)]);
  return billingRoutes.map((b) => {
    const cycle = b.nextReadDate.slice(0, 7);
    const s = stored.find((r) => r.route_code === b.code && r.cycle === cycle);
    return {
      route: b.code,
      description: b.description,
      readDate: b.nextReadDate,
      cycle,
      state: s?.state ?? 'ready',
      device: s?.device_id ?? null,
      records: s?.records ?? null,
      read: s?.valid ?? 0,
      held: s?.held ?? 0,
      skipped: s?.skipped ?? 0,
      openExceptions: s?.open_exceptions ?? 0,
    };
  });
}
