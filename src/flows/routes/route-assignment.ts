import type { GatewayContext } from '../context.js';
import { AppError } from '../../errors.js';
import { pendingCommands, type DockCommandRow } from '../../infra/store/dock-repo.js';
import { findRoute, latestRoute, recordCommandLoad } from '../../infra/store/routes-repo.js';
import { isUniqueViolation } from '../../infra/db/sql-utils.js';
import type { RouteFileBuild } from './export-route.js';
import { LoadFiles } from './load-files.js';

/**
 * A CSR's route assignment, from the load command to the route recorded on the device, the same
 * for a docked hand-held and for an MQTT device: the route file built once per command (kept
 * until the device confirmed it), the load recorded with the command done in one transaction, and
 * the recovery of a load the device holds but whose recording was lost (a killed gateway, a store
 * outage, readings that overtook the device's confirmation).
 */
export class RouteAssignment {
  private readonly files: LoadFiles;

  constructor(
    private readonly ctx: GatewayContext,
    filesDir: string,
  ) {
    this.files = new LoadFiles(filesDir);
  }

  /** The route file of a load command: built from billing at the first call, the same bytes after. */
  prepare(cmd: Pick<DockCommandRow, 'id' | 'route_code'>): Promise<RouteFileBuild> {
    return this.files.prepare(this.ctx, cmd.id, cmd.route_code);
  }

  /** A load command that will not go through (refused, failed): its file is not kept. */
  discard(cmd: Pick<DockCommandRow, 'id'>): Promise<void> {
    return this.files.discard(cmd.id);
  }

  /**
   * The device holds the route of `cmd`: the route is recorded loaded on it and the command done.
   * The caller bumps the ledger's change counter once it has told the CSR (that must not wait).
   * The same load recorded a moment earlier by another message of the device (its ack and its
   * readings handled at once) counts as recorded (fault suite finding: the loser was refused).
   */
  async recordLoad(deviceId: string, cmd: DockCommandRow, built: RouteFileBuild, detail: string): Promise<void> {
    const db = this.ctx.store.db;
    const now = this.ctx.clock().toISOString();
    try {
      await db.transaction((trx) => recordCommandLoad(trx, cmd, built, deviceId, detail, now));
    } catch (err) {
      const already = (err instanceof AppError && err.code === 'ROUTE_ALREADY_LOADED') || isUniqueViolation(err);
      const route = already ? await findRoute(db, built.routeCode, built.cycle) : undefined;
      if (!route || route.device_id !== deviceId || route.file_sha256 !== built.sha256) throw err;
    }
    await this.discard(cmd);
  }

  /**
   * The load command whose file went to the device (it holds the route) but whose load is not
   * recorded: the route has no row for its cycle yet. `cycle` undefined: the route's latest.
   */
  async unrecordedLoad(deviceId: string, routeCode: string, cycle?: string): Promise<DockCommandRow | undefined> {
    const db = this.ctx.store.db;
    if (await (cycle ? findRoute(db, routeCode, cycle) : latestRoute(db, routeCode))) return undefined;
    return (await pendingCommands(db, { deviceId, routeCode, command: 'load' })).find((c) => c.file_sha256);
  }
}
