/**
 * Writes intervals to `ami_intervals` in large transactions, by the fastest path each store has:
 * SQLite through one prepared statement on the driver, PostgreSQL through COPY into a
 * temporary table and one INSERT … SELECT. Either way the key (meter, channel, start) makes a
 * second delivery harmless: an actual reading replaces an estimate, nothing else is overwritten.
 */

import type { Knex } from 'knex';
import { from as copyFrom } from 'pg-copy-streams';
import type pg from 'pg';
import type BetterSqlite3 from 'better-sqlite3';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { dialectOf } from '../db/connect.js';
import { ensureMonths, monthsBetween } from './interval-partitions.js';
import type { Interval } from '../../core/vee/types.js';

export interface IntervalWriter {
  add(meterId: string, channel: number, intervals: readonly Interval[], batchId: number): void;
  /** Rows waiting; the caller flushes when it wants a commit. */
  readonly pending: number;
  /** The runs waiting, as added (a flush hands them to the store; they are not copied). */
  pendingRuns(): readonly IntervalRun[];
  /** Commits what is waiting; returns rows inserted or changed. */
  flush(): Promise<number>;
}

/** A run of one register's intervals: held as given, not copied into a row per interval. */
export interface IntervalRun {
  meterId: string;
  channel: number;
  intervals: readonly Interval[];
  batchId: number;
}

const UPSERT_TAIL =
  'ON CONFLICT (meter_id, channel, start_at) DO UPDATE SET seconds = excluded.seconds, value = excluded.value, ' +
  'quality = excluded.quality, flags = excluded.flags, batch_id = excluded.batch_id WHERE ami_intervals.quality = ' +
  "'E' AND excluded.quality = 'A'";

export function intervalWriter(db: Knex): IntervalWriter {
  return dialectOf(db) === 'postgres' ? new PostgresWriter(db) : new SqliteWriter(db);
}

abstract class BufferedWriter implements IntervalWriter {
  protected runs: IntervalRun[] = [];
  private count = 0;
  constructor(protected readonly db: Knex) {}
  get pending(): number {
    return this.count;
  }
  pendingRuns(): readonly IntervalRun[] {
    return this.runs;
  }
  add(meterId: string, channel: number, intervals: readonly Interval[], batchId: number): void {
    this.runs.push({ meterId, channel, intervals, batchId });
    this.count += intervals.length;
  }
  async flush(): Promise<number> {
    if (this.count === 0) return 0;
    const rows = this.runs;
    this.runs = [];
    this.count = 0;
    // knex's pool hands out the driver's connection; it goes back as soon as the commit is done
    // (SQLite has one connection, which the rest of the import needs too).
    const conn = (await this.db.client.acquireConnection()) as unknown;
    try {
      return await this.write(conn, rows);
    } finally {
      await this.db.client.releaseConnection(conn);
    }
  }
  protected abstract write(conn: unknown, runs: IntervalRun[]): Promise<number>;
}

/** Rows per SQLite statement: one call into the driver per 64 rows instead of per row. */
const SQLITE_ROWS = 64;

class SqliteWriter extends BufferedWriter {
  private readonly statements = new WeakMap<object, (runs: IntervalRun[]) => number>();

  protected async write(conn: unknown, runs: IntervalRun[]): Promise<number> {
    const sqlite = conn as BetterSqlite3.Database;
    let run = this.statements.get(sqlite);
    if (!run) {
      const insert = (rows: number) =>
        sqlite.prepare(
          `INSERT INTO ami_intervals (meter_id, channel, start_at, seconds, value, quality, flags, batch_id) VALUES ` +
            `${Array(rows).fill('(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} ${UPSERT_TAIL}`,
        );
      const many = insert(SQLITE_ROWS);
      const one = insert(1);
      run = sqlite.transaction((batch: IntervalRun[]) => {
        let changed = 0;
        const params: unknown[] = [];
        for (const r of batch) {
          for (const iv of r.intervals) {
            params.push(r.meterId, r.channel, iv.startAt, iv.seconds, iv.value, iv.quality, iv.flags, r.batchId);
            if (params.length === SQLITE_ROWS * 8) {
              changed += many.run(params).changes;
              params.length = 0;
            }
          }
        }
        for (let i = 0; i < params.length; i += 8) changed += one.run(params.slice(i, i + 8)).changes;
        return changed;
      });
      this.statements.set(sqlite, run);
    }
    return run(runs);
  }
}

