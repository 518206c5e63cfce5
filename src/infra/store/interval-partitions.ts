import type { Knex } from 'knex';
import { dialectOf } from '../db/connect.js';

/**
 * On PostgreSQL `ami_intervals` is partitioned by month of `start_at` (UTC epoch seconds), one
 * table `ami_intervals_pYYYYMM` per month (migration 010). A month's usage query touches one
 * partition's index, and retention drops whole months instead of deleting billions of rows.
 * Months are made ahead by the `ami-partitions` job and on demand by the interval writer (a
 * head-end's backfill of two years ago finds its months made). SQLite keeps one table.
 */

/** What runs SQL here: knex's raw, or a driver client's query (the interval writer's connection). */
export type RunSql = (sql: string) => Promise<unknown>;

export interface Month {
  /** `ami_intervals_p202611` */
  table: string;
  /** Epoch seconds of the month's first instant (UTC), and of the next month's. */
  from: number;
  to: number;
}

export function monthOf(epochSeconds: number): Month {
  const d = new Date(epochSeconds * 1000);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  return {
    table: `ami_intervals_p${y}${String(m + 1).padStart(2, '0')}`,
    from: Date.UTC(y, m, 1) / 1000,
    to: Date.UTC(y, m + 1, 1) / 1000,
  };
}

/** The months from the one holding `from` to the one holding `to`, in order. */
export function monthsBetween(from: number, to: number): Month[] {
  const out: Month[] = [];
  for (let m = monthOf(from); m.from <= to; m = monthOf(m.to)) out.push(m);
  return out;
}

/** The PostgreSQL statement that makes a month's partition (nothing when it exists). */
export function createMonthSql(m: Month): string {
  return `CREATE TABLE IF NOT EXISTS ${m.table} PARTITION OF ami_intervals FOR VALUES FROM (${m.from}) TO (${m.to})`;
}

/**
 * Makes the months' partitions that `known` does not hold yet, and remembers them there. Two
 * gateways making one month at once: the loser's "already exists" is the month made.
 */
export async function ensureMonths(run: RunSql, months: readonly Month[], known: Set<string>): Promise<void> {
  for (const m of months) {
    if (known.has(m.table)) continue;
    try {
      await run(createMonthSql(m));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== '42P07' && code !== '23505') throw err;
    }
    known.add(m.table);
  }
}

/** Whether this store partitions its intervals (PostgreSQL after migration 010). */
export async function isPartitioned(db: Knex): Promise<boolean> {
  if (dialectOf(db) !== 'postgres') return false;
  const r = await db.raw(
    "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid WHERE c.relname = 'ami_intervals' " +
      'AND pg_table_is_visible(c.oid)',
  );
  return r.rows.length > 0;
}

/** The month partitions there are, oldest first. */
export async function listMonths(db: Knex): Promise<Month[]> {
  const r = await db.raw(
    "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'ami_intervals' AND pg_table_is_visible(p.oid) ORDER BY c.relname",
  );
  return (r.rows as { name: string }[]).flatMap(({ name }) => {
    const m = /^ami_intervals_p(\d{4})(\d{2})$/.exec(name);
    return m ? [monthOf(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1) / 1000)] : [];
  });
}

/** Drops the month partitions that end on or before `cutoff` (epoch seconds); returns their names. */
export async function dropMonthsBefore(db: Knex, cutoff: number): Promise<string[]> {
  const old = (await listMonths(db)).filter((m) => m.to <= cutoff);
  for (const m of old) await db.raw(`DROP TABLE IF EXISTS ${m.table}`);
  return old.map((m) => m.table);
}

/** One store's retention without partitions (SQLite): intervals before `cutoff` deleted, a slice at a time. */
export async function deleteIntervalsBefore(db: Knex, cutoff: number, slice = 50_000): Promise<number> {
  let deleted = 0;
  for (;;) {
    const n = await db('ami_intervals')
      .whereIn(
        ['meter_id', 'channel', 'start_at'],
        db('ami_intervals').select('meter_id', 'channel', 'start_at').where('start_at', '<', cutoff).limit(slice),
      )
      .delete();
    deleted += n;
    if (n < slice) return deleted;
  }
}
