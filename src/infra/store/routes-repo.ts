import type { Knex } from 'knex';
import { ROUTE_STATES, transition, type RouteEvent, type RouteState } from '../../core/route-state.js';
import type { RouteLine } from '../../core/reading-checks.js';
import { ConflictError } from '../../errors.js';
import { insertMany } from '../db/sql-utils.js';
import { finishCommand, type DockCommandRow } from './dock-repo.js';
import type { RouteLinesRow, RoutesRow } from './tables.js';

type Db = Knex | Knex.Transaction;

export type RouteRow = RoutesRow;

export interface StoredRouteLine extends RouteLine {
  meterType: string;
  ertId: string | null;
  /** Units expected by the read date, from the account's history: what an estimate uses. */
  expectedUnits: number | null;
}

export async function findRoute(db: Db, routeCode: string, cycle: string): Promise<RouteRow | undefined> {
  return db<RouteRow>('routes').where({ route_code: routeCode, cycle }).first();
}

/** The newest cycle of a route code: what a CSR means by "route R01". */
export async function latestRoute(db: Db, routeCode: string): Promise<RouteRow | undefined> {
  return db<RouteRow>('routes').where({ route_code: routeCode }).orderBy('cycle', 'desc').first();
}

export async function getRouteById(db: Db, id: number): Promise<RouteRow | undefined> {
  return db<RouteRow>('routes').where({ id }).first();
}

/** Routes with their read/skip/exception counts, newest cycle first. */
export async function listRoutes(
  db: Db,
): Promise<(RouteRow & { valid: number; held: number; skipped: number; open_exceptions: number })[]> {
  const routes = await db<RouteRow>('routes').orderBy([{ column: 'cycle', order: 'desc' }, 'route_code']);
  const counts = (await db('readings')
    .select('route_id', 'status')
    .count({ n: '*' })
    .groupBy('route_id', 'status')) as { route_id: number; status: string; n: number }[];
  const open = (await db('exceptions')
    .select('route_id')
    .count({ n: '*' })
    .where({ status: 'open' })
    .groupBy('route_id')) as { route_id: number; n: number }[];
  return routes.map((r) => {
    const of = (status: string) => Number(counts.find((c) => c.route_id === r.id && c.status === status)?.n ?? 0);
    return {
      ...r,
      valid: of('valid'),
      held: of('held'),
      skipped: of('skipped'),
      open_exceptions: Number(open.find((o) => o.route_id === r.id)?.n ?? 0),
    };
  });
}

export async function routeLines(db: Db, routeId: number): Promise<StoredRouteLine[]> {
  const rows = await db('route_lines').where({ route_id: routeId }).orderBy('sequence');
  return rows.map((r) => ({ ...asRouteLine(r), meterType: r.meter_type, ertId: r.ert_id }));
}

/** A stored route line as the checks and the ledger read it. */
export function asRouteLine(
  r: Omit<RouteLinesRow, 'id' | 'route_id' | 'meter_type' | 'ert_id'>,
): RouteLine & { expectedUnits: number | null } {
  return {
    sequence: r.sequence,
    account: r.account,
    meterId: r.meter_id,
    register: r.register,
    dials: r.dials,
    prevRead: r.prev_read,
    lowLimit: r.low_limit,
    highLimit: r.high_limit,
    expectedUnits: r.expected_units,
  };
}

/**
 * Applies a state-machine event and records who, when and why. Refuses a forbidden step. The
 * update holds only if the route is still in the state it was read in: several batches of one
 * route handled at once (a field device's queue sent after an outage) each read it `loaded`,
 * and the last to write put a committed route back to `uploaded` (fault suite finding). One
 * that lost the race reads the route again and goes on from there; a step the route has
 * already passed (upload once it is committed) is done.
 */
