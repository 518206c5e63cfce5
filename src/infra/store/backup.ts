/**
 * Backup and restore of the gateway store. SQLite uses its online backup: a consistent copy
 * while the gateway keeps running and writing. PostgreSQL is backed up with its own tools
 * (pg_dump), which this says rather than doing half of it.
 */

import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../../errors.js';
import { dialectOf, sqliteFileOf } from '../db/connect.js';

export interface BackupResult {
  file: string;
  bytes: number;
  migrations: string[];
  readings: number;
}

function notSqlite(url: string, what: 'backup' | 'restore'): AppError {
  const tool =
    what === 'backup'
      ? 'pg_dump --format=custom --file=fieldgate.dump "$DATABASE_URL"'
      : 'pg_restore --clean --if-exists --dbname="$DATABASE_URL" fieldgate.dump';
  return new AppError(
    'USE_DATABASE_TOOLS',
    `the store is ${dialectOf(url)}: ${what} it with the database's own tools, e.g. ${tool} (docs/operations.md)`,
    { field: 'store.url' },
  );
}

/** What a store file holds, checked: SQLite's integrity check, and the migrations a fieldgate store has. */
function inspect(file: string): { migrations: string[]; readings: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok')
      throw new AppError('BAD_BACKUP', `${file} fails SQLite's integrity check: ${String(check)}`, { field: 'file' });
    const hasMigrations = db
      .prepare("select name from sqlite_master where type = 'table' and name = 'fieldgate_migrations'")
      .get();
    if (!hasMigrations)
      throw new AppError('NOT_A_STORE', `${file} is not a fieldgate store (no migrations table)`, { field: 'file' });
    const migrations = (
      db.prepare('select name from fieldgate_migrations order by id').all() as { name: string }[]
    ).map((r) => r.name);
    const readings = (db.prepare('select count(*) as n from readings').get() as { n: number }).n;
    return { migrations, readings };
  } finally {
    db.close();
  }
}

/** A backup step this large copies every page there is, however far a restart set it back. */
const ALL_PAGES = 0x7fffffff;

export async function backupStore(url: string, dest: string): Promise<BackupResult> {
  if (dialectOf(url) !== 'sqlite') throw notSqlite(url, 'backup');
  const file = sqliteFileOf(url);
  if (!existsSync(file))
    throw new AppError('NOT_FOUND', `there is no store at ${file}`, { field: 'store.url', status: 404 });
  if (existsSync(dest))
    throw new AppError('EXISTS', `${dest} exists; a backup never overwrites a file`, { field: 'file' });
  const source = new Database(file, { fileMustExist: true });
  try {
    // A write by another connection (the gateway's own) restarts SQLite's backup: copying 100
    // pages an event-loop turn, a gateway writing all the time restarted it for ever (the test
    // suite's writer did, once the store passed a few hundred pages). So every remaining page is
    // copied in one step: no write lands in between, and in WAL mode the writers are not held up.
    await source.backup(dest, { progress: () => ALL_PAGES });
  } finally {
    source.close();
  }
  return { file: dest, bytes: statSync(dest).size, ...inspect(dest) };
}

/**
 * Puts a backup in place of the store. The gateway must be stopped: SQLite cannot be swapped
 * under a running process. The store's WAL files are removed first, so nothing of the old store
 * is replayed over the restored one.
 */
export async function restoreStore(url: string, from: string, opts: { force?: boolean } = {}): Promise<BackupResult> {
  if (dialectOf(url) !== 'sqlite') throw notSqlite(url, 'restore');
  const file = sqliteFileOf(url);
  const info = inspect(from);
  if (existsSync(file) && !opts.force)
    throw new AppError('EXISTS', `a store exists at ${file}; stop the gateway and restore with --force to replace it`, {
      field: 'force',
    });
  for (const extra of ['', '-wal', '-shm']) rmSync(`${file}${extra}`, { force: true });
  const source = new Database(from, { readonly: true, fileMustExist: true });
  try {
    await source.backup(path.resolve(file));
  } finally {
    source.close();
  }
  return { file, bytes: statSync(file).size, ...info };
}
