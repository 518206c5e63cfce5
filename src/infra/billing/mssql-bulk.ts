/**
 * Large batches to SQL Server through the `mssql` package's bulk load (TDS BULK INSERT): one
 * round trip for thousands of rows where row-by-row INSERTs would take one statement per
 * hundred rows (SQL Server's 2,100-parameter limit). The column types come from the table
 * itself (INFORMATION_SCHEMA), so a utility's own staging table, with its own widths, works.
 * Everything else of a post (the existing-keys check, the upload-batch row) is SQL that knex
 * renders and the snapshot suite pins; this module only runs it, in the same transaction.
 */

import type { Knex } from 'knex';
import sql from 'mssql';
import { mssqlPoolConfig } from '../db/connect.js';

export interface SinkColumn {
  name: string;
  dataType: string;
  maxLength: number | null;
  precision: number | null;
  scale: number | null;
  nullable: boolean;
}

/** The columns of a table, in order, as SQL Server describes them. */
export function sinkColumnsQuery(db: Knex, table: string): Knex.QueryBuilder {
  return db('INFORMATION_SCHEMA.COLUMNS')
    .select({
      name: 'COLUMN_NAME',
      dataType: 'DATA_TYPE',
      maxLength: 'CHARACTER_MAXIMUM_LENGTH',
      precision: 'NUMERIC_PRECISION',
      scale: 'NUMERIC_SCALE',
      nullable: 'IS_NULLABLE',
    })
    .where({ TABLE_NAME: table })
    .orderBy('ORDINAL_POSITION');
}

export function sinkColumn(row: Record<string, unknown>): SinkColumn {
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    name: String(row.name),
    dataType: String(row.dataType).toLowerCase(),
    maxLength: n(row.maxLength),
    precision: n(row.precision),
    scale: n(row.scale),
    nullable: row.nullable === 'YES' || row.nullable === true,
  };
}

/** The bulk-load type of a column (pure). Throws naming the column for a type fieldgate does not write. */
export function bulkType(c: SinkColumn): sql.ISqlType | (() => sql.ISqlType) {
  const len = c.maxLength === -1 ? sql.MAX : (c.maxLength ?? 255);
  switch (c.dataType) {
    case 'varchar':
      return sql.VarChar(len);
    case 'nvarchar':
      return sql.NVarChar(len);
    case 'char':
      return sql.Char(c.maxLength ?? 1);
    case 'nchar':
      return sql.NChar(c.maxLength ?? 1);
    case 'int':
      return sql.Int;
    case 'bigint':
      return sql.BigInt;
    case 'smallint':
      return sql.SmallInt;
    case 'tinyint':
      return sql.TinyInt;
    case 'bit':
      return sql.Bit;
    case 'float':
      return sql.Float;
    case 'real':
      return sql.Real;
    case 'decimal':
    case 'numeric':
      return sql.Decimal(c.precision ?? 18, c.scale ?? 0);
    case 'datetime2':
      return sql.DateTime2(c.scale ?? 7);
    case 'datetime':
      return sql.DateTime;
    case 'datetimeoffset':
      return sql.DateTimeOffset(c.scale ?? 7);
    case 'date':
      return sql.Date;
    default:
      throw new Error(`column ${c.name} is ${c.dataType}, which fieldgate's bulk load does not write`);
  }
}

/** A bulk-load table of `rows` (pure): the columns the rows carry, typed as the sink table declares them. */
export function bulkTable(
  name: string,
  columns: readonly SinkColumn[],
  rows: readonly Record<string, unknown>[],
): sql.Table {
  const table = new sql.Table(name);
  const names = Object.keys(rows[0] ?? {});
  const byName = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
  const used = names.map((n) => {
    const c = byName.get(n.toLowerCase());
    if (!c) throw new Error(`billing table ${name} has no column ${n}`);
    table.columns.add(c.name, bulkType(c), { nullable: c.nullable });
    return c;
  });
  for (const r of rows) {
    table.rows.add(
      ...names.map((n, i) => {
        const v = r[n];
        if (v === undefined || v === null) return null;
        return /^(datetime|date)/.test(used[i]!.dataType) && typeof v === 'string'
          ? new Date(v)
          : (v as sql.IRow[number]);
      }),
    );
  }
  return table;
}

/** One post on a pooled connection: queries and a bulk load inside one transaction. */
export interface BulkSession {
  query(statement: { sql: string; bindings: readonly unknown[] }): Promise<Record<string, unknown>[]>;
  bulkInsert(table: string, rows: readonly Record<string, unknown>[]): Promise<void>;
}

export class MssqlBulkLoader {
  private pool: Promise<sql.ConnectionPool> | null = null;
  private readonly columns = new Map<string, Promise<SinkColumn[]>>();

  constructor(
    private readonly url: string,
    private readonly render: Knex,
  ) {}

  /** Runs `work` in a transaction on the pool: committed when it resolves, rolled back when it throws. */
  async transaction<T>(work: (s: BulkSession) => Promise<T>): Promise<T> {
    const pool = await this.connect();
    const trx = new sql.Transaction(pool);
    await trx.begin();
    const session: BulkSession = {
      query: async ({ sql: text, bindings }) => {
        const request = new sql.Request(trx);
        bindings.forEach((b, i) => request.input(`p${i}`, b as never));
        return (await request.query(text)).recordset ?? [];
      },
      bulkInsert: async (table, rows) => {
        const columns = await this.tableColumns(table, session);
        // Constraints checked and triggers fired, as an INSERT would: billing's rules hold, and
        // INSERT on the staging table is the only grant needed (with them off, bulk copy needs ALTER TABLE).
        await new sql.Request(trx).bulk(bulkTable(table, columns, rows), {
          checkConstraints: true,
          fireTriggers: true,
        });
      },
    };
    try {
      const result = await work(session);
      await trx.commit();
      return result;
    } catch (err) {
      await trx.rollback().catch(() => undefined);
      throw err;
    }
  }

  private tableColumns(table: string, session: BulkSession): Promise<SinkColumn[]> {
    let cached = this.columns.get(table);
    if (!cached) {
      cached = session
        .query(sinkColumnsQuery(this.render, table).toSQL().toNative())
        .then((rows) => rows.map(sinkColumn));
      cached.catch(() => this.columns.delete(table));
      this.columns.set(table, cached);
    }
    return cached;
  }

  private connect(): Promise<sql.ConnectionPool> {
    this.pool ??= new sql.ConnectionPool(mssqlPoolConfig(this.url)).connect().catch((err: unknown) => {
      this.pool = null;
      throw err;
    });
    return this.pool;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool) await (await pool.catch(() => null))?.close();
  }
}
