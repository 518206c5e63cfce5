import { ts, type Migration } from './migration.js';

/**
 * Who may connect to the embedded MQTT broker: field devices (each only under its own topics),
 * CSR and admin accounts. Secrets are stored as scrypt hashes with their salt.
 */
const migration: Migration = {
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

export default migration;
