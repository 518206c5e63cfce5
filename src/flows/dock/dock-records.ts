import type { Hello } from '../../../adapters/handheld-serial/codec/messages.js';
import type { GatewayContext } from '../context.js';
import type { Logger } from '../../infra/log/logger.js';
import { finishCommand, type DockCommandRow } from '../../infra/store/dock-repo.js';
import { applyRouteEvent, committedRoutesOn, findRoute } from '../../infra/store/routes-repo.js';
import type { RouteAssignment } from '../routes/route-assignment.js';
import type { UploadSpool } from './upload-spool.js';

type HeldRoute = Hello['routes'][number];

/**
 * The store's record of what a docked hand-held holds, set right at each dock: clears and loads
 * the device carried out but whose recording was lost (a pulled cable, a killed gateway, a store
 * outage between the device's OK and the commit), and a route taken off the device once it is.
 */
export class DockRecords {
  constructor(
    private readonly ctx: GatewayContext,
    private readonly assignment: RouteAssignment,
    private readonly spool: UploadSpool,
  ) {}

  /**
   * Committed routes of this device that it no longer holds: it obeyed a CLEAR whose recording did
   * not happen (the store went down, the cable came out between the two). Their readings are
   * committed, so the clear is recorded now. Fault suite finding: such a route stayed "committed"
   * on the device for good, its spooled file kept.
   */
  async clearsNotRecorded(deviceId: string, onDevice: readonly HeldRoute[], log: Logger): Promise<void> {
    const db = this.ctx.store.db;
    const committed = await committedRoutesOn(db, deviceId);
    for (const route of committed) {
      if (onDevice.some((r) => r.route === route.route_code && (!r.cycle || r.cycle === route.cycle))) continue;
      const now = this.ctx.clock().toISOString();
      await db.transaction((trx) => applyRouteEvent(trx, route, 'clear', { actor: `dock:${deviceId}`, now, deviceId }));
      await this.spool.discard(deviceId, route.route_code);
      log.info(
        `route ${route.route_code} (${route.cycle}) was committed and ${deviceId} no longer holds it: recorded as ` +
          `cleared`,
      );
    }
  }

  /**
   * Routes the device holds that this gateway sent it but did not get to record (killed between the
   * device's LOAD_OK and the commit): the load is recorded now, so their readings can be taken.
   * Fault suite finding: the readings were refused as "not exported" and the load command failed
   * with ROUTE_PRESENT, leaving the route stuck on the device.
   */
  async loadsNotRecorded(deviceId: string, onDevice: readonly HeldRoute[], log: Logger): Promise<void> {
    for (const held of onDevice) {
      if (!held.cycle) continue;
      const cmd = await this.assignment.unrecordedLoad(deviceId, held.route, held.cycle);
      if (!cmd) continue;
      const built = await this.assignment.prepare(cmd);
      if (built.cycle !== held.cycle || built.lines.length !== held.records) continue;
      await this.assignment.recordLoad(
        deviceId,
        cmd,
        built,
        `loaded ${built.lines.length} records on ${deviceId} (recorded at its next dock)`,
      );
      log.info(
        `route ${held.route} (${held.cycle}) is on ${deviceId} as sent, but its load was not recorded: recorded now`,
        { command: cmd.id },
      );
    }
  }

  async cleared(
    deviceId: string,
    held: HeldRoute,
    clearCmd: DockCommandRow | undefined,
    reason: string | undefined,
  ): Promise<void> {
    const now = this.ctx.clock().toISOString();
    await this.ctx.store.db.transaction(async (trx) => {
      const route = held.cycle ? await findRoute(trx, held.route, held.cycle) : undefined;
      if (route && route.device_id === deviceId) {
        if (route.state === 'committed')
          await applyRouteEvent(trx, route, 'clear', { actor: `dock:${deviceId}`, now, deviceId });
        else
          await applyRouteEvent(trx, route, 'reset', {
            actor: clearCmd?.actor ?? `dock:${deviceId}`,
            now,
            reason: reason ?? 'cleared from the device',
            deviceId,
          });
      }
      if (clearCmd) await finishCommand(trx, clearCmd.id, 'done', now, `cleared from ${deviceId}`);
    });
  }
}
