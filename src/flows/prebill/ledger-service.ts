/**
 * The preliminary billing ledger of a cycle, from the gateway's routes and readings and
 * billing's meters and rates, and the CSR's sign-off of it. A cycle is thousands of accounts
 * that a CSR pages, sorts and filters, so a built ledger is kept: every `checkMs` one tiny query
 * asks the store whether anything the ledger is built from changed (on this gateway or another
 * on the same store), and only then is it built again; billing's rates and multipliers are read
 * again once it is `maxAgeMs` old. A change made through this gateway drops it at once.
 */

import { asRouteLine } from '../../infra/store/routes-repo.js';
import type { GatewayContext } from '../context.js';
import {
  buildLedger,
  summarizeLedger,
  type LedgerLine,
  type LedgerReading,
  type LedgerRow,
  type LedgerSummary,
} from '../../core/ledger.js';
import { AppError, ConflictError, NotFoundError } from '../../errors.js';
import { queueReadings, type StoredReading } from '../readings/billing-read.js';
import { audit } from '../../infra/store/audit-repo.js';
import { bumpVersion, readVersion } from '../../infra/store/change-counters.js';
import {
  cycleLedgerRows,
  cyclesWithReviews,
  findCycleReview,
  insertCycleReview,
} from '../../infra/store/cycle-reviews-repo.js';
import { validReadingsOfCycle } from '../../infra/store/readings-repo.js';

export interface CycleLedger {
  cycle: string;
  computedAt: string;
  routes: string[];
  review: { reviewedBy: string; reviewedAt: string; note: string | null } | null;
  summary: LedgerSummary;
  rows: LedgerRow[];
}

interface Cached {
  checkedAt: number;
  builtAt: number;
  version: number;
  ledger: Promise<CycleLedger>;
}

export class LedgerService {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly ctx: GatewayContext,
    private readonly checkMs = 5_000,
    private readonly maxAgeMs = 300_000,
  ) {}

  async ledger(cycle: string, opts: { fresh?: boolean } = {}): Promise<CycleLedger> {
    const now = Date.now();
    const hit = this.cache.get(cycle);
    if (!opts.fresh && hit && now - hit.checkedAt < this.checkMs) return hit.ledger;
    // Claimed before the check, so requests arriving meanwhile are served what there is.
    if (hit) hit.checkedAt = now;
    const version = await readVersion(this.ctx.store.db, 'ledger');
    if (!opts.fresh && hit && hit.version === version && now - hit.builtAt < this.maxAgeMs) return hit.ledger;
    const entry: Cached = { checkedAt: now, builtAt: now, version, ledger: computeLedger(this.ctx, cycle) };
    this.cache.set(cycle, entry);
    entry.ledger.catch(() => {
      if (this.cache.get(cycle) === entry) this.cache.delete(cycle);
    });
    return entry.ledger;
  }

  invalidate(): void {
    this.cache.clear();
  }

  /** Every cycle the gateway has routes for, newest first, with its sign-off. */
  async cycles(): Promise<{ cycle: string; routes: number; reviewedBy: string | null; reviewedAt: string | null }[]> {
    return cyclesWithReviews(this.ctx.store.db);
  }

  /**
   * A named CSR signs the cycle off. With `prebill.reviewBeforePosting` on, this is what lets its
   * reads go to billing: the cycle's valid reads are queued in the same transaction.
   */
  async review(
    cycle: string,
    actor: string,
    note: string | null,
  ): Promise<{
    cycle: string;
    reviewedBy: string;
    reviewedAt: string;
    queuedForBilling: number;
    heldReads: number;
    summary: LedgerSummary;
  }> {
    const ctx = this.ctx;
    const ledger = await this.ledger(cycle, { fresh: true });
    const now = ctx.clock();
    const heldReads = ledger.summary.flagged.held;
    const queued = await ctx.store.db.transaction(async (trx) => {
      if (await findCycleReview(trx, cycle))
        throw new ConflictError('ALREADY_REVIEWED', `cycle ${cycle} was reviewed already`, {
          field: 'cycle',
          record: cycle,
        });
      await insertCycleReview(trx, {
        cycle,
        reviewedBy: actor,
        note,
        accounts: ledger.summary.accounts,
        estimatedTotal: ledger.summary.estimatedTotal,
        reviewedAt: now.toISOString(),
      });
      let n = 0;
      if (ctx.config.prebill.reviewBeforePosting) {
        const rows = await validReadingsOfCycle<StoredReading & { source: string }>(trx, cycle);
        n = await queueReadings(trx, rows, now);
      }
      await audit(
        trx,
        {
          actor,
          action: 'prebill.review',
          target: `cycle:${cycle}`,
          detail: { note, summary: ledger.summary, queuedForBilling: n, heldReads },
        },
        now,
      );
      return n;
    });
    await bumpVersion(ctx.store.db, 'ledger');
    this.invalidate();
    ctx.log.info('cycle reviewed', { module: 'prebill', cycle, actor, queuedForBilling: queued, heldReads });
    return {
      cycle,
      reviewedBy: actor,
      reviewedAt: now.toISOString(),
      queuedForBilling: queued,
      heldReads,
      summary: ledger.summary,
    };
  }
}

async function computeLedger(ctx: GatewayContext, cycle: string): Promise<CycleLedger> {
  const db = ctx.store.db;
  const { routes, lines: lineRows, readings: readingRows } = await cycleLedgerRows(db, cycle);
  if (routes.length === 0) throw new NotFoundError('cycle', cycle);
  const codeOf = new Map(routes.map((r) => [r.id, r.route_code]));
  const review = await findCycleReview(db, cycle);
  const lines: LedgerLine[] = lineRows.map((r) => ({ ...asRouteLine(r), route: codeOf.get(r.route_id)! }));
  // The newest reading of each register wins (a re-read replaces the first visit); one with a value beats a skip.
  const readings = new Map<string, LedgerReading>();
  for (const r of readingRows) {
    const key = `${codeOf.get(r.route_id!)}|${r.meter_id}|${r.register}`;
    const next: LedgerReading = {
      status: r.status as LedgerReading['status'],
      reading: r.reading,
      readType: r.read_type as LedgerReading['readType'],
      readAt: r.read_at,
    };
    const prev = readings.get(key);
    if (!prev || next.reading !== null || prev.reading === null) readings.set(key, next);
  }
  let meters;
  try {
    meters = await ctx.billing.ledgerMeters(lines.map((l) => l.meterId));
  } catch (err) {
    throw new AppError(
      'BILLING_UNAVAILABLE',
      `billing could not be read for the ledger's rates and multipliers: ${(err as Error).message}`,
      { status: 503, cause: err },
    );
  }
  const rows = buildLedger(
    lines,
    (l) => readings.get(`${l.route}|${l.meterId}|${l.register}`),
    (id) => meters.get(id),
    { flagZero: ctx.config.prebill.flagZero, unusualFactor: ctx.config.prebill.unusualFactor },
  );
  return {
    cycle,
    computedAt: ctx.clock().toISOString(),
    routes: routes.map((r) => r.route_code).sort(),
    review: review
      ? { reviewedBy: review.reviewed_by, reviewedAt: review.reviewed_at, note: review.note ?? null }
      : null,
    summary: summarizeLedger(rows),
    rows,
  };
}

export const LEDGER_COLUMNS = [
  'route',
  'sequence',
  'accountNo',
  'customerName',
  'meterId',
  'register',
  'prevRead',
  'currentRead',
  'units',
  'multiplier',
  'consumption',
  'readType',
  'readAt',
  'flags',
  'rateCode',
  'estimatedCharge',
] as const;
