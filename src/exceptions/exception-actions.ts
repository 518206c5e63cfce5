import type { Knex } from 'knex';
import type { GatewayContext } from '../app/context.js';
import { consumption, wrapOnDials } from '../core/consumption.js';
import { AppError, NotFoundError } from '../errors.js';
import { BILLING_READ, cycleMayPost, queueReadings, type StoredReading } from '../readings/billing-read.js';
import { audit } from '../store/audit-repo.js';
import { bumpVersion } from '../store/change-counters.js';

/**
 * What a CSR does with an exception in the queue:
 * - accept: the reading stands as read (a high read the customer confirmed); if nothing else
 *   holds it, it becomes valid and goes to billing;
 * - correct: the CSR keys the right value (the reader transposed digits); consumption is worked
 *   out again on the meter's dials and every open exception of that reading is resolved;
 * - estimate: the reading is replaced by the previous read plus the units expected from the
 *   account's history, marked estimated for billing.
 * Each is one transaction with its audit entry (who, when, value before and after).
 */
export type ExceptionAction =
  | { action: 'accept'; note?: string }
  | { action: 'correct'; reading: number; reason: string }
  | { action: 'estimate'; reason?: string };

export interface ActionResult {
  id: number;
  status: 'resolved';
  resolution: string;
  reading: { readKey: string; status: string; reading: number | null; readType: string; consumption: number | null; queuedForBilling: boolean } | null;
}

interface ExceptionRow {
  id: number;
  status: string;
  kind: string;
  read_key: string | null;
  route_id: number | null;
  meter_id: string | null;
}

type ReadingRow = StoredReading & { id: number; status: string; route_id: number | null; consumption: number | null; batch_id: number };

export async function resolveException(ctx: GatewayContext, id: number, act: ExceptionAction, actor: string): Promise<ActionResult> {
  const result = await applyAction(ctx, id, act, actor);
  if (result.reading) await bumpVersion(ctx.store.db, 'ledger');
  return result;
}

function applyAction(ctx: GatewayContext, id: number, act: ExceptionAction, actor: string): Promise<ActionResult> {
  const now = ctx.clock();
  return ctx.store.db.transaction(async (trx) => {
    const ex = (await trx('exceptions').where({ id }).first()) as ExceptionRow | undefined;
    if (!ex) throw new NotFoundError('exception', id);
    if (ex.status !== 'open') throw new AppError('BAD_STATE', `exception ${id} is ${ex.status} already`, { status: 409, field: 'status', record: id });
    let reading = ex.read_key ? ((await trx('readings').where({ read_key: ex.read_key }).first()) as ReadingRow | undefined) : undefined;
    // A meter the reader never reached (NOT_READ) has no reading: an estimate makes one.
    if (!reading && act.action === 'estimate' && ex.kind === 'NOT_READ') reading = await placeholderReading(trx, ex, now);
    if (act.action !== 'accept' && !reading) {
      throw new AppError('NO_READING', `exception ${id} (${ex.kind}) has no stored reading to ${act.action}; accept it or order a re-read`, { status: 409, field: 'action', record: id });
    }

    let resolution: string;
    let changed: Partial<ReadingRow> = {};
    if (act.action === 'accept') {
      resolution = `accepted${act.note ? `: ${act.note}` : ''}`;
    } else {
      const line = await routeLineOf(trx, reading!);
      if (act.action === 'correct') {
        if (act.reading >= 10 ** line.dials) throw new AppError('INVALID_INPUT', `a ${line.dials}-dial register reads 0 to ${10 ** line.dials - 1}`, { field: 'reading', value: String(act.reading), status: 400 });
        const used = consumption(line.prev_read, act.reading, line.dials);
        changed = { reading: act.reading, consumption: used.units, read_type: 'corrected' };
        resolution = `corrected from ${reading!.reading ?? 'no reading'} to ${act.reading}: ${act.reason}`;
      } else {
        const units = line.expected_units ?? Math.round(consumption(line.prev_read, line.high_limit, line.dials).units / 2);
        const value = wrapOnDials(line.prev_read + units, line.dials);
        changed = { reading: value, consumption: units, read_type: 'estimated', read_at: reading!.read_at ?? now.toISOString() };
        resolution = `estimated ${value} (${units} units from history)${act.reason ? `: ${act.reason}` : ''}`;
      }
    }

    const stamp = { status: 'resolved', resolved_by: actor.slice(0, 64), resolved_at: now.toISOString() };
    // Correcting or estimating replaces the reading, so every open exception about it is answered with it.
    const scope = act.action === 'accept' || !reading ? trx('exceptions').where({ id }) : trx('exceptions').where({ read_key: reading.read_key, status: 'open' });
    await scope.update({ ...stamp, resolution: resolution.slice(0, 500) });

    let after: ActionResult['reading'] = null;
    if (reading) {
      const stillOpen = await trx('exceptions').where({ read_key: reading.read_key, status: 'open' }).whereIn('severity', ['hold']).first();
      const hasValue = (changed.reading ?? reading.reading) !== null;
      const status = reading.status === 'valid' || !hasValue ? reading.status : stillOpen ? 'held' : 'valid';
      await trx('readings').where({ id: reading.id }).update({ ...changed, status });
      const updated = { ...reading, ...changed, status };
      let queued = false;
      if (status === 'valid' && updated.reading !== null) {
        const cycle = reading.route_id ? ((await trx('routes').select('cycle').where({ id: reading.route_id }).first()) as { cycle: string } | undefined)?.cycle : null;
        if (await cycleMayPost(trx, ctx.config, cycle)) {
          const batch = (await trx('import_batches').select('source').where({ id: reading.batch_id }).first()) as { source: string } | undefined;
          // A changed value must reach billing as changed: a read queued earlier but not sent yet is replaced.
          if (act.action !== 'accept') await trx('outbox').where({ kind: BILLING_READ, key: reading.read_key, status: 'pending' }).del();
          queued = (await queueReadings(trx, [{ ...updated, source: batch?.source ?? 'file' }], now)) > 0;
        }
      }
      after = { readKey: reading.read_key, status, reading: updated.reading === null ? null : Number(updated.reading), readType: updated.read_type ?? 'actual', consumption: updated.consumption === null ? null : Number(updated.consumption), queuedForBilling: queued };
    }
    await audit(trx, {
      actor,
      action: `exception.${act.action}`,
      target: `exception:${id}`,
      detail: { kind: ex.kind, meterId: ex.meter_id, resolution, ...(reading ? { readKey: reading.read_key, before: { reading: reading.reading === null ? null : Number(reading.reading), status: reading.status }, after } : {}) },
    }, now);
    return { id, status: 'resolved', resolution, reading: after };
  });
}

