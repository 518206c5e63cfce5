import type { Knex } from 'knex';
import { dialectOf } from './connect.js';

/** A unique or primary-key violation, in any supported dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; number?: number } | undefined;
  return (
    e?.code === '23505' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    e?.number === 2627 ||
    e?.number === 2601
  );
}

/** Bound parameters one statement may carry: SQL Server stops at 2,100. */
const MAX_PARAMS = { sqlite: 32_000, postgres: 60_000, mssql: 2_000 } as const;
/** knex writes a multi-row SQLite insert as a compound SELECT, which SQLite caps at 500 terms. */
const MAX_ROWS = { sqlite: 500, postgres: 1000, mssql: 1000 } as const;

export function rowsPerStatement(db: Knex, columns: number): number {
  const dialect = dialectOf(db);
  return Math.max(1, Math.min(MAX_ROWS[dialect], Math.floor(MAX_PARAMS[dialect] / Math.max(1, columns))));
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `where column in (...)` over any number of values, in statements the dialect accepts. */
export async function selectWhereIn<T, V extends string | number = string>(
  db: Knex | Knex.Transaction,
  values: readonly V[],
  build: (chunkValues: V[]) => Knex.QueryBuilder,
): Promise<T[]> {
  const out: T[] = [];
  const size = dialectOf(db as Knex) === 'mssql' ? 1000 : 5000;
  for (const part of chunk(values, size)) out.push(...((await build(part)) as T[]));
  return out;
}

/** Inserts many rows in statements sized for the dialect, inside the caller's transaction. */
export async function insertMany(trx: Knex | Knex.Transaction, table: string, rows: readonly Record<string, unknown>[]): Promise<void> {
  if (rows.length === 0) return;
  const size = rowsPerStatement(trx as Knex, Object.keys(rows[0]!).length);
  for (const part of chunk(rows, size)) await trx(table).insert(part);
}

export function nowIso(clock: () => Date = () => new Date()): string {
  return clock().toISOString();
}
