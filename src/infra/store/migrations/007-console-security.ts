import { ts, type Migration } from './migration.js';

/**
 * The console: people (users with scrypt password hashes), their sessions (only a hash of the
 * cookie is stored), failed logins (the throttle lives in the store so every gateway on it
 * counts the same), the audit log of who changed what, and CSR sign-offs of a cycle's
 * preliminary billing ledger. Readings gain how they were made (actual, estimated, corrected);
 * route lines keep the units expected at export, for estimates.
 */
const migration: Migration = {
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
    for (const table of ['change_counters', 'cycle_reviews', 'audit_log', 'login_failures', 'sessions', 'users'])
      await db.schema.dropTableIfExists(table);
    await db.schema.alterTable('readings', (t) => t.dropColumn('read_type'));
    await db.schema.alterTable('route_lines', (t) => t.dropColumn('expected_units'));
  },
};

export default migration;
