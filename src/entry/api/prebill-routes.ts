import express from 'express';
import { z } from 'zod';
import { LEDGER_FLAGS, type LedgerRow } from '../../core/ledger.js';
import { LEDGER_COLUMNS, type CycleLedger, type LedgerService } from '../../flows/prebill/ledger-service.js';
import { toCsv } from '../../flows/reports/reports.js';
import { actorOf } from './auth.js';
import { pageQuery, type ApiRegistry } from './openapi.js';

/**
 * The pre-bill review: a cycle's preliminary billing ledger, sorted, filtered and paged on the
 * server (a cycle is thousands of accounts), exported as CSV, and signed off by a named CSR.
 */
const cycleParam = z.object({ cycle: z.string().regex(/^\d{4}-\d{2}$/, 'expected a cycle as YYYY-MM') });
const SORTABLE = [
  'route',
  'accountNo',
  'meterId',
  'consumption',
  'estimatedCharge',
  'units',
  'prevRead',
  'currentRead',
] as const;
const ledgerFilter = z.object({
  flag: z.enum(LEDGER_FLAGS).optional(),
  /** Rows with any flag at all: what needs a look. */
  flagged: z.enum(['true', 'false']).optional(),
  route: z.string().max(20).optional(),
  search: z.string().max(40).optional(),
  readType: z.enum(['actual', 'estimated']).optional(),
  sort: z.enum(SORTABLE).default('route'),
  dir: z.enum(['asc', 'desc']).default('asc'),
});

/**
 * What every request of a page needs from a kept ledger, made once per ledger: the rows in each
 * sort order asked for, and each row's searchable text. A request then filters one pass.
 */
class LedgerView {
  private readonly orders = new Map<string, readonly LedgerRow[]>();
  private readonly text: Map<LedgerRow, string>;

  constructor(private readonly rows: readonly LedgerRow[]) {
    this.text = new Map(rows.map((r) => [r, `${r.accountNo} ${r.meterId} ${r.customerName ?? ''}`.toLowerCase()]));
  }

  sorted(key: (typeof SORTABLE)[number], dir: 'asc' | 'desc'): readonly LedgerRow[] {
    const name = `${key}:${dir}`;
    let out = this.orders.get(name);
    if (!out) {
      const sign = dir === 'asc' ? 1 : -1;
      // Route order is the ledger's own (route, then walk sequence).
      out =
        key === 'route'
          ? dir === 'asc'
            ? this.rows
            : [...this.rows].reverse()
          : [...this.rows].sort((a, b) => {
              const x = a[key] ?? -Infinity;
              const y = b[key] ?? -Infinity;
              return (x < y ? -1 : x > y ? 1 : 0) * sign;
            });
      this.orders.set(name, out);
    }
    return out;
  }

  select(f: z.output<typeof ledgerFilter>): LedgerRow[] {
    const needle = f.search?.toLowerCase();
    const flagged = f.flagged === undefined ? undefined : f.flagged === 'true';
    return this.sorted(f.sort, f.dir).filter(
      (r) =>
        (!f.flag || r.flags.includes(f.flag)) &&
        (flagged === undefined || flagged === r.flags.some((x) => x !== 'rollover')) &&
        (!f.route || r.route === f.route) &&
        (!f.readType || r.readType === f.readType) &&
        (!needle || this.text.get(r)!.includes(needle)),
    );
  }
}

const views = new WeakMap<CycleLedger, LedgerView>();
function viewOf(ledger: CycleLedger): LedgerView {
  let view = views.get(ledger);
  if (!view) views.set(ledger, (view = new LedgerView(ledger.rows)));
  return view;
}

export function prebillRouter(registry: ApiRegistry, ledgers: LedgerService): express.Router {
  const r = express.Router();

  registry.route(
    r,
    {
      method: 'get',
      path: '/prebill/cycles',
      summary: 'Cycles with routes in the gateway, and their sign-off',
      tag: 'prebill',
      roles: ['csr'],
      query: pageQuery,
    },
    async ({ query }) => {
      const all = await ledgers.cycles();
      return {
        items: all.slice(query.offset, query.offset + query.limit),
        total: all.length,
        limit: query.limit,
        offset: query.offset,
      };
    },
  );

  registry.route(
    r,
    {
      method: 'get',
      path: '/prebill/:cycle',
      summary: "A page of the cycle's preliminary billing ledger, with its summary",
      tag: 'prebill',
      roles: ['csr'],
      params: cycleParam,
      query: pageQuery.extend(ledgerFilter.shape),
    },
    async ({ params, query }) => {
      const ledger = await ledgers.ledger(params.cycle);
      const rows = viewOf(ledger).select(query);
      return {
        cycle: ledger.cycle,
        computedAt: ledger.computedAt,
        routes: ledger.routes,
        review: ledger.review,
        summary: ledger.summary,
        items: rows.slice(query.offset, query.offset + query.limit),
        total: rows.length,
        limit: query.limit,
        offset: query.offset,
      };
    },
  );

  registry.route(
    r,
    {
      method: 'get',
      path: '/prebill/:cycle/export',
      summary: 'The ledger (with the same filters) as CSV',
      tag: 'prebill',
      roles: ['csr'],
      params: cycleParam,
      query: ledgerFilter,
      produces: 'text/csv',
    },
    async ({ params, query }, _req, res) => {
      const ledger = await ledgers.ledger(params.cycle);
      const rows = viewOf(ledger)
        .select(query)
        .map((row) => ({ ...row, flags: row.flags.join(' ') }));
      res.setHeader('content-type', 'text/csv; charset=utf-8');
      res.setHeader('content-disposition', `attachment; filename="prebill-${params.cycle}.csv"`);
      res.send(toCsv({ columns: [...LEDGER_COLUMNS], rows }));
    },
  );

  registry.route(
    r,
    {
      method: 'post',
      path: '/prebill/:cycle/review',
      summary: 'Sign the cycle off as reviewed (lets its reads post when review is required)',
      tag: 'prebill',
      roles: ['csr'],
      params: cycleParam,
      body: z.strictObject({ note: z.string().trim().max(500).optional() }),
      status: 201,
      auditsItself: true,
    },
    async ({ params, body }, _req, res) =>
      ledgers.review(params.cycle, actorOf(res.locals.principal), body.note ?? null),
  );
  return r;
}
