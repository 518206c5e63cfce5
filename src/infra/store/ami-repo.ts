import type { Knex } from 'knex';
import type { AmiDailyReadsRow, AmiRegisterReadsInsert } from './tables.js';
import type { Interval } from '../../core/vee/types.js';

/**
 * AMI reads in the store, as the usage API, exports and the head-end pull read them. (The
 * import's own writes are in the flow's interval writer, to be moved here.)
 */
/** A register's stored intervals from `from` to `to` (epoch seconds, end exclusive), in order. */
export async function registerIntervals(
  db: Knex,
  meterId: string,
  channel: number,
  [from, to]: readonly [number, number],
  opts: { actualOnly?: boolean } = {},
): Promise<Interval[]> {
  const q = db('ami_intervals')
    .select('start_at', 'seconds', 'value', 'quality', 'flags')
    .where({ meter_id: meterId, channel })
    .andWhere('start_at', '>=', from)
    .andWhere('start_at', '<', to);
  // VEE's history for a long gap learns from what was read, not from earlier estimates.
  if (opts.actualOnly) q.andWhere('quality', 'A');
  const rows = await q.orderBy('start_at');
  return rows.map((x) => ({
    startAt: Number(x.start_at),
    seconds: x.seconds,
    value: x.value,
    quality: x.quality === 'E' ? 'E' : 'A',
    flags: x.flags,
  }));
}

/** A register's stored actual intervals in [from, to], with the batch that stored each. */
export async function storedActualsWithBatch(
  db: Knex,
  meterId: string,
  channel: number,
  from: number,
  to: number,
): Promise<{ start_at: number; value: number; batch_id: number }[]> {
  return db('ami_intervals')
    .select('start_at', 'value', 'batch_id')
    .where({ meter_id: meterId, channel, quality: 'A' })
    .andWhere('start_at', '>=', from)
    .andWhere('start_at', '<=', to);
}

/** The channels a meter has intervals on. */
export async function meterChannels(db: Knex, meterId: string): Promise<number[]> {
  const rows = await db('ami_intervals').distinct('channel').where({ meter_id: meterId }).orderBy('channel');
  return rows.map((x) => Number(x.channel));
}

/** Where a head-end pull of this kind got to. */
export async function getCursor(db: Knex, name: string): Promise<string | null> {
  const row = await db('ami_cursors').where({ name }).first();
  return row?.cursor ?? null;
}

export async function setCursor(db: Knex, name: string, cursor: string, now: string): Promise<void> {
  await db('ami_cursors').insert({ name, cursor, updated_at: now }).onConflict('name').merge();
}

export type DailyReadRow = AmiDailyReadsRow;

/** Derived daily reads stored, replacing the same meter-day's. */
export async function upsertDailyReads(trx: Knex | Knex.Transaction, rows: readonly DailyReadRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    await trx('ami_daily_reads')
      .insert(rows.slice(i, i + 500))
      .onConflict(['meter_id', 'channel', 'read_date'])
      .merge();
  }
}

/** Derived reads of these meters from `since` to before `until` (YYYY-MM-DD). */
export async function dailyReadsBetween(
  db: Knex,
  meterIds: readonly string[],
  since: string,
  until: string,
): Promise<{ meterId: string; channel: number; date: string; value: number; consumption: number }[]> {
  return (await db('ami_daily_reads')
    .select({ meterId: 'meter_id', channel: 'channel', date: 'read_date', value: 'value', consumption: 'consumption' })
    .whereIn('meter_id', [...meterIds])
    .andWhere('read_date', '>=', since)
    .andWhere('read_date', '<', until)) as {
    meterId: string;
    channel: number;
    date: string;
    value: number;
    consumption: number;
  }[];
}

/** A register's stored register reads from `from` to `to` inclusive (epoch seconds). */
export async function registerReadsBetween(
  db: Knex,
  meterId: string,
  channel: number,
  from: number,
  to: number,
): Promise<{ read_at: number; value: number; batch_id: number | null }[]> {
  return db('ami_register_reads')
    .select('read_at', 'value', 'batch_id')
    .where({ meter_id: meterId, channel })
    .andWhere('read_at', '>=', from)
    .andWhere('read_at', '<=', to)
    .orderBy('read_at');
}

/** Register reads stored; one already there for the meter, channel and time is kept. */
export async function insertRegisterReads(
  db: Knex | Knex.Transaction,
  rows: readonly AmiRegisterReadsInsert[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    await db('ami_register_reads')
      .insert(rows.slice(i, i + 500))
      .onConflict(['meter_id', 'channel', 'read_at'])
      .ignore();
  }
}
