/**
 * Bulk loading by PostgreSQL's COPY, inside the caller's knex transaction: for seeding and
 * loads of millions of rows, where even one JSON parameter per 5,000 rows (insertMany) is the
 * slow part. Values go in COPY's text format.
 */

import type { Knex } from 'knex';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** One value in COPY text format: null as \N; backslash, tab, newline and return escaped. */
export function copyValue(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'boolean') return v ? 't' : 'f';
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : JSON.stringify(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : s;
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** The rows as COPY text, in chunks of about 256 kB. */
export function* copyLines(columns: readonly string[], rows: readonly Record<string, unknown>[]): Generator<string> {
  let out = '';
  for (const row of rows) {
    out += `${columns.map((c) => copyValue(row[c])).join('\t')}\n`;
    if (out.length > 256_000) {
      yield out;
      out = '';
    }
  }
  if (out) yield out;
}

/** COPYs the rows into the table on the transaction's own connection (PostgreSQL only). */
export async function copyRows(
  trx: Knex.Transaction,
  table: string,
  rows: readonly Record<string, unknown>[],
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const client = (await trx.client.acquireConnection()) as pg.Client;
  const quoted = columns.map((c) => `"${c.replace(/"/g, '""')}"`).join(', ');
  await pipeline(
    Readable.from(copyLines(columns, rows)),
    client.query(copyFrom(`COPY "${table.replace(/"/g, '""')}" (${quoted}) FROM STDIN`)),
  );
}
