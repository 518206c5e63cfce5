/** Hand-helds the gateway has seen, and the CSR commands queued for them (migration 002_dock). */

import type { Knex } from 'knex';
import { insertReturningId } from '../db/sql-utils.js';
import type { DevicesRow, DockCommandsRow } from './tables.js';

type Db = Knex | Knex.Transaction;

export interface DeviceRow {
  device_id: string;
  model: string | null;
  firmware: string | null;
  approved: boolean;
  battery: number | null;
  last_seen_at: string | null;
  created_at: string;
}

import type { DockCommandKind, DockCommandStatus } from '../../core/dock-command.js';
export type { DockCommandKind, DockCommandStatus } from '../../core/dock-command.js';
export type DockCommandRow = DockCommandsRow;

const asDevice = (r: DevicesRow): DeviceRow => ({ ...r, approved: Boolean(r.approved) });

/** Records a HELLO: a new device is created unapproved unless `approve` (config approves all). */
export async function recordDeviceSeen(
  db: Db,
  hello: { device: string; model?: string; fw?: string; battery?: number },
  opts: { now: string; approve: boolean },
): Promise<DeviceRow> {
  const seen = {
    model: hello.model ?? null,
    firmware: hello.fw ?? null,
    battery: hello.battery ?? null,
    last_seen_at: opts.now,
  };
  const existing = await db('devices').where({ device_id: hello.device }).first();
  if (existing) {
    await db('devices')
      .where({ device_id: hello.device })
      .update(opts.approve ? { ...seen, approved: true } : seen);
  } else {
    await db('devices').insert({ device_id: hello.device, ...seen, approved: opts.approve, created_at: opts.now });
  }
  return asDevice((await db('devices').where({ device_id: hello.device }).first())!);
}

export async function getDevice(db: Db, deviceId: string): Promise<DeviceRow | undefined> {
  const row = await db('devices').where({ device_id: deviceId }).first();
  return row ? asDevice(row) : undefined;
}

export async function listDevices(db: Db): Promise<DeviceRow[]> {
  return (await db('devices').orderBy('device_id')).map(asDevice);
}

export async function setDeviceApproved(db: Db, deviceId: string, approved: boolean): Promise<number> {
  return db('devices').where({ device_id: deviceId }).update({ approved });
}

export async function createCommand(
  db: Db,
  cmd: { deviceId: string; routeCode: string; command: DockCommandKind; actor: string; reason?: string; now: string },
): Promise<DockCommandRow> {
  const id = await insertReturningId(db, 'dock_commands', {
    device_id: cmd.deviceId,
    route_code: cmd.routeCode,
    command: cmd.command,
    status: 'pending',
    actor: cmd.actor,
    reason: cmd.reason ?? null,
    created_at: cmd.now,
  });
  return (await db<DockCommandRow>('dock_commands').where({ id }).first())!;
}

export async function pendingCommands(
  db: Db,
  where: { deviceId?: string; routeCode?: string; command?: DockCommandKind },
): Promise<DockCommandRow[]> {
  const q = db<DockCommandRow>('dock_commands').where({ status: 'pending' });
  if (where.deviceId) q.where({ device_id: where.deviceId });
  if (where.routeCode) q.where({ route_code: where.routeCode });
  if (where.command) q.where({ command: where.command });
  return q.orderBy('id');
}

export async function finishCommand(
  db: Db,
  id: number,
  status: Exclude<DockCommandStatus, 'pending'>,
  now: string,
  detail?: string,
): Promise<void> {
  await db('dock_commands')
    .where({ id, status: 'pending' })
    .update({ status, done_at: now, detail: detail?.slice(0, 1000) ?? null });
}

export async function noteCommand(db: Db, id: number, patch: { detail?: string; file_sha256?: string }): Promise<void> {
  await db('dock_commands')
    .where({ id })
    .update({ ...patch, detail: patch.detail?.slice(0, 1000) });
}

export async function recentCommands(
  db: Db,
  opts: { deviceId?: string; limit: number; offset?: number },
): Promise<DockCommandRow[]> {
  const q = db<DockCommandRow>('dock_commands')
    .orderBy('id', 'desc')
    .limit(opts.limit)
    .offset(opts.offset ?? 0);
  if (opts.deviceId) q.where({ device_id: opts.deviceId });
  return q;
}

/** Online devices with a route assigned and not yet sent (MQTT offers it without being asked). */
export async function onlineDevicesWithNewLoads(db: Knex): Promise<string[]> {
  const rows = (await db('dock_commands')
    .join('devices', 'devices.device_id', 'dock_commands.device_id')
    .distinct('dock_commands.device_id')
    .where('dock_commands.status', 'pending')
    .andWhere('dock_commands.command', 'load')
    .andWhere('devices.online', true)
    .whereNull('dock_commands.file_sha256')) as { device_id: string }[];
  return rows.map((r) => r.device_id);
}

/** A field device's own report of being online or not, and its app version. */
export async function setDeviceOnline(
  db: Knex,
  deviceId: string,
  online: boolean,
  appVersion: string | null,
): Promise<void> {
  await db('devices').where({ device_id: deviceId }).update({ online, app_version: appVersion });
}
