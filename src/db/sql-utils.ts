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
const MAX_ROWS = { sqlite: 2000, postgres: 1000, mssql: 1000 } as const;

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
  const columns = Object.keys(rows[0]!);
  const size = rowsPerStatement(trx as Knex, columns.length);
  const sqlite = dialectOf(trx as Knex) === 'sqlite';
  for (const part of chunk(rows, size)) {
    if (sqlite) await trx.raw(sqliteMultiRowInsert(table, columns, part.length), [table, ...columns, ...part.flatMap((r) => columns.map((c) => sqliteValue(r[c])))]);
    else await trx(table).insert(part);
  }
}

/**
 * knex writes a multi-row SQLite insert as `select … union all select …`, capped at 500 terms
 * and several times slower than the `values (…), (…)` form SQLite has taken since 3.7.11.
 */
function sqliteMultiRowInsert(_table: string, columns: readonly string[], rows: number): string {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  return `insert into ?? (${columns.map(() => '??').join(', ')}) values ${Array.from({ length: rows }, () => tuple).join(', ')}`;
}

function sqliteValue(v: unknown): Knex.Value {
  if (v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.toISOString();
  return v as Knex.Value;
}

export function nowIso(clock: () => Date = () => new Date()): string {
  return clock().toISOString();
}