export async function applyRouteEvent(
  trx: Db,
  route: RouteRow,
  event: RouteEvent,
  opts: { actor: string; now: string; reason?: string; deviceId?: string | null },
  attempt = 0,
): Promise<RouteRow> {
  const retried = attempt > 0;
  const result = transition(route.state, event);
  if (!result.ok && retried && alreadyPast(route.state, event)) return route;
  if (!result.ok)
    throw new ConflictError('ROUTE_STATE', `route ${route.route_code} (${route.cycle}): ${result.reason}`, {
      record: route.route_code,
      field: 'state',
    });
  const stamp: Partial<RouteRow> = { state: result.state, updated_at: opts.now };
  if (event === 'load')
    Object.assign(stamp, {
      loaded_at: opts.now,
      uploaded_at: null,
      committed_at: null,
      cleared_at: null,
      device_id: opts.deviceId ?? null,
    });
  if (event === 'upload') stamp.uploaded_at = opts.now;
  if (event === 'commit') stamp.committed_at = opts.now;
  if (event === 'clear') Object.assign(stamp, { cleared_at: opts.now, device_id: null });
  if (event === 'reset') stamp.device_id = null;
  const updated = await trx('routes').where({ id: route.id, state: route.state }).update(stamp);
  if (updated === 0) {
    const fresh = (await trx('routes').where({ id: route.id }).first()) as RouteRow | undefined;
    // Each lost race means another handler moved the route on; a handful in a row is a busy route, not a loop.
    if (fresh && attempt < 20) return applyRouteEvent(trx, fresh, event, opts, attempt + 1);
    throw new ConflictError(
      'ROUTE_STATE',
      `route ${route.route_code} (${route.cycle}) changed as it was updated; try again`,
      {
        record: route.route_code,
        field: 'state',
      },
    );
  }
  await trx('route_events').insert({
    route_id: route.id,
    event,
    from_state: route.state,
    to_state: result.state,
    actor: opts.actor,
    device_id: opts.deviceId ?? route.device_id,
    reason: opts.reason ?? null,
    at: opts.now,
  });
  return { ...route, ...stamp };
}

/** Whether a forward step (upload, commit, clear) is behind a route already: it is at that state or beyond. */
function alreadyPast(state: RouteState, event: RouteEvent): boolean {
  const target = FORWARD_TARGET[event];
  return target !== undefined && ROUTE_STATES.indexOf(state) >= ROUTE_STATES.indexOf(target);
}

const FORWARD_TARGET: Partial<Record<RouteEvent, RouteState>> = {
  upload: 'uploaded',
  commit: 'committed',
  clear: 'cleared',
};

export interface ExportRecord {
  routeCode: string;
  cycle: string;
  scheduledReadDate: string;
  layout: string;
  sha256: string;
  bytes: number;
  lines: StoredRouteLine[];
  deviceId: string;
  actor: string;
  reason?: string;
  reload: boolean;
  now: string;
}

/** What the store records of a route file a device took: its lines, layout, size and hash. */
export interface LoadedRouteFile {
  routeCode: string;
  cycle: string;
  scheduledReadDate: string;
  layout: string;
  lines: StoredRouteLine[];
  content: { length: number };
  sha256: string;
}

/**
 * A load command that went through (the device holds the file): the route recorded as loaded on
 * the device and the command done, in one transaction. Used by the docks and by MQTT devices.
 */
export async function recordCommandLoad(
  trx: Knex.Transaction,
  cmd: Pick<DockCommandRow, 'id' | 'actor' | 'reason'>,
  built: LoadedRouteFile,
  deviceId: string,
  detail: string,
  now: string,
): Promise<void> {
  await recordRouteLoad(trx, {
    routeCode: built.routeCode,
    cycle: built.cycle,
    scheduledReadDate: built.scheduledReadDate,
    layout: built.layout,
    sha256: built.sha256,
    bytes: built.content.length,
    lines: built.lines,
    deviceId,
    actor: cmd.actor,
    reason: cmd.reason ?? undefined,
    reload: Boolean(cmd.reason),
    now,
  });
  await finishCommand(trx, cmd.id, 'done', now, detail);
}

/**
 * Records that a route was exported (loaded on a device or into a file): replaces its lines
 * and moves it to `loaded`. A route already out on a device is refused unless this is a
 * re-load with a reason, so a route is never on two devices at once.
 */
