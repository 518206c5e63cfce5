/**
 * Reports: one table each, the same from the console, the API (`/api/reports/<name>`) and the
 * CLI (`fieldgate report <name>`), as JSON or CSV. Each declares its parameters as a zod schema,
 * so every entry point validates them the same way.
 */

import {
  amiDailyCoverage,
  exceptionCounts,
  finishedWorkOrders,
  missedReads,
  postedBatches,
  type TimeBounds,
} from '../../infra/store/reports-repo.js';
import { calendarDay, MONTH_PATTERN } from '../../core/calendar.js';
import { z } from 'zod';
import type { GatewayContext } from '../context.js';
import { addDays, localDate } from '../../core/local-time.js';
import type { LedgerService } from '../prebill/ledger-service.js';
import { LEDGER_COLUMNS } from '../prebill/ledger-service.js';
import { routeOverview } from '../routes/route-overview.js';

export interface ReportTable {
  columns: string[];
  rows: Record<string, unknown>[];
}

export interface ReportDeps {
  ctx: GatewayContext;
  ledger: LedgerService;
}

interface Report<S extends z.ZodObject> {
  name: string;
  title: string;
  params: S;
  run(deps: ReportDeps, params: z.output<S>): Promise<ReportTable>;
}

const day = calendarDay;
const cycle = z.string().regex(MONTH_PATTERN, 'expected a cycle as YYYY-MM');
const define = <S extends z.ZodObject>(r: Report<S>) => r as unknown as Report<z.ZodObject>;
const pct = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0);

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export const REPORTS = [
  define({
    name: 'route-completion',
    title: 'Route completion',
    params: z.object({ cycle: cycle.optional() }),
    async run({ ctx }, p) {
      const routes = (await routeOverview(ctx)).filter((r) => !p.cycle || r.cycle === p.cycle);
      return {
        columns: [
          'route',
          'cycle',
          'readDate',
          'state',
          'device',
          'records',
          'read',
          'skipped',
          'held',
          'openExceptions',
          'completionPct',
        ],
        rows: routes.map((r) => ({
          route: r.route,
          cycle: r.cycle,
          readDate: r.readDate,
          state: r.state,
          device: r.device,
          records: r.records ?? 0,
          read: r.read,
          skipped: r.skipped,
          held: r.held,
          openExceptions: r.openExceptions,
          completionPct: pct(r.read + r.held, r.records ?? 0),
        })),
      };
    },
  }),
  define({
    name: 'exceptions',
    title: 'Exceptions by kind',
    params: z.object({ from: day.optional(), to: day.optional() }),
    async run({ ctx }, p) {
      const q = exceptionCounts(ctx.store.db, dayBounds(p));
      const byKind = new Map<
        string,
        { kind: string; severity: string; open: number; resolved: number; oldestOpen: string | null }
      >();
      for (const r of await q) {
        const row = byKind.get(r.kind) ?? {
          kind: r.kind,
          severity: r.severity,
          open: 0,
          resolved: 0,
          oldestOpen: null,
        };
        if (r.status === 'open') {
          row.open += Number(r.n);
          row.oldestOpen = r.oldest;
        } else row.resolved += Number(r.n);
        byKind.set(r.kind, row);
      }
      return {
        columns: ['kind', 'severity', 'open', 'resolved', 'oldestOpen'],
        rows: [...byKind.values()].sort((a, b) => b.open - a.open || a.kind.localeCompare(b.kind)),
      };
    },
  }),
  define({
    name: 'missed-reads',
    title: 'Missed reads by route',
    params: z.object({ cycle: cycle.optional(), route: z.string().max(20).optional() }),
    async run({ ctx }, p) {
      return {
        columns: ['route', 'cycle', 'meterId', 'kind', 'code', 'message', 'status', 'at'],
        rows: await missedReads(ctx.store.db, p),
      };
    },
  }),
  define({
    name: 'posting-summary',
    title: 'Posting to billing, per batch',
    params: z.object({ from: day.optional(), to: day.optional() }),
    async run({ ctx }, p) {
      return {
        columns: ['batchId', 'kind', 'rows', 'checksum', 'jobRun', 'postedAt'],
        rows: await postedBatches(ctx.store.db, dayBounds(p)),
      };
    },
  }),
  define({
    name: 'work-order-completion',
    title: 'Work-order completion times',
    params: z.object({ from: day.optional(), to: day.optional() }),
    async run({ ctx }, p) {
      const q = finishedWorkOrders(ctx.store.db, dayBounds(p));
      const byType = new Map<string, { completed: number; failed: number; hours: number[] }>();
      for (const o of await q) {
        const t = byType.get(o.type) ?? { completed: 0, failed: 0, hours: [] };
        if (o.state === 'completed') {
          t.completed++;
          t.hours.push((Date.parse(o.updated_at) - Date.parse(o.created_at)) / 3_600_000);
        } else t.failed++;
        byType.set(o.type, t);
      }
      const round1 = (n: number | null) => (n === null ? null : Math.round(n * 10) / 10);
      const rows = [...byType.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([type, t]) => {
          const sorted = [...t.hours].sort((a, b) => a - b);
          return {
            type,
            completed: t.completed,
            failed: t.failed,
            medianHours: round1(quantile(sorted, 0.5)),
            p90Hours: round1(quantile(sorted, 0.9)),
            maxHours: round1(sorted.at(-1) ?? null),
          };
        });
      return { columns: ['type', 'completed', 'failed', 'medianHours', 'p90Hours', 'maxHours'], rows };
    },
  }),
  define({
    name: 'ami-coverage',
    title: 'AMI coverage by day',
    params: z.object({ from: day.optional(), to: day.optional() }),
    async run({ ctx }, p) {
      const to = p.to ?? addDays(localDate(ctx.clock(), ctx.config.timeZone), -1);
      const from = p.from ?? addDays(to, -13);
      const expected = new Set(
        (await ctx.billing.meterRegisters())
          .filter((r) => r.radioId != null && r.radioId !== '')
          .map((r) => String(r.meterId)),
      );
      const rows = await amiDailyCoverage(ctx.store.db, from, to);
      const out = [];
      for (let d = from; d <= to; d = addDays(d, 1)) {
        const r = rows.find((x) => x.read_date === d);
        const withData = Number(r?.meters ?? 0);
        out.push({
          date: d,
          amiMeters: expected.size,
          withData,
          withoutData: Math.max(0, expected.size - withData),
          coveragePct: pct(withData, expected.size),
          intervals: Number(r?.intervals ?? 0),
          estimatedIntervals: Number(r?.estimated ?? 0),
        });
      }
      return {
        columns: ['date', 'amiMeters', 'withData', 'withoutData', 'coveragePct', 'intervals', 'estimatedIntervals'],
        rows: out,
      };
    },
  }),
  define({
    name: 'prebill-ledger',
    title: 'Preliminary billing ledger',
    params: z.object({ cycle }),
    async run({ ledger }, p) {
      const l = await ledger.ledger(p.cycle);
      return { columns: [...LEDGER_COLUMNS], rows: l.rows.map((r) => ({ ...r, flags: r.flags.join(' ') })) };
    },
  }),
];

export const REPORT_NAMES = REPORTS.map((r) => r.name) as [string, ...string[]];

export function findReport(name: string) {
  return REPORTS.find((r) => r.name === name);
}

/** RFC 4180 CSV: fields with a comma, quote or line break are quoted; a leading = + - @ is defused for spreadsheets. */
export function toCsv(table: ReportTable): string {
  const cell = (v: unknown) => {
    let s = v === null || v === undefined ? '' : Array.isArray(v) ? v.join(' ') : String(v);
    if (/^[=+\-@]/.test(s) && Number.isNaN(Number(s))) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return (
    [table.columns.join(','), ...table.rows.map((r) => table.columns.map((c) => cell(r[c])).join(','))].join('\r\n') +
    '\r\n'
  );
}

/** A report's from/to days as the instants they bound (UTC midnight, to exclusive). */
function dayBounds(p: { from?: string; to?: string }): TimeBounds {
  return {
    from: p.from ? `${p.from}T00:00:00.000Z` : undefined,
    to: p.to ? `${addDays(p.to, 1)}T00:00:00.000Z` : undefined,
  };
}
