import type { Knex } from 'knex';
import type { CycleReviewsRow, ReadingsRow, RouteLinesRow } from './tables.js';

/** Whether a CSR has signed off the cycle's pre-bill ledger (which lets its reads post). */
export async function cycleReviewed(db: Knex | Knex.Transaction, cycle: string): Promise<boolean> {
  return (await findCycleReview(db, cycle)) !== undefined;
}

/** Every cycle with routes here, newest first, with its sign-off (if any). */
export async function cyclesWithReviews(
  db: Knex,
): Promise<{ cycle: string; routes: number; reviewedBy: string | null; reviewedAt: string | null }[]> {
  const rows = (await db('routes')
    .select('cycle')
    .count({ routes: '*' })
    .groupBy('cycle')
    .orderBy('cycle', 'desc')) as { cycle: string; routes: number }[];
  const reviews = await db('cycle_reviews').select('cycle', 'reviewed_by', 'reviewed_at');
  return rows.map((r) => {
    const review = reviews.find((v) => v.cycle === r.cycle);
    return {
      cycle: r.cycle,
      routes: Number(r.routes),
      reviewedBy: review?.reviewed_by ?? null,
      reviewedAt: review?.reviewed_at ?? null,
    };
  });
}

export type CycleReviewRow = CycleReviewsRow;

export async function findCycleReview(db: Knex | Knex.Transaction, cycle: string): Promise<CycleReviewRow | undefined> {
  return db('cycle_reviews').where({ cycle }).first();
}

export async function insertCycleReview(
  trx: Knex.Transaction,
  r: {
    cycle: string;
    reviewedBy: string;
    note: string | null;
    accounts: number;
    estimatedTotal: number;
    reviewedAt: string;
  },
): Promise<void> {
  await trx('cycle_reviews').insert({
    cycle: r.cycle,
    reviewed_by: r.reviewedBy.slice(0, 80),
    note: r.note,
    accounts: r.accounts,
    estimated_total: r.estimatedTotal,
    reviewed_at: r.reviewedAt,
  });
}

/** The ledger's inputs for a cycle: its routes, their lines and their readings. */
export async function cycleLedgerRows(
  db: Knex,
  cycle: string,
): Promise<{
  routes: { id: number; route_code: string }[];
  lines: LedgerLineRow[];
  readings: LedgerReadingRow[];
}> {
  const routes = await db('routes').select('id', 'route_code').where({ cycle });
  if (routes.length === 0) return { routes, lines: [], readings: [] };
  const ids = routes.map((r) => r.id);
  const [lines, readings] = await Promise.all([
    db('route_lines')
      .select(
        'route_id',
        'sequence',
        'account',
        'meter_id',
        'register',
        'dials',
        'prev_read',
        'low_limit',
        'high_limit',
        'expected_units',
      )
      .whereIn('route_id', ids),
    db('readings')
      .select('route_id', 'meter_id', 'register', 'reading', 'status', 'read_type', 'read_at')
      .whereIn('route_id', ids)
      .orderBy('id'),
  ]);
  return { routes, lines, readings };
}

export type LedgerLineRow = Pick<
  RouteLinesRow,
  | 'route_id'
  | 'sequence'
  | 'account'
  | 'meter_id'
  | 'register'
  | 'dials'
  | 'prev_read'
  | 'low_limit'
  | 'high_limit'
  | 'expected_units'
>;
export type LedgerReadingRow = Pick<
  ReadingsRow,
  'route_id' | 'meter_id' | 'register' | 'reading' | 'status' | 'read_type' | 'read_at'
>;
