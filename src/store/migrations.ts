import type { Knex } from 'knex';

/**
 * The gateway store's schema. Migrations are code in a list (not files found at run time) so
 * they run the same from src/ under vitest and from dist/. Instants are ISO-8601 UTC strings:
 * portable across SQLite, PostgreSQL and SQL Server, and they sort.
 */
interface Migration {
  name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

const ts = (t: Knex.CreateTableBuilder, name: string) => t.string(name, 30);

const initial: Migration = {
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
      'api_tokens', 'job_leases', 'job_runs', 'posted_batches', 'outbox_sent', 'outbox', 'exceptions', 'readings',
      'import_batches', 'route_lines', 'route_events', 'routes', 'devices',
    ]) {
      await db.schema.dropTableIfExists(table);
    }
  },
};

/**
 * CSR work queued for a hand-held until it docks: load a route on it, or take a route off it.
 * A command is done when the device confirmed it (LOAD_OK, CLEARED), failed with the device's
 * or gateway's reason, or cancelled by a CSR. The file of a load is kept under the data dir by
 * command id, so an interrupted load resumes on the very same bytes.
 */
const dock: Migration = {
  name: '002_dock',
  async up(db) {
    await db.schema.createTable('dock_commands', (t) => {
      t.increments('id');
      t.string('device_id', 32).notNullable();
      t.string('route_code', 20).notNullable();
      t.string('command', 8).notNullable();
      t.string('status', 10).notNullable();
      t.string('actor', 64).notNullable();
      t.string('reason', 500);
      t.string('detail', 1000);
      t.string('file_sha256', 64);
      ts(t, 'created_at').notNullable();
      ts(t, 'done_at');
      t.index(['device_id', 'status']);
      t.index(['route_code', 'status']);
    });
  },
  async down(db) {
    await db.schema.dropTableIfExists('dock_commands');
  },
};

/**
 * Who may connect to the embedded MQTT broker: field devices (each only under its own topics),
 * CSR and admin accounts. Secrets are stored as scrypt hashes with their salt.
 */
const mqtt: Migration = {
  name: '003_mqtt',
  async up(db) {
    await db.schema.createTable('mqtt_accounts', (t) => {
      t.string('username', 64).primary();
      t.string('role', 12).notNullable();
      t.string('secret_hash', 200).notNullable();
      ts(t, 'created_at').notNullable();
      ts(t, 'revoked_at');
    });
    await db.schema.alterTable('devices', (t) => {
      t.boolean('online');
      t.string('app_version', 40);
    });
    // Several gateways share one outbox: a sender claims rows first, so each goes out once.
    await db.schema.alterTable('outbox', (t) => {
      t.string('claimed_by', 120);
      ts(t, 'claimed_at');
    });
  },
  async down(db) {
    await db.schema.alterTable('outbox', (t) => {
      t.dropColumn('claimed_by');
      t.dropColumn('claimed_at');
    });
    await db.schema.alterTable('devices', (t) => {
      t.dropColumn('online');
      t.dropColumn('app_version');
    });
    await db.schema.dropTableIfExists('mqtt_accounts');
  },
};

/**
 * AMI interval data. Intervals are keyed by (meter, channel, start) with the start in UTC epoch
 * seconds, so a DST day is just 92 or 100 rows and never a gap or a double. A file is one
 * import batch (import_batches, with a state so an interrupted import is resumed, not duplicated).
 */
const ami: Migration = {
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
      `CREATE TABLE ami_intervals (meter_id varchar(12) NOT NULL, channel smallint NOT NULL, start_at bigint NOT NULL, ` +
        `seconds integer NOT NULL, value ${real} NOT NULL, quality char(1) NOT NULL, flags varchar(60), batch_id integer NOT NULL, ` +
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
    for (const table of ['ami_cursors', 'ami_daily_reads', 'ami_register_reads', 'ami_intervals']) await db.schema.dropTableIfExists(table);
    await db.schema.alterTable('import_batches', (t) => {
      t.dropColumn('state');
    });
  },
};

/**
 * Work orders and each step of them (who, when, from where). `version` goes up by one with every
 * change: an update names the version it saw, so a stale one is refused, never applied.
 */
const workOrders: Migration = {
  name: '005_work_orders',
  async up(db) {
    await db.schema.createTable('work_orders', (t) => {
      t.increments('id');
      t.string('order_no', 20).notNullable().unique();
      t.string('source', 20).notNullable();
      t.string('type', 20).notNullable();
      t.string('state', 12).notNullable();
      t.integer('version').notNullable();
      t.integer('priority').notNullable();
      t.string('account_no', 15);
      t.string('meter_id', 12);
      t.string('area', 20);
      t.string('due_date', 10);
      ts(t, 'window_start');
      ts(t, 'window_end');
      t.string('technician', 64);
      t.string('notes', 500);
      t.text('completion');
      ts(t, 'created_at').notNullable();
      ts(t, 'updated_at').notNullable();
      t.index(['state', 'technician']);
    });
    await db.schema.createTable('work_order_events', (t) => {
      t.bigIncrements('id');
      t.integer('order_id').notNullable().references('work_orders.id');
      t.string('from_state', 12);
      t.string('to_state', 12).notNullable();
      t.integer('version').notNullable();
      t.string('actor', 80).notNullable();
      ts(t, 'at').notNullable();
      ts(t, 'recorded_at').notNullable();
      t.text('detail');
      /** A device's own id for the change, so a change redelivered (QoS 1) is recognised, not refused as stale. */
      t.string('update_id', 64);
      t.index(['order_id']);
      t.unique(['order_id', 'update_id']);
    });
  },
  async down(db) {
    await db.schema.dropTableIfExists('work_order_events');
    await db.schema.dropTableIfExists('work_orders');
  },
};

