import { mkdirSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { AppError } from '../../errors.js';
import { ensurePrivateFile } from '../config/private-files.js';

export type Dialect = 'sqlite' | 'postgres' | 'mssql';

// PostgreSQL returns int8 and numeric as strings to protect precision; readings and counts are
// far below 2^53, so numbers are what every caller wants, as SQLite gives them.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));
// A DATE is a calendar day, not an instant: keep 'YYYY-MM-DD' rather than a Date at local midnight.
pg.types.setTypeParser(1082, (v) => v);

/**
 * knex prints pool connection errors to the console itself; the same errors reach the caller,
 * which logs them once with context (and retries where that is right).
 */
const QUIET = { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined };

/**
 * Opens a knex instance from a URL: `sqlite:./data/x.sqlite`, `sqlite::memory:`,
 * `postgres://user@host:5432/db`, `mssql://user:pass@host:1433/db?encrypt=false`.
 */
export function connect(url: string, opts: { pool?: { min: number; max: number } } = {}): Knex {
  const dialect = dialectOf(url);
  if (dialect === 'sqlite') {
    const file = sqliteFileOf(url);
    if (file !== ':memory:') {
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
      ensurePrivateFile(file);
    }
    return knexFactory({
      client: 'better-sqlite3',
      connection: { filename: file },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
          // WAL lets readers (the API) run while a job writes; busy_timeout waits out a second process's write.
          // synchronous=FULL: a commit survives power loss, which matters because a device deletes its
          // readings once the gateway says they are committed (NORMAL may lose the last commits).
          conn.pragma('journal_mode = WAL');
          conn.pragma('synchronous = FULL');
          conn.pragma('busy_timeout = 10000');
          conn.pragma('foreign_keys = ON');
          done(null, conn);
        },
      },
    });
  }
  if (dialect === 'postgres') {
    return knexFactory({ client: 'pg', connection: url, pool: opts.pool ?? { min: 0, max: 8 }, log: QUIET });
  }
  return knexFactory({
    client: 'mssql',
    connection: mssqlConnection(url),
    pool: opts.pool ?? { min: 0, max: 8 },
    log: QUIET,
  });
}

/** The file a `sqlite:` URL names (`sqlite:./data/x.sqlite`, `sqlite://…`, `sqlite::memory:`). */
export function sqliteFileOf(url: string): string {
  return url.replace(/^sqlite:(\/\/)?/, '');
}

export function dialectOf(urlOrDb: string | Knex): Dialect {
  if (typeof urlOrDb !== 'string') {
    const client = String(urlOrDb.client.config.client);
    if (client.includes('sqlite')) return 'sqlite';
    if (client === 'pg' || client.includes('postgres')) return 'postgres';
    if (client === 'mssql') return 'mssql';
    throw new AppError('DB_DIALECT', `unsupported knex client ${client}`);
  }
  if (urlOrDb.startsWith('sqlite:')) return 'sqlite';
  if (/^postgres(ql)?:/.test(urlOrDb)) return 'postgres';
  if (/^(mssql|sqlserver):/.test(urlOrDb)) return 'mssql';
  throw new AppError('DB_URL', `unsupported database URL '${urlOrDb.replace(/:[^:@/]+@/, ':***@')}'`);
}

/** What an mssql:// URL names: host, port, login, database and TLS flags. */
function mssqlTarget(url: string) {
  const u = new URL(url.replace(/^sqlserver:/, 'mssql:'));
  const flag = (name: string, dflt: boolean) => (u.searchParams.has(name) ? u.searchParams.get(name) === 'true' : dflt);
  return {
    server: u.hostname,
    port: u.port ? Number(u.port) : 1433,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.replace(/^\//, '') || 'master',
    options: { encrypt: flag('encrypt', true), trustServerCertificate: flag('trustServerCertificate', false) },
  };
}

function mssqlConnection(url: string): Knex.MsSqlConnectionConfig {
  const { user, ...rest } = mssqlTarget(url);
  return { ...rest, userName: user };
}

/** The same URL as the `mssql` package's pool config (its bulk load; see billing/mssql-bulk.ts). */
export function mssqlPoolConfig(url: string): {
  server: string;
  port: number;
  user: string;
  password: string;
  database: string;
  options: { encrypt: boolean; trustServerCertificate: boolean };
  pool: { min: number; max: number };
} {
  return { ...mssqlTarget(url), pool: { min: 0, max: 2 } };
}

/** A knex without a connection, to render SQL for a dialect (snapshot tests, `--dry-run`). */
export function sqlRenderer(dialect: Dialect): Knex {
  const client = { sqlite: 'better-sqlite3', postgres: 'pg', mssql: 'mssql' }[dialect];
  return knexFactory({ client, useNullAsDefault: true });
}
