import type { Knex } from 'knex';
import { connect, dialectOf, type Dialect } from '../db/connect.js';
import { listSource, STORE_MIGRATIONS } from './migrations.js';

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

export async function migrateStore(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({
    migrationSource: listSource(STORE_MIGRATIONS),
    tableName: 'fieldgate_migrations',
  })) as [number, string[]];
  return applied;
}