/** Month partitions this process has made or seen (interval-partitions.ts). */
const knownMonths = new Set<string>();

class PostgresWriter extends BufferedWriter {
  protected async write(conn: unknown, runs: IntervalRun[]): Promise<number> {
    const client = conn as pg.Client;
    // The months the intervals fall in, made before the import's transaction (a partition's
    // creation locks the table for a moment; it must not wait for a long commit).
    const months = () => ensureMonths((sql) => client.query(sql), monthsOf(runs), knownMonths);
    await months();
    try {
      return await this.writeOnce(client, runs);
    } catch (err) {
      // A month dropped by retention since this process saw it: made again, and the write repeated.
      if ((err as { code?: string }).code !== '23514') throw err;
      knownMonths.clear();
      await months();
      return this.writeOnce(client, runs);
    }
  }

  private async writeOnce(client: pg.Client, runs: IntervalRun[]): Promise<number> {
    await client.query('BEGIN');
    try {
      // Safe to commit lazily: the import batch is marked done by a normal commit after the last
      // write, which flushes these with it; a crash before that resumes the whole file.
      await client.query('SET LOCAL synchronous_commit = off');
      // New intervals (the usual case) go straight in by COPY; if any is already stored, the
      // savepoint undoes that and the rows take the upsert path through a temporary table.
      await client.query('SAVEPOINT direct');
      let changed: number;
      try {
        await pipeline(Readable.from(copyText(runs)), client.query(copyFrom('COPY ami_intervals FROM STDIN')));
        changed = rowsIn(runs);
      } catch (err) {
        if ((err as { code?: string }).code !== '23505') throw err;
        await client.query('ROLLBACK TO SAVEPOINT direct');
        await client.query(
          'CREATE TEMP TABLE IF NOT EXISTS ami_intervals_in (LIKE ami_intervals) ON COMMIT DELETE ROWS',
        );
        await pipeline(Readable.from(copyText(runs)), client.query(copyFrom('COPY ami_intervals_in FROM STDIN')));
        changed =
          (await client.query(`INSERT INTO ami_intervals SELECT * FROM ami_intervals_in ${UPSERT_TAIL}`)).rowCount ?? 0;
      }
      await client.query('COMMIT');
      return changed;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}

function monthsOf(runs: readonly IntervalRun[]) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of runs)
    for (const iv of r.intervals) {
      if (iv.startAt < lo) lo = iv.startAt;
      if (iv.startAt > hi) hi = iv.startAt;
    }
  return lo === Infinity ? [] : monthsBetween(lo, hi);
}

function rowsIn(runs: readonly IntervalRun[]): number {
  let n = 0;
  for (const r of runs) n += r.intervals.length;
  return n;
}

/** COPY text format, in chunks of a few thousand rows so the stream is not one string per row. */
function* copyText(runs: IntervalRun[]): Generator<string> {
  let out = '';
  for (const r of runs) {
    const head = `${r.meterId}\t${r.channel}\t`;
    const tail = `\t${r.batchId}\n`;
    for (const iv of r.intervals) {
      out += `${head}${iv.startAt}\t${iv.seconds}\t${iv.value}\t${iv.quality}\t${iv.flags ?? '\\N'}${tail}`;
      if (out.length > 256_000) {
        yield out;
        out = '';
      }
    }
  }
  if (out) yield out;
}