/** Disconnect notices: one open notice per account, from the notice to paid, arranged, cut or reconnected. */
const notices: Migration = {
  name: '006_disconnect_notices',
  async up(db) {
    await db.schema.createTable('disconnect_notices', (t) => {
      t.increments('id');
      t.string('account_no', 15).notNullable();
      t.string('customer_name', 60);
      t.string('address', 120);
      t.double('balance').notNullable();
      t.string('due_date', 10);
      t.string('notice_date', 10).notNullable();
      t.string('shut_off_date', 10).notNullable();
      t.string('status', 20).notNullable();
      t.string('warning_order_no', 20);
      t.string('cut_order_no', 20);
      t.string('reconnect_order_no', 20);
      ts(t, 'created_at').notNullable();
      ts(t, 'updated_at').notNullable();
      t.index(['account_no', 'status']);
      t.index(['notice_date']);
    });
  },
  async down(db) {
    await db.schema.dropTableIfExists('disconnect_notices');
  },
};

/**
 * The console: people (users with scrypt password hashes), their sessions (only a hash of the
 * cookie is stored), failed logins (the throttle lives in the store so every gateway on it
 * counts the same), the audit log of who changed what, and CSR sign-offs of a cycle's
 * preliminary billing ledger. Readings gain how they were made (actual, estimated, corrected);
 * route lines keep the units expected at export, for estimates.
 */
const consoleSecurity: Migration = {
  name: '007_console_security',
  async up(db) {
    await db.schema.createTable('users', (t) => {
      t.increments('id');
      t.string('username', 64).notNullable().unique();
      t.string('display_name', 100);
      t.string('role', 12).notNullable();
      t.string('password_hash', 200).notNullable();
      ts(t, 'created_at').notNullable();
      ts(t, 'disabled_at');
    });
    await db.schema.createTable('sessions', (t) => {
      t.string('id_hash', 64).primary();
      t.integer('user_id').notNullable().references('users.id');
      t.string('csrf_token', 64).notNullable();
      ts(t, 'created_at').notNullable();
      ts(t, 'expires_at').notNullable();
      t.index(['user_id']);
    });
    await db.schema.createTable('login_failures', (t) => {
      t.bigIncrements('id');
      t.string('username', 64).notNullable();
      t.string('ip', 64).notNullable();
      ts(t, 'at').notNullable();
      t.index(['username', 'at']);
      t.index(['ip', 'at']);
    });
    await db.schema.createTable('audit_log', (t) => {
      t.bigIncrements('id');
      ts(t, 'at').notNullable();
      t.string('actor', 80).notNullable();
      t.string('action', 60).notNullable();
      t.string('target', 120);
      t.text('detail');
      t.index(['target']);
      t.index(['at']);
    });
    await db.schema.createTable('cycle_reviews', (t) => {
      t.increments('id');
      t.string('cycle', 10).notNullable().unique();
      t.string('reviewed_by', 80).notNullable();
      t.string('note', 500);
      t.integer('accounts').notNullable();
      t.double('estimated_total').notNullable();
      ts(t, 'reviewed_at').notNullable();
    });
    // Bumped after every change to what the pre-bill ledger is built from, so a gateway rebuilds a
    // cached ledger only when its inputs changed (here or on another gateway on the same store).
    await db.schema.createTable('change_counters', (t) => {
      t.string('name', 40).primary();
      t.bigInteger('version').notNullable();
    });
    await db('change_counters').insert({ name: 'ledger', version: 0 });
    await db.schema.alterTable('readings', (t) => {
      t.string('read_type', 10).notNullable().defaultTo('actual');
    });
    await db.schema.alterTable('route_lines', (t) => {
      t.bigInteger('expected_units');
    });
    // The exception queue is read newest or oldest first within a status, or a route: walking these
    // indexes in id order answers a page without sorting the whole queue.
    await db.schema.alterTable('exceptions', (t) => {
      t.index(['status', 'id']);
      t.index(['status', 'kind', 'id']);
      t.index(['route_id', 'status', 'id']);
    });
  },
  async down(db) {
    for (const table of ['change_counters', 'cycle_reviews', 'audit_log', 'login_failures', 'sessions', 'users']) await db.schema.dropTableIfExists(table);
    await db.schema.alterTable('readings', (t) => t.dropColumn('read_type'));
    await db.schema.alterTable('route_lines', (t) => t.dropColumn('expected_units'));
  },
};

export const STORE_MIGRATIONS: readonly Migration[] = [initial, dock, mqtt, ami, workOrders, notices, consoleSecurity];

/** A knex migration source over an in-code list (shared by the store and the reference billing DB). */
export function listSource(migrations: readonly Migration[]): Knex.MigrationSource<Migration> {
  return {
    getMigrations: async () => [...migrations],
    getMigrationName: (m) => m.name,
    getMigration: async (m) => ({ up: (db: Knex) => m.up(db), down: (db: Knex) => m.down(db) }),
  };
}

/** Applies the migrations of a list not yet recorded in `tableName`; returns their names. */
export async function runMigrations(db: Knex, migrations: readonly Migration[], tableName: string): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource: listSource(migrations), tableName })) as [number, string[]];
  return applied;
}

export type { Migration };
