import type { Knex } from 'knex';
import type { Tables } from 'knex/types/tables.js';
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

/**
 * Rows per plain multi-row insert (the SQL Server path): SQL Server takes at most 2,100 bound
 * parameters and 1,000 rows in one statement. PostgreSQL and SQLite bulk inserts pass one JSON
 * parameter instead, so they have no such limit.
 */
export function rowsPerStatement(columns: number): number {
  return Math.max(1, Math.min(1000, Math.floor(2000 / Math.max(1, columns))));
}

/**
 * Inserts one row and returns its generated id. `returning` is portable across PostgreSQL,
 * SQL Server and SQLite ≥ 3.35 (knex emits RETURNING / OUTPUT); drivers answer `{ id }` or a bare id.
 */
/** A row to insert into a table: typed for the store's tables (src/infra/store/tables.ts), open for billing's. */
export type InsertRow<T extends string> = T extends keyof Tables
  ? Readonly<Knex.ResolveTableType<Tables[T], 'insert'>>
  : Record<string, unknown>;

export async function insertReturningId<T extends string>(
  db: Knex | Knex.Transaction,
  table: T,
  row: NoInfer<InsertRow<T>>,
): Promise<number> {
  const [inserted] = (await db(table).insert(row).returning('id')) as ({ id: number } | number)[];
  return typeof inserted === 'object' ? Number(inserted.id) : Number(inserted);
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

/**
 * What a bulk insert does with a row whose key is taken: nothing (no `update`), or the `update`
 * assignments (SQL, `excluded.` naming the new row), as PostgreSQL and SQLite both write them.
 */
export interface OnConflict {
  columns: readonly string[];
  update?: string;
}

/** Inserts many rows in statements sized for the dialect, inside the caller's transaction. */
export async function insertMany<T extends string>(
  trx: Knex | Knex.Transaction,
  table: T,
  rows: readonly NoInfer<InsertRow<T>>[],
  opts: { onConflict?: OnConflict } = {},
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const dialect = dialectOf(trx as Knex);
  const conflict = opts.onConflict ? conflictClause(trx, opts.onConflict) : '';
  if (dialect === 'postgres') {
    // One JSON parameter per batch: PostgreSQL parses it far faster than thousands of placeholders.
    const list = columns.map(() => '??').join(', ');
    for (const part of chunk(rows, 5000)) {
      await trx.raw(`insert into ?? (${list}) select ${list} from json_populate_recordset(null::??, ?)${conflict}`, [
        table,
        ...columns,
        ...columns,
        table,
        JSON.stringify(part),
      ]);
    }
    return;
  }
  if (dialect === 'sqlite') {
    // Same idea on SQLite: json_each over one parameter, instead of a statement with thousands of placeholders.
    // (`where true`: SQLite reads an ON CONFLICT after a bare SELECT's FROM as a join's ON.)
    const list = columns.map(() => '??').join(', ');
    const values = columns.map((_, i) => `json_extract(value, '$[${i}]')`).join(', ');
    for (const part of chunk(rows, 5000)) {
      const json = JSON.stringify(part.map((r) => columns.map((c) => sqliteValue((r as Record<string, unknown>)[c]))));
      await trx.raw(`insert into ?? (${list}) select ${values} from json_each(?) where true${conflict}`, [
        table,
        ...columns,
        json,
      ]);
    }
    return;
  }
  if (opts.onConflict) throw new Error(`insertMany with onConflict runs on PostgreSQL and SQLite, not ${dialect}`);
  for (const part of chunk(rows, rowsPerStatement(columns.length))) await trx(table).insert(part);
}

function conflictClause(db: Knex | Knex.Transaction, c: OnConflict): string {
  const target = c.columns.map((col) => db.raw('??', [col]).toQuery()).join(', ');
  return ` on conflict (${target}) ${c.update ? `do update set ${c.update}` : 'do nothing'}`;
}

/**
 * Restricts a query to rows whose `column` is one of `ids`, with one parameter however many
 * ids there are (SQL Server: chunked lists). Returns the builders to run, one per chunk.
 */
export function whereIdIn<T extends Knex.QueryBuilder>(
  db: Knex | Knex.Transaction,
  ids: readonly number[],
  column: string,
  build: () => T,
): T[] {
  const dialect = dialectOf(db as Knex);
  if (dialect === 'postgres')
    return [build().whereRaw('?? = any(?::bigint[])', [column, `{${ids.map((i) => Math.trunc(i)).join(',')}}`]) as T];
  if (dialect === 'sqlite')
    return [build().whereRaw('?? in (select value from json_each(?))', [column, JSON.stringify(ids)]) as T];
  return chunk(ids, 1000).map((part) => build().whereIn(column, part) as T);
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

/** The database could not be reached (down, restarting, network): worth retrying, unlike a bad query. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ESOCKET',
  'ELOGIN',
  'ETIMEOUT',
  '57P01',
  '57P03',
  '08006',
  '08001',
  'SQLITE_CANTOPEN',
  'SQLITE_BUSY',
]);

export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; name?: string; message?: string } | undefined;
  return Boolean(
    (e?.code && CONNECTION_CODES.has(e.code)) ||
    e?.name === 'KnexTimeoutError' ||
    /connect|Connection terminated|timeout acquiring/i.test(e?.message ?? ''),
  );
}

/** A round trip to the database: resolves when it answers (health checks). */
export async function ping(db: Knex): Promise<void> {
  await db.raw('select 1');
}
