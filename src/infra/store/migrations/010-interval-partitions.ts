import { METER_ID_MAX } from '../../../core/meter-id.js';
import { createMonthSql, monthOf, monthsBetween } from '../interval-partitions.js';
import type { Migration } from './migration.js';

/**
 * PostgreSQL: `ami_intervals` partitioned by month of `start_at`, so a year of intervals for a
 * million meters (35 billion rows) stays as fast to query for one meter's month as a small table,
 * and retention drops whole months. Intervals stored before are moved into their months. SQLite
 * and SQL Server keep one table.
 */
/** The intervals table as migrations 004 and 008 left it (meter ids of 64). */
const CREATE_INTERVALS =
  `CREATE TABLE ami_intervals (meter_id varchar(${METER_ID_MAX}) NOT NULL, channel smallint NOT NULL, ` +
  'start_at bigint NOT NULL, seconds integer NOT NULL, value double precision NOT NULL, quality char(1) NOT NULL, ' +
  'flags varchar(60), batch_id integer NOT NULL, PRIMARY KEY (meter_id, channel, start_at))';

const migration: Migration = {
  name: '010_interval_partitions',
  async up(db) {
    if (!String(db.client.config.client).includes('pg')) return;
    await db.raw('ALTER TABLE ami_intervals RENAME TO ami_intervals_unpartitioned');
    await db.raw(
      'ALTER TABLE ami_intervals_unpartitioned RENAME CONSTRAINT ami_intervals_pkey TO ami_intervals_unpartitioned_pkey',
    );
    await db.raw(`${CREATE_INTERVALS} PARTITION BY RANGE (start_at)`);
    const span = (await db('ami_intervals_unpartitioned').min({ lo: 'start_at' }).max({ hi: 'start_at' }).first()) as {
      lo: string | null;
      hi: string | null;
    };
    const now = Math.floor(Date.now() / 1000);
    const months =
      span.lo === null ? [monthOf(now)] : monthsBetween(Math.min(Number(span.lo), now), Math.max(Number(span.hi), now));
    for (const m of months) await db.raw(createMonthSql(m));
    await db.raw('INSERT INTO ami_intervals SELECT * FROM ami_intervals_unpartitioned');
    await db.raw('DROP TABLE ami_intervals_unpartitioned');
  },
  async down(db) {
    if (!String(db.client.config.client).includes('pg')) return;
    await db.raw('ALTER TABLE ami_intervals RENAME TO ami_intervals_partitioned');
    await db.raw(CREATE_INTERVALS);
    await db.raw('INSERT INTO ami_intervals SELECT * FROM ami_intervals_partitioned');
    await db.raw('DROP TABLE ami_intervals_partitioned CASCADE');
  },
};

export default migration;
