import { METER_ID_MAX } from '../../../core/meter-id.js';
import { ts, type Migration } from './migration.js';

/**
 * Customers (issue 21). Usage alerts from AMI intervals: one row per condition seen on a
 * register, open until the condition ends, with the CSR exception and work order it opened.
 * The usage portal: customers are users with the role `customer`, linked to the accounts they
 * registered with an invitation code (only a hash of the code is kept), and their alert
 * delivery preferences and what was sent to them.
 */
const migration: Migration = {
  name: '011_customers',
  async up(db) {
    await db.schema.createTable('usage_alerts', (t) => {
      t.increments('id');
      t.string('meter_id', METER_ID_MAX).notNullable();
      t.smallint('channel').notNullable();
      t.string('account_no', 20);
      t.string('rule', 20).notNullable();
      t.bigInteger('since_at').notNullable();
      t.double('measured').notNullable();
      t.string('message', 300).notNullable();
      t.integer('exception_id');
      t.integer('work_order_id');
      ts(t, 'opened_at').notNullable();
      ts(t, 'seen_at').notNullable();
      ts(t, 'cleared_at');
      t.index(['meter_id', 'channel', 'rule']);
      t.index(['account_no']);
    });
    await db.schema.createTable('customer_accounts', (t) => {
      t.integer('user_id').notNullable().references('users.id');
      t.string('account_no', 20).notNullable();
      ts(t, 'linked_at').notNullable();
      t.primary(['user_id', 'account_no']);
      t.index(['account_no']);
    });
    await db.schema.createTable('portal_invites', (t) => {
      t.increments('id');
      t.string('account_no', 20).notNullable();
      t.string('code_hash', 64).notNullable().unique();
      t.string('created_by', 80).notNullable();
      ts(t, 'created_at').notNullable();
      ts(t, 'expires_at').notNullable();
      ts(t, 'used_at');
      t.integer('used_by');
      t.index(['account_no']);
    });
    await db.schema.createTable('alert_preferences', (t) => {
      t.integer('user_id').primary().references('users.id');
      t.string('email', 254);
      t.string('phone', 20);
      t.boolean('by_email').notNullable();
      t.boolean('by_sms').notNullable();
      ts(t, 'updated_at').notNullable();
    });
    await db.schema.createTable('alert_deliveries', (t) => {
      t.increments('id');
      t.integer('alert_id').notNullable();
      t.integer('user_id').notNullable();
      t.string('channel', 10).notNullable();
      t.string('status', 10).notNullable();
      t.integer('attempts').notNullable();
      t.string('error', 300);
      ts(t, 'at').notNullable();
      t.unique(['alert_id', 'user_id', 'channel']);
    });
  },
  async down(db) {
    for (const table of [
      'alert_deliveries',
      'alert_preferences',
      'portal_invites',
      'customer_accounts',
      'usage_alerts',
    ])
      await db.schema.dropTableIfExists(table);
  },
};

export default migration;
