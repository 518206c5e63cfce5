import { ts, type Migration } from './migration.js';

/**
 * Green Button Connect My Data (issue 21, point 4): fieldgate as the Data Custodian. Third
 * parties registered by an admin (their secret kept only as a hash), authorization codes and
 * tokens (hashes only), and the subscriptions a customer granted: one account to one third
 * party with a scope, until the customer revokes it.
 */
const migration: Migration = {
  name: '012_connect_my_data',
  async up(db) {
    await db.schema.createTable('oauth_clients', (t) => {
      t.increments('id');
      t.string('client_id', 64).notNullable().unique();
      t.string('secret_hash', 64).notNullable();
      t.string('name', 100).notNullable();
      t.text('redirect_uris').notNullable();
      t.text('scopes').notNullable();
      t.string('created_by', 80).notNullable();
      ts(t, 'created_at').notNullable();
      ts(t, 'disabled_at');
    });
    await db.schema.createTable('espi_subscriptions', (t) => {
      t.increments('id');
      t.string('client_id', 64).notNullable();
      t.integer('user_id').notNullable().references('users.id');
      t.string('account_no', 20).notNullable();
      t.string('scope', 500).notNullable();
      ts(t, 'created_at').notNullable();
      ts(t, 'revoked_at');
      t.index(['user_id']);
    });
    await db.schema.createTable('oauth_codes', (t) => {
      t.string('code_hash', 64).primary();
      t.string('client_id', 64).notNullable();
      t.integer('user_id').notNullable();
      t.string('account_no', 20).notNullable();
      t.string('scope', 500).notNullable();
      t.string('redirect_uri', 500).notNullable();
      t.string('code_challenge', 128);
      t.string('code_challenge_method', 10);
      ts(t, 'expires_at').notNullable();
    });
    await db.schema.createTable('oauth_tokens', (t) => {
      t.increments('id');
      t.string('access_hash', 64).notNullable().unique();
      t.string('refresh_hash', 64).unique();
      t.string('client_id', 64).notNullable();
      t.integer('subscription_id').notNullable().references('espi_subscriptions.id');
      t.string('scope', 500).notNullable();
      ts(t, 'access_expires_at').notNullable();
      ts(t, 'refresh_expires_at');
      ts(t, 'revoked_at');
      t.index(['subscription_id']);
    });
  },
  async down(db) {
    for (const table of ['oauth_tokens', 'oauth_codes', 'espi_subscriptions', 'oauth_clients'])
      await db.schema.dropTableIfExists(table);
  },
};

export default migration;
