import { ts, type Migration } from './migration.js';

/** Disconnect notices: one open notice per account, from the notice to paid, arranged, cut or reconnected. */
const migration: Migration = {
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

export default migration;
