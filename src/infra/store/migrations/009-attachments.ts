import { METER_ID_MAX } from '../../../core/meter-id.js';
import { ts, type Migration } from './migration.js';

/**
 * Photos from the field app: a register photo belongs to a reading (route, meter, register), a
 * work-order photo to its order. They are kept in the store, not the data directory, so every
 * gateway on one store shows the same photos. `owner_key` names what a photo belongs to; one
 * photo (by content) is kept once per owner however often the phone sends it.
 */
const migration: Migration = {
  name: '009_attachments',
  async up(db) {
    await db.schema.createTable('attachments', (t) => {
      t.increments('id');
      t.string('owner_key', 120).notNullable();
      t.string('sha256', 64).notNullable();
      t.string('content_type', 40).notNullable();
      t.integer('bytes').notNullable();
      t.binary('content').notNullable();
      t.integer('route_id');
      t.string('meter_id', METER_ID_MAX);
      t.smallint('register');
      t.integer('work_order_id');
      t.string('uploaded_by', 80).notNullable();
      ts(t, 'created_at').notNullable();
      t.unique(['owner_key', 'sha256']);
      t.index(['route_id', 'meter_id']);
      t.index(['work_order_id']);
    });
  },
  async down(db) {
    await db.schema.dropTableIfExists('attachments');
  },
};

export default migration;
