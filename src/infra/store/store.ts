import type { Knex } from 'knex';
import { connect, dialectOf, type Dialect } from '../db/connect.js';
import { runMigrations, STORE_MIGRATIONS } from './migrations/index.js';

/** The gateway's own database: SQLite by default, PostgreSQL when several gateways share it. */
export interface Store {
  db: Knex;
  dialect: Dialect;
  close(): Promise<void>;
}

export function openStore(url: string): Store {
  const db = connect(url);
  return { db, dialect: dialectOf(url), close: () => db.destroy() };
}

export function migrateStore(db: Knex): Promise<string[]> {
  return runMigrations(db, STORE_MIGRATIONS, 'fieldgate_migrations');
}