async function placeholderReading(trx: Knex.Transaction, ex: ExceptionRow & { batch_id?: number | null; value?: string | null }, now: Date): Promise<ReadingRow | undefined> {
  if (!ex.route_id || !ex.meter_id || !ex.batch_id) return undefined;
  const line = (await trx('route_lines').where({ route_id: ex.route_id, meter_id: ex.meter_id }).modify((q) => { if (ex.value) q.where({ sequence: Number(ex.value) }); }).first()) as Record<string, unknown> | undefined;
  if (!line) return undefined;
  const route = (await trx('routes').select('cycle').where({ id: ex.route_id }).first()) as { cycle: string };
  const readKey = `${ex.meter_id}|${Number(line.register)}|EST-${route.cycle}`;
  const row = {
    batch_id: ex.batch_id, route_id: ex.route_id, line_no: 0, sequence: Number(line.sequence), account: String(line.account), meter_id: ex.meter_id, register: Number(line.register),
    reading: null, read_at: null, method: null, read_code: null, skip_code: null, trouble_code: null, reader_id: null, note: null, consumption: null,
    status: 'skipped', read_key: readKey, read_type: 'actual', created_at: now.toISOString(),
  };
  await trx('readings').insert(row);
  await trx('exceptions').where({ id: ex.id }).update({ read_key: readKey });
  return (await trx('readings').where({ read_key: readKey }).first()) as ReadingRow;
}

async function routeLineOf(trx: Knex.Transaction, reading: ReadingRow): Promise<{ dials: number; prev_read: number; high_limit: number; expected_units: number | null }> {
  const row = (await trx('route_lines').where({ route_id: reading.route_id, meter_id: reading.meter_id, register: reading.register }).first()) as Record<string, unknown> | undefined;
  if (!row) throw new AppError('NO_ROUTE_LINE', `meter ${reading.meter_id} register ${reading.register} is not on the reading's route`, { status: 409, field: 'meter_id' });
  return { dials: Number(row.dials), prev_read: Number(row.prev_read), high_limit: Number(row.high_limit), expected_units: row.expected_units == null ? null : Number(row.expected_units) };
}

/** Several exceptions at once (keyboard review): each is its own transaction, and each failure is named, not fatal. */
export async function resolveMany(ctx: GatewayContext, ids: readonly number[], act: ExceptionAction, actor: string): Promise<{ resolved: ActionResult[]; failed: { id: number; code: string; message: string }[] }> {
  const resolved: ActionResult[] = [];
  const failed: { id: number; code: string; message: string }[] = [];
  for (const id of ids) {
    try {
      resolved.push(await resolveException(ctx, id, act, actor));
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      failed.push({ id, code: err.code, message: err.message });
    }
  }
  return { resolved, failed };
}
