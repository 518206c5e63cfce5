import type { GatewayContext } from '../context.js';
import { AppError, ConflictError, NotFoundError } from '../../errors.js';
import {
  createCommand,
  finishCommand,
  getDevice,
  pendingCommands,
  type DockCommandRow,
} from '../../infra/store/dock-repo.js';
import { applyRouteEvent, latestRoute } from '../../infra/store/routes-repo.js';

/**
 * What a CSR asks of the docks: assign a route to a hand-held, re-load it (onto the same or
 * another device), or take it off a device. Each becomes a command the device's next dock
 * carries out. A route is on one device at a time: a second assignment is refused with where
 * the route is and how to move it.
 */
const OUT_ON_DEVICE = ['loaded', 'uploaded', 'committed'];

export interface CsrAction {
  routeCode: string;
  actor: string;
  reason?: string;
}

async function requireApprovedDevice(ctx: GatewayContext, deviceId: string): Promise<void> {
  const device = await getDevice(ctx.store.db, deviceId);
  if (!device) throw new NotFoundError('device', deviceId);
  if (!device.approved)
    throw new ConflictError(
      'DEVICE_NOT_APPROVED',
      `device ${deviceId} is waiting for approval; an admin approves it first`,
      { record: deviceId },
    );
}

function requireReason(reason: string | undefined, what: string): string {
  const trimmed = reason?.trim();
  if (!trimmed)
    throw new AppError('REASON_REQUIRED', `${what} needs a reason; it is recorded with the route`, { field: 'reason' });
  return trimmed;
}

export async function assignRoute(
  ctx: GatewayContext,
  action: CsrAction & { deviceId: string },
): Promise<DockCommandRow> {
  await requireApprovedDevice(ctx, action.deviceId);
  if (!(await ctx.billing.getRoute(action.routeCode))) throw new NotFoundError('route', action.routeCode);
  return ctx.store.db.transaction(async (trx) => {
    const waiting = await pendingCommands(trx, { routeCode: action.routeCode, command: 'load' });
    if (waiting[0]) {
      throw new ConflictError(
        'ROUTE_ASSIGNED',
        `route ${action.routeCode} is already assigned to ${waiting[0].device_id} (waiting for it to dock since ` +
          `${waiting[0].created_at})`,
        { record: action.routeCode },
      );
    }
    const route = await latestRoute(trx, action.routeCode);
    if (route && OUT_ON_DEVICE.includes(route.state)) {
      throw new ConflictError(
        'ROUTE_ON_DEVICE',
        `route ${route.route_code} (${route.cycle}) is ${route.state} on ${route.device_id ?? 'a file'} since ` +
          `${route.loaded_at}; re-load it with a reason to move it`,
        { record: action.routeCode, field: 'state' },
      );
    }
    return createCommand(trx, {
      deviceId: action.deviceId,
      routeCode: action.routeCode,
      command: 'load',
      actor: action.actor,
      now: ctx.clock().toISOString(),
    });
  });
}

/** Sends a route again (a device was lost or broke): the old copy is recorded as abandoned, with the reason. */
export async function reloadRoute(
  ctx: GatewayContext,
  action: CsrAction & { deviceId: string },
): Promise<DockCommandRow> {
  const reason = requireReason(action.reason, 'a re-load');
  await requireApprovedDevice(ctx, action.deviceId);
  if (!(await ctx.billing.getRoute(action.routeCode))) throw new NotFoundError('route', action.routeCode);
  const now = ctx.clock().toISOString();
  return ctx.store.db.transaction(async (trx) => {
    for (const waiting of await pendingCommands(trx, { routeCode: action.routeCode, command: 'load' })) {
      await finishCommand(trx, waiting.id, 'cancelled', now, `replaced by a re-load to ${action.deviceId}: ${reason}`);
    }
    const route = await latestRoute(trx, action.routeCode);
    if (route && OUT_ON_DEVICE.includes(route.state)) {
      const previous = route.device_id;
      await applyRouteEvent(trx, route, 'reset', { actor: action.actor, now, reason });
      // The old device gives the route up at its next dock (after its readings are unloaded).
      if (previous && previous !== action.deviceId && previous !== 'FILE') {
        await createCommand(trx, {
          deviceId: previous,
          routeCode: action.routeCode,
          command: 'clear',
          actor: action.actor,
          reason: `re-loaded to ${action.deviceId}: ${reason}`,
          now,
        });
      }
    }
    return createCommand(trx, {
      deviceId: action.deviceId,
      routeCode: action.routeCode,
      command: 'load',
      actor: action.actor,
      reason,
      now,
    });
  });
}

/** Takes a route off the device that holds it at its next dock; any readings are unloaded first. */
export async function clearRoute(ctx: GatewayContext, action: CsrAction): Promise<DockCommandRow> {
  const reason = requireReason(action.reason, 'clearing a route');
  const route = await latestRoute(ctx.store.db, action.routeCode);
  if (!route) throw new NotFoundError('route', action.routeCode);
  if (!route.device_id || route.device_id === 'FILE' || route.state === 'cleared') {
    throw new ConflictError(
      'ROUTE_NOT_ON_DEVICE',
      `route ${route.route_code} (${route.cycle}) is ${route.state.replace('_', ' ')} and not on a hand-held`,
      { record: action.routeCode },
    );
  }
  return createCommand(ctx.store.db, {
    deviceId: route.device_id,
    routeCode: action.routeCode,
    command: 'clear',
    actor: action.actor,
    reason,
    now: ctx.clock().toISOString(),
  });
}
