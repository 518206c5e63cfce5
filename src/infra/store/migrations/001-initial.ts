import { ts, type Migration } from './migration.js';

const migration: Migration = {
  name: '001_initial',
  async up(db) {
    await db.schema.createTable('devices', (t) => {
      t.string('device_id', 32).primary();
      t.string('model', 40);
      t.string('firmware', 40);
      t.boolean('approved').notNullable().defaultTo(false);
      t.integer('battery');
      ts(t, 'last_seen_at');
      ts(t, 'created_at').notNullable();
    });
    await db.schema.createTable('routes', (t) => {
      t.increments('id');
      t.string('route_code', 20).notNullable();
      t.string('cycle', 10).notNullable();
      t.string('state', 12).notNullable();
      t.string('device_id', 32);
      t.integer('records').notNullable().defaultTo(0);
      t.string('layout', 40);
      t.string('file_sha256', 64);
      t.integer('file_bytes');
      ts(t, 'scheduled_read_date');
      ts(t, 'loaded_at');
      ts(t, 'uploaded_at');
      ts(t, 'committed_at');
      ts(t, 'cleared_at');
      ts(t, 'updated_at').notNullable();
      t.unique(['route_code', 'cycle']);
    });
    await db.schema.createTable('route_events', (t) => {
      t.increments('id');
      t.integer('route_id').notNullable().references('routes.id');
      t.string('event', 12).notNullable();
      t.string('from_state', 12);
      t.string('to_state', 12).notNullable();
      t.string('actor', 64).notNullable();
      t.string('device_id', 32);
      t.string('reason', 500);
      ts(t, 'at').notNullable();
      t.index(['route_id']);
    });
    await db.schema.createTable('route_lines', (t) => {
      t.increments('id');
      t.integer('route_id').notNullable().references('routes.id');
      t.integer('sequence').notNullable();
      t.string('account', 15).notNullable();
      t.string('meter_id', 12).notNullable();
      t.integer('register').notNullable();
      t.string('meter_type', 1).notNullable();
      t.integer('dials').notNullable();
      t.bigInteger('prev_read').notNullable();
      t.bigInteger('low_limit').notNullable();
      t.bigInteger('high_limit').notNullable();
      t.string('ert_id', 10);
      t.unique(['route_id', 'meter_id', 'register']);
    });
    await db.schema.createTable('import_batches', (t) => {
      t.increments('id');
      t.string('source', 20).notNullable();
      t.string('idempotency_key', 100).notNullable().unique();
      t.string('file_name', 255);
      t.string('sha256', 64).notNullable();
      t.integer('route_id').references('routes.id');
      t.string('layout', 40);
      t.string('actor', 64);
      t.integer('lines').notNullable();
      t.integer('stored').notNullable();
      t.integer('rejected').notNullable();
      t.integer('held').notNullable();
      t.integer('skipped').notNullable();
      ts(t, 'created_at').notNullable();
    });
    await db.schema.createTable('readings', (t) => {
      t.bigIncrements('id');
      t.integer('batch_id').notNullable().references('import_batches.id');
      t.integer('route_id').references('routes.id');
      t.integer('line_no').notNullable();
      t.integer('sequence');
      t.string('account', 15).notNullable();
      t.string('meter_id', 12).notNullable();
      t.integer('register').notNullable();
      t.bigInteger('reading');
      ts(t, 'read_at');
      t.string('method', 1);
      t.string('read_code', 2);
      t.string('skip_code', 4);
      t.string('trouble_code', 4);
      t.string('reader_id', 8);
      t.boolean('rekeyed').notNullable().defaultTo(false);
      t.double('lat');
      t.double('lon');
      t.string('note', 40);
      t.bigInteger('consumption');
      t.boolean('rollover').notNullable().defaultTo(false);
      t.string('status', 10).notNullable();
      t.string('read_key', 80).notNullable().unique();
      ts(t, 'created_at').notNullable();
      t.index(['route_id', 'status']);
      t.index(['meter_id', 'register']);
    });
    await db.schema.createTable('exceptions', (t) => {
      t.bigIncrements('id');
      t.string('source', 20).notNullable();
      t.integer('batch_id').references('import_batches.id');
      t.integer('route_id').references('routes.id');
      t.string('read_key', 80);
      t.integer('line_no');
      t.string('meter_id', 12);
      t.string('kind', 30).notNullable();
      t.string('severity', 8).notNullable();
      t.string('field', 40);
      t.string('value', 100);
      t.string('message', 500).notNullable();
      t.text('raw');
      t.string('status', 10).notNullable().defaultTo('open');
      t.string('resolution', 500);
      t.string('resolved_by', 64);
      ts(t, 'resolved_at');
      ts(t, 'created_at').notNullable();
      t.index(['status', 'kind']);
      t.index(['route_id']);
      t.index(['batch_id']);
    });
    await db.schema.createTable('outbox', (t) => {
      t.bigIncrements('id');
      t.string('kind', 30).notNullable();
      t.string('key', 100).notNullable();
      t.text('payload').notNullable();
      t.string('status', 10).notNullable().defaultTo('pending');
      t.integer('attempts').notNullable().defaultTo(0);
      t.string('last_error', 1000);
      ts(t, 'created_at').notNullable();
      t.unique(['kind', 'key']);
      t.index(['kind', 'status', 'id']);
    });
    // What left the outbox, when, and in which billing batch: narrow, so marking a batch sent is a
    // cheap insert plus a delete from the queue rather than a rewrite of every wide queue row.
    await db.schema.createTable('outbox_sent', (t) => {
      t.bigInteger('id').primary();
      t.string('kind', 30).notNullable();
      t.string('key', 100).notNullable();
      t.string('ref', 64);
      ts(t, 'sent_at').notNullable();
      t.index(['kind', 'key']);
    });
    await db.schema.createTable('posted_batches', (t) => {
      t.string('batch_id', 64).primary();
      t.string('kind', 30).notNullable();
      t.integer('row_count').notNullable();
      t.string('checksum', 64).notNullable();
      t.integer('job_run_id');
      ts(t, 'posted_at').notNullable();
    });
    await db.schema.createTable('job_runs', (t) => {
      t.increments('id');
      t.string('job', 60).notNullable();
      t.string('trigger', 12).notNullable();
      t.string('holder', 120).notNullable();
      t.string('status', 12).notNullable();
      ts(t, 'started_at').notNullable();
      ts(t, 'finished_at');
      t.text('counts');
      t.text('error');
      t.index(['job', 'id']);
    });
    await db.schema.createTable('job_leases', (t) => {
      t.string('job', 60).primary();
      t.string('holder', 120).notNullable();
      t.integer('run_id');
      ts(t, 'acquired_at').notNullable();
      ts(t, 'expires_at').notNullable();
    });
    await db.schema.createTable('api_tokens', (t) => {
      t.increments('id');
      t.string('name', 64).notNullable().unique();
      t.string('role', 12).notNullable();
      t.string('token_hash', 64).notNullable().unique();
      ts(t, 'created_at').notNullable();
      ts(t, 'last_used_at');
      ts(t, 'revoked_at');
    });
  },
  async down(db) {
    for (const table of [
      'api_tokens',
      'job_leases',
      'job_runs',
      'posted_batches',
      'outbox_sent',
      'outbox',
      'exceptions',
      'readings',
      'import_batches',
      'route_lines',
      'route_events',
      'routes',
      'devices',
    ]) {
      await db.schema.dropTableIfExists(table);
    }
  },
};

export default migration;
