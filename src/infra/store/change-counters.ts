/**
 * Counters that say "this kind of data changed": a reader keeping a derived view (the pre-bill
 * ledger) compares one number instead of the data. Bumped after the change commits, as its own
 * tiny statement, so a long import never holds a lock on the counter.
 */

import type { Knex } from 'knex';

export type CounterName = 'ledger';

export async function bumpVersion(db: Knex, name: CounterName): Promise<void> {
  await db('change_counters')
    .where({ name })
    .update({ version: db.raw('version + 1') });
}

export async function readVersion(db: Knex, name: CounterName): Promise<number> {
  const row = (await db('change_counters').select('version').where({ name }).first()) as
    { version: number | string } | undefined;
  return Number(row?.version ?? 0);
}