export async function recordRouteLoad(trx: Knex.Transaction, rec: ExportRecord): Promise<RouteRow> {
  let route = await findRoute(trx, rec.routeCode, rec.cycle);
  if (!route) {
    await trx('routes').insert({
      route_code: rec.routeCode,
      cycle: rec.cycle,
      state: 'no_meters',
      updated_at: rec.now,
    });
    route = (await findRoute(trx, rec.routeCode, rec.cycle))!;
  }
  if (['loaded', 'uploaded', 'committed'].includes(route.state)) {
    if (!rec.reload) {
      const where = route.device_id ? ` on ${route.device_id}` : '';
      throw new ConflictError(
        'ROUTE_ALREADY_LOADED',
        `route ${rec.routeCode} (${rec.cycle}) is ${route.state}${where} since ${route.loaded_at}; re-load it with ` +
          `a reason to replace it`,
        { record: rec.routeCode, field: 'state' },
      );
    }
    if (!rec.reason) throw new ConflictError('REASON_REQUIRED', 'a re-load needs a reason', { field: 'reason' });
    route = await applyRouteEvent(trx, route, 'reset', { actor: rec.actor, now: rec.now, reason: rec.reason });
  }
  if (route.state === 'no_meters')
    route = await applyRouteEvent(trx, route, 'prepare', { actor: rec.actor, now: rec.now });
  await trx('route_lines').where({ route_id: route.id }).del();
  await insertMany(
    trx,
    'route_lines',
    rec.lines.map((l) => ({
      route_id: route.id,
      sequence: l.sequence,
      account: l.account,
      meter_id: l.meterId,
      register: l.register,
      meter_type: l.meterType,
      dials: l.dials,
      prev_read: l.prevRead,
      low_limit: l.lowLimit,
      high_limit: l.highLimit,
      ert_id: l.ertId,
      expected_units: l.expectedUnits,
    })),
  );
  await trx('routes').where({ id: route.id }).update({
    records: rec.lines.length,
    layout: rec.layout,
    file_sha256: rec.sha256,
    file_bytes: rec.bytes,
    scheduled_read_date: rec.scheduledReadDate,
  });
  return applyRouteEvent(trx, route, 'load', {
    actor: rec.actor,
    now: rec.now,
    reason: rec.reason,
    deviceId: rec.deviceId,
  });
}

/** Routes that hold any of these meters, most recently loaded first (to find a readings file's route). */
export async function routesHoldingMeters(
  db: Db,
  meterIds: readonly string[],
): Promise<{ route_id: number; hits: number }[]> {
  if (meterIds.length === 0) return [];
  return (await db('route_lines')
    .join('routes', 'routes.id', 'route_lines.route_id')
    .select('route_lines.route_id')
    .count({ hits: '*' })
    .whereIn('route_lines.meter_id', meterIds as string[])
    .groupBy('route_lines.route_id', 'routes.loaded_at')
    .orderBy([
      { column: 'hits', order: 'desc' },
      { column: 'routes.loaded_at', order: 'desc' },
    ])) as { route_id: number; hits: number }[];
}

/** The routes recorded as committed on a device (their readings are stored; a CLEAR is due). */
export async function committedRoutesOn(db: Db, deviceId: string): Promise<RouteRow[]> {
  return (await db('routes').where({ device_id: deviceId, state: 'committed' })) as RouteRow[];
}

/** The cycle a route id belongs to. */
export async function cycleOfRoute(db: Db, routeId: number): Promise<string | null> {
  const row = await db('routes').select('cycle').where({ id: routeId }).first();
  return row?.cycle ?? null;
}

/** A meter's line on a route: by sequence or register when given, else its first. */
export async function routeLineRow(
  db: Db,
  routeId: number,
  meterId: string,
  by: { sequence?: number; register?: number } = {},
): Promise<RouteLinesRow | undefined> {
  const q = db('route_lines').where({ route_id: routeId, meter_id: meterId });
  if (by.sequence !== undefined) q.where({ sequence: by.sequence });
  if (by.register !== undefined) q.where({ register: by.register });
  return q.first();
}

/** Route states in which a device holds its route (may send its readings). */
const HELD_STATES: RouteState[] = ['loaded', 'uploaded', 'committed'];

/** The routes a device holds, by code. */
export async function routesHeldBy(db: Db, deviceId: string): Promise<RouteRow[]> {
  return db<RouteRow>('routes').where({ device_id: deviceId }).whereIn('state', HELD_STATES).orderBy('route_code');
}

/** The newest cycle of a route the device holds. */
export async function routeHeldBy(db: Db, deviceId: string, routeCode: string): Promise<RouteRow | undefined> {
  return db<RouteRow>('routes')
    .where({ device_id: deviceId, route_code: routeCode })
    .whereIn('state', HELD_STATES)
    .orderBy('cycle', 'desc')
    .first();
}
