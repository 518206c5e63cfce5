import { ts, type Migration } from './migration.js';

/**
 * AMI interval data. Intervals are keyed by (meter, channel, start) with the start in UTC epoch
 * seconds, so a DST day is just 92 or 100 rows and never a gap or a double. A file is one
 * import batch (import_batches, with a state so an interrupted import is resumed, not duplicated).
 */
const migration: Migration = {
  name: '004_ami',
  async up(db) {
    await db.schema.alterTable('import_batches', (t) => {
      t.string('state', 10).notNullable().defaultTo('done');
    });
    const dialect = String(db.client.config.client);
    // SQLite: WITHOUT ROWID keeps the rows in key order, one b-tree instead of a table plus an index.
    const suffix = dialect.includes('sqlite') ? ' WITHOUT ROWID' : '';
    const real = dialect === 'mssql' ? 'float' : 'double precision';
    await db.raw(
      `CREATE TABLE ami_intervals (meter_id varchar(12) NOT NULL, channel smallint NOT NULL, start_at bigint NOT ` +
        `NULL, ` +
        `seconds integer NOT NULL, value ${real} NOT NULL, quality char(1) NOT NULL, flags varchar(60), batch_id ` +
        `integer NOT NULL, ` +
        `PRIMARY KEY (meter_id, channel, start_at))${suffix}`,
    );
    await db.schema.createTable('ami_register_reads', (t) => {
      t.string('meter_id', 12).notNullable();
      t.smallint('channel').notNullable();
      t.bigInteger('read_at').notNullable();
      t.double('value').notNullable();
      t.string('source', 20).notNullable();
      t.integer('batch_id');
      t.primary(['meter_id', 'channel', 'read_at']);
    });
    await db.schema.createTable('ami_daily_reads', (t) => {
      t.string('meter_id', 12).notNullable();
      t.smallint('channel').notNullable();
      t.string('read_date', 10).notNullable();
      t.double('value').notNullable();
      t.double('consumption').notNullable();
      t.string('read_type', 1).notNullable();
      t.string('flags', 100);
      t.integer('intervals').notNullable();
      t.integer('estimated').notNullable();
      ts(t, 'derived_at').notNullable();
      t.primary(['meter_id', 'channel', 'read_date']);
    });
    await db.schema.createTable('ami_cursors', (t) => {
      t.string('name', 80).primary();
      t.text('cursor');
      ts(t, 'updated_at').notNullable();
    });
  },
  async down(db) {
    for (const table of ['ami_cursors', 'ami_daily_reads', 'ami_register_reads', 'ami_intervals'])
      await db.schema.dropTableIfExists(table);
    await db.schema.alterTable('import_batches', (t) => {
      t.dropColumn('state');
    });
  },
};

export default migration;
