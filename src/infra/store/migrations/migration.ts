import type { Knex } from 'knex';

/** One migration of a list kept in code (the store's, the reference billing database's). */
export interface Migration {
  name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

/** An instant column: ISO-8601 UTC text, which sorts and reads the same on every dialect. */
export const ts = (t: Knex.CreateTableBuilder, name: string) => t.string(name, 30);

/** A knex migration source over an in-code list (shared by the store and the reference billing DB). */
export function listSource(migrations: readonly Migration[]): Knex.MigrationSource<Migration> {
  return {
    getMigrations: async () => [...migrations],
    getMigrationName: (m) => m.name,
    getMigration: async (m) => ({ up: (db: Knex) => m.up(db), down: (db: Knex) => m.down(db) }),
  };
}

/** Applies the migrations of a list not yet recorded in `tableName`; returns their names. */
export async function runMigrations(db: Knex, migrations: readonly Migration[], tableName: string): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource: listSource(migrations), tableName })) as [
    number,
    string[],
  ];
  return applied;
}
