import { ts, type Migration } from './migration.js';

/**
 * Work orders and each step of them (who, when, from where). `version` goes up by one with every
 * change: an update names the version it saw, so a stale one is refused, never applied.
 */
const migration: Migration = {
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

export default migration;
