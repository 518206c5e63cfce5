import type { GatewayContext } from '../context.js';
import {
  deleteIntervalsBefore,
  dropMonthsBefore,
  ensureMonths,
  isPartitioned,
  listMonths,
  monthOf,
  monthsBetween,
} from '../../infra/store/interval-partitions.js';

/**
 * The `ami-partitions` job: the months ahead made (PostgreSQL), and intervals older than
 * `ami.retentionMonths` dropped, whole months at a time: a month goes once all of it is older
 * than the retention. Daily reads, register reads and everything billed stay.
 */
export async function keepIntervalMonths(ctx: GatewayContext): Promise<Record<string, number>> {
  const db = ctx.store.db;
  const { retentionMonths, partitionsAhead } = ctx.config.ami;
  const now = Math.floor(ctx.clock().getTime() / 1000);
  const thisMonth = monthOf(now);
  // The first instant kept: the start of the month `retentionMonths` before this one.
  let cutoff: number | null = null;
  if (retentionMonths !== null) {
    const d = new Date(thisMonth.from * 1000);
    cutoff = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - retentionMonths, 1) / 1000;
  }
  if (!(await isPartitioned(db))) {
    const deleted = cutoff === null ? 0 : await deleteIntervalsBefore(db, cutoff);
    return { made: 0, dropped: 0, deleted };
  }
  const before = new Set((await listMonths(db)).map((m) => m.table));
  const ahead = monthsBetween(now, thisMonth.from + partitionsAhead * 31 * 86_400);
  const known = new Set(before);
  await ensureMonths((sql) => db.raw(sql), ahead, known);
  const dropped = cutoff === null ? [] : await dropMonthsBefore(db, cutoff);
  if (dropped.length)
    ctx.log.info(`interval months dropped (ami.retentionMonths ${retentionMonths}): ${dropped.join(', ')}`);
  return { made: known.size - before.size, dropped: dropped.length, deleted: 0 };
}
