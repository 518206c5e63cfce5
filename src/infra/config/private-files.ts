import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';

/**
 * The gateway's data directory and its SQLite store hold readings, sessions and secrets' hashes:
 * nobody but the gateway's user may read them (security probe: the store, its WAL and the data
 * directory were world-readable). Directories 0700, files 0600.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/**
 * Creates the SQLite file 0600 before SQLite opens it: SQLite gives its -wal and -shm files the
 * database file's permissions, so they follow. An existing store is narrowed to 0600 too.
 */
export function ensurePrivateFile(file: string): void {
  if (existsSync(file)) chmodSync(file, 0o600);
  else closeSync(openSync(file, 'a', 0o600));
  for (const side of ['-wal', '-shm']) if (existsSync(file + side)) chmodSync(file + side, 0o600);
}
