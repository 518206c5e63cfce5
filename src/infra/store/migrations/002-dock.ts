import { ts, type Migration } from './migration.js';

/**
 * CSR work queued for a hand-held until it docks: load a route on it, or take a route off it.
 * A command is done when the device confirmed it (LOAD_OK, CLEARED), failed with the device's
 * or gateway's reason, or cancelled by a CSR. The file of a load is kept under the data dir by
 * command id, so an interrupted load resumes on the very same bytes.
 */
const migration: Migration = {
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

export default migration;
