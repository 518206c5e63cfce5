import type { Knex } from 'knex';
import { METER_ID_MAX } from '../../../core/meter-id.js';
import { ts, type Migration } from './migration.js';

/** Columns that hold a meter id: billing's, or the one an AMI source gives (an ESPI usage point, an NMI). */
const METER_ID_COLUMNS: readonly { table: string; nullable: boolean }[] = [
  { table: 'route_lines', nullable: false },
  { table: 'readings', nullable: false },
  { table: 'exceptions', nullable: true },
  { table: 'work_orders', nullable: true },
  { table: 'ami_intervals', nullable: false },
  { table: 'ami_register_reads', nullable: false },
  { table: 'ami_daily_reads', nullable: false },
];

/**
 * AMI identities. Meter ids up to 64 characters. The first schema took billing's 12, but a CIS may use longer
 * ids, and AMI sources name meters by usage point ids and hrefs that are longer still:
 * PostgreSQL refused them and the import stopped half-way. SQLite does not enforce a varchar
 * length, so only PostgreSQL and SQL Server change. Exceptions gain the key of the VEE finding
 * they report, each AMI meter's first and last data are kept (silent meters), and data of meters
 * billing does not know is parked in suspense until it does, or a CSR claims the name.
 */
const migration: Migration = {
  name: '008_ami_identity',
  async up(db) {
    await resize(db, METER_ID_MAX);
    // A VEE finding's identity on its meter (rule and time): raised once, whichever import sees it again.
    await db.schema.alterTable('exceptions', (t) => {
      t.string('finding_key', 60);
      t.index(['meter_id', 'finding_key']);
    });
    // When each AMI meter was first and last heard, by any source: a meter that goes quiet is seen before billing day.
    await db.schema.createTable('ami_meters_heard', (t) => {
      t.string('meter_id', METER_ID_MAX).primary();
      t.string('source', 20).notNullable();
      t.bigInteger('first_at').notNullable();
      t.bigInteger('last_at').notNullable();
      ts(t, 'silent_noted_at');
      t.index(['last_at']);
    });
    // Data of meters billing does not know yet, kept until it does (or a CSR claims the name for a meter).
    await db.schema.createTable('ami_suspense', (t) => {
      t.string('meter_ref', METER_ID_MAX).notNullable();
      t.smallint('channel').notNullable();
      t.string('kind', 1).notNullable();
      t.bigInteger('at').notNullable();
      t.integer('seconds').notNullable();
      t.double('value').notNullable();
      t.string('quality', 1).notNullable();
      t.string('flags', 60);
      t.string('unit', 16);
      t.double('constant').notNullable();
      t.string('stream', 8);
      t.string('alt_refs', 200);
      t.string('source', 20).notNullable();
      t.integer('batch_id');
      t.string('run_id', 36);
      ts(t, 'parked_at').notNullable();
      t.primary(['meter_ref', 'channel', 'kind', 'at']);
      t.index(['run_id']);
    });
    await db.schema.createTable('ami_claims', (t) => {
      t.string('meter_ref', METER_ID_MAX).primary();
      t.string('meter_id', METER_ID_MAX).notNullable();
      t.string('claimed_by', 64).notNullable();
      ts(t, 'claimed_at').notNullable();
    });
  },
  async down(db) {
    for (const table of ['ami_claims', 'ami_suspense', 'ami_meters_heard']) await db.schema.dropTableIfExists(table);
    await db.schema.alterTable('exceptions', (t) => {
      t.dropIndex(['meter_id', 'finding_key']);
      t.dropColumn('finding_key');
    });
    await resize(db, 12);
  },
};

async function resize(db: Knex, length: number): Promise<void> {
  const dialect = String(db.client.config.client);
  if (dialect.includes('sqlite')) return;
  for (const { table, nullable } of METER_ID_COLUMNS) {
    if (dialect === 'mssql') await resizeOnSqlServer(db, table, length, nullable);
    else await db.raw(`ALTER TABLE ?? ALTER COLUMN meter_id TYPE varchar(${length})`, [table]);
  }
}

/**
 * SQL Server cannot alter a column that an index or key uses: those are dropped, the column
 * altered, and they are made again as they were.
 */
async function resizeOnSqlServer(db: Knex, table: string, length: number, nullable: boolean): Promise<void> {
  const indexes = (await db.raw(
    `SELECT i.name, i.is_primary_key, i.is_unique_constraint, i.is_unique, i.filter_definition,
            STRING_AGG(c.name, ',') WITHIN GROUP (ORDER BY ic.key_ordinal) AS cols
       FROM sys.indexes i
       JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
       JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
      WHERE i.object_id = OBJECT_ID(?) AND i.name IS NOT NULL
        AND EXISTS (SELECT 1 FROM sys.index_columns x JOIN sys.columns y
                      ON y.object_id = x.object_id AND y.column_id = x.column_id
                     WHERE x.object_id = i.object_id AND x.index_id = i.index_id AND y.name = 'meter_id')
      GROUP BY i.name, i.is_primary_key, i.is_unique_constraint, i.is_unique, i.filter_definition`,
    [table],
  )) as SqlServerIndex[];
  for (const ix of indexes) {
    if (ix.is_primary_key || ix.is_unique_constraint)
      await db.raw(`ALTER TABLE ?? DROP CONSTRAINT ??`, [table, ix.name]);
    else await db.raw(`DROP INDEX ?? ON ??`, [ix.name, table]);
  }
  await db.raw(`ALTER TABLE ?? ALTER COLUMN meter_id nvarchar(${length}) ${nullable ? 'NULL' : 'NOT NULL'}`, [table]);
  for (const ix of indexes) {
    const cols = ix.cols.split(',');
    if (ix.is_primary_key)
      await db.raw(`ALTER TABLE ?? ADD CONSTRAINT ?? PRIMARY KEY (${ids(cols)})`, [table, ix.name, ...cols]);
    else if (ix.is_unique_constraint)
      await db.raw(`ALTER TABLE ?? ADD CONSTRAINT ?? UNIQUE (${ids(cols)})`, [table, ix.name, ...cols]);
    else
      await db.raw(
        `CREATE ${ix.is_unique ? 'UNIQUE ' : ''}INDEX ?? ON ?? (${ids(cols)})` +
          (ix.filter_definition ? ` WHERE ${ix.filter_definition}` : ''),
        [ix.name, table, ...cols],
      );
  }
}

interface SqlServerIndex {
  name: string;
  is_primary_key: boolean;
  is_unique_constraint: boolean;
  is_unique: boolean;
  /** A filtered index's WHERE, as SQL Server itself wrote it. */
  filter_definition: string | null;
  cols: string;
}

const ids = (cols: readonly string[]) => cols.map(() => '??').join(', ');

export default migration;
