import type { Knex } from 'knex';
import { insertMany } from '../db/sql-utils.js';
import type { AmiDailyReadsRow, AmiRegisterReadsInsert } from './tables.js';
import type { Interval } from '../../core/vee/types.js';
import { dialectOf } from '../db/connect.js';

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

/**
 * A register's intervals summed per day, the days given by their first instants (epoch seconds,
 * ascending; the last is the end of the last day): one row per day with intervals, by day index.
 * Null where the store cannot sum in SQL (the caller sums the intervals itself). On PostgreSQL a
 * year comes back as 365 rows, not 35,040: each interval finds its day by binary search
 * (width_bucket), with no time-zone arithmetic per row.
 */
export async function registerDayTotals(
  db: Knex,
  meterId: string,
  channel: number,
  dayStarts: readonly number[],
): Promise<{ day: number; total: number; intervals: number; estimated: number; seconds: number }[] | null> {
  if (dialectOf(db) !== 'postgres' || dayStarts.length < 2) return null;
  const r = await db.raw(
    `SELECT width_bucket(start_at, ?::bigint[]) - 1 AS day, sum(value) AS total, count(*)::int AS intervals, ` +
      `(count(*) FILTER (WHERE quality = 'E'))::int AS estimated, min(seconds) AS seconds FROM ami_intervals ` +
      `WHERE meter_id = ? AND channel = ? AND start_at >= ? AND start_at < ? GROUP BY 1`,
    [`{${dayStarts.join(',')}}`, meterId, channel, dayStarts[0]!, dayStarts[dayStarts.length - 1]!],
  );
  return (r.rows as Record<string, unknown>[])
    .map((x) => ({
      day: Number(x.day),
      total: Number(x.total),
      intervals: Number(x.intervals),
      estimated: Number(x.estimated),
      seconds: Number(x.seconds),
    }))
    .sort((a, b) => a.day - b.day);
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
  await insertMany(trx, 'ami_daily_reads', rows, {
    onConflict: {
      columns: ['meter_id', 'channel', 'read_date'],
      update:
        'value = excluded.value, consumption = excluded.consumption, read_type = excluded.read_type, ' +
        'flags = excluded.flags, intervals = excluded.intervals, estimated = excluded.estimated, ' +
        'derived_at = excluded.derived_at',
    },
  });
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

/** One register's derived days from `from` to `to` inclusive (YYYY-MM-DD): its day's use and interval counts. */
export async function registerDerivedDays(
  db: Knex,
  meterId: string,
  channel: number,
  from: string,
  to: string,
): Promise<Map<string, { consumption: number; intervals: number; estimated: number }>> {
  const rows = (await db('ami_daily_reads')
    .select('read_date', 'consumption', 'intervals', 'estimated')
    .where({ meter_id: meterId, channel })
    .andWhere('read_date', '>=', from)
    .andWhere('read_date', '<=', to)) as {
    read_date: string;
    consumption: number;
    intervals: number;
    estimated: number;
  }[];
  return new Map(
    rows.map((r) => [
      r.read_date,
      { consumption: Number(r.consumption), intervals: Number(r.intervals), estimated: Number(r.estimated) },
    ]),
  );
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

/** Notes when meters were heard (epoch seconds of their first and last data in a batch); a meter heard again is no longer silent. */
export async function noteMetersHeard(
  db: Knex,
  heard: readonly { meterId: string; source: string; firstAt: number; lastAt: number }[],
): Promise<void> {
  await insertMany(
    db,
    'ami_meters_heard',
    heard.map((h) => ({
      meter_id: h.meterId,
      source: h.source,
      first_at: h.firstAt,
      last_at: h.lastAt,
      silent_noted_at: null,
    })),
    {
      onConflict: {
        columns: ['meter_id'],
        // All four from the row as it was: a later hearing moves the last time (and its source) on.
        update:
          'first_at = CASE WHEN excluded.first_at < ami_meters_heard.first_at THEN excluded.first_at ' +
          'ELSE ami_meters_heard.first_at END, ' +
          'source = CASE WHEN excluded.last_at >= ami_meters_heard.last_at THEN excluded.source ' +
          'ELSE ami_meters_heard.source END, ' +
          'silent_noted_at = CASE WHEN excluded.last_at > ami_meters_heard.last_at THEN NULL ' +
          'ELSE ami_meters_heard.silent_noted_at END, ' +
          'last_at = CASE WHEN excluded.last_at > ami_meters_heard.last_at THEN excluded.last_at ' +
          'ELSE ami_meters_heard.last_at END',
      },
    },
  );
}

/**
 * Meters that reported over more than a day and have not been heard since `before` (epoch
 * seconds), not yet noted as silent: a page of them, oldest silence first.
 */
export async function silentMetersToNote(
  db: Knex,
  before: number,
  limit: number,
): Promise<{ meter_id: string; source: string; first_at: number; last_at: number }[]> {
  return db('ami_meters_heard')
    .select('meter_id', 'source', 'first_at', 'last_at')
    .where('last_at', '<', before)
    .whereNull('silent_noted_at')
    .andWhereRaw('last_at - first_at > 86400')
    .orderBy('last_at')
    .limit(limit);
}

export async function markSilentNoted(
  db: Knex | Knex.Transaction,
  meterIds: readonly string[],
  at: string,
): Promise<void> {
  for (let i = 0; i < meterIds.length; i += 500)
    await db('ami_meters_heard')
      .whereIn('meter_id', meterIds.slice(i, i + 500))
      .update({ silent_noted_at: at });
}

/** Meters silent since `before`, by the source that last heard them (the /metrics gauge). */
export async function silentMeterCounts(db: Knex, before: number): Promise<{ source: string; n: number }[]> {
  const rows = (await db('ami_meters_heard')
    .select('source')
    .count({ n: '*' })
    .where('last_at', '<', before)
    .andWhereRaw('last_at - first_at > 86400')
    .groupBy('source')) as { source: string; n: number | string }[];
  return rows.map((r) => ({ source: r.source, n: Number(r.n) }));
}
