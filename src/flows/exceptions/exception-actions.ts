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

import type { Knex } from 'knex';
import type { ExceptionsRow, ReadingsRow } from '../../infra/store/tables.js';
import type { GatewayContext } from '../context.js';
import { consumption, wrapOnDials } from '../../core/consumption.js';
import { AppError, NotFoundError } from '../../errors.js';
import { BILLING_READ, cycleMayPost, queueReadings } from '../readings/billing-read.js';
import { audit } from '../../infra/store/audit-repo.js';
import { bumpVersion } from '../../infra/store/change-counters.js';
import {
  exceptionById,
  readingStillHeld,
  resolveOpenExceptions,
  setExceptionReadKey,
} from '../../infra/store/exceptions-repo.js';
import { sourceOfBatch } from '../../infra/store/import-batches-repo.js';
import { dropPending } from '../../infra/store/outbox-repo.js';
import { insertReading, readingRowByKey, updateReading } from '../../infra/store/readings-repo.js';
import { cycleOfRoute, routeLineRow } from '../../infra/store/routes-repo.js';

export type ExceptionAction =
  | { action: 'accept'; note?: string }
  | { action: 'correct'; reading: number; reason: string }
  | { action: 'estimate'; reason?: string };

export interface ActionResult {
  id: number;
  status: 'resolved';
  resolution: string;
  reading: {
    readKey: string;
    status: string;
    reading: number | null;
    readType: string;
    consumption: number | null;
    queuedForBilling: boolean;
  } | null;
}

type ExceptionRow = ExceptionsRow;
type ReadingRow = ReadingsRow;

export async function resolveException(
  ctx: GatewayContext,
  id: number,
  act: ExceptionAction,
  actor: string,
): Promise<ActionResult> {
  const result = await applyAction(ctx, id, act, actor);
  if (result.reading) await bumpVersion(ctx.store.db, 'ledger');
  return result;
}

function applyAction(ctx: GatewayContext, id: number, act: ExceptionAction, actor: string): Promise<ActionResult> {
  const now = ctx.clock();
  return ctx.store.db.transaction(async (trx) => {
    const ex = await exceptionById(trx, id);
    if (!ex) throw new NotFoundError('exception', id);
    if (ex.status !== 'open')
      throw new AppError('BAD_STATE', `exception ${id} is ${ex.status} already`, {
        status: 409,
        field: 'status',
        record: id,
      });
    let reading = ex.read_key ? await readingRowByKey(trx, ex.read_key) : undefined;
    // A meter the reader never reached (NOT_READ) has no reading: an estimate makes one.
    if (!reading && act.action === 'estimate' && ex.kind === 'NOT_READ')
      reading = await placeholderReading(trx, ex, now);
    if (act.action !== 'accept' && !reading) {
      throw new AppError(
        'NO_READING',
        `exception ${id} (${ex.kind}) has no stored reading to ${act.action}; accept it or order a re-read`,
        { status: 409, field: 'action', record: id },
      );
    }

    let resolution: string;
    let changed: Partial<ReadingRow> = {};
    if (act.action === 'accept') {
      resolution = `accepted${act.note ? `: ${act.note}` : ''}`;
    } else {
      const line = await routeLineOf(trx, reading!);
      if (act.action === 'correct') {
        if (act.reading >= 10 ** line.dials)
          throw new AppError('INVALID_INPUT', `a ${line.dials}-dial register reads 0 to ${10 ** line.dials - 1}`, {
            field: 'reading',
            value: String(act.reading),
            status: 400,
          });
        const used = consumption(line.prev_read, act.reading, line.dials);
        changed = { reading: act.reading, consumption: used.units, read_type: 'corrected' };
        resolution = `corrected from ${reading!.reading ?? 'no reading'} to ${act.reading}: ${act.reason}`;
      } else {
        const units =
          line.expected_units ?? Math.round(consumption(line.prev_read, line.high_limit, line.dials).units / 2);
        const value = wrapOnDials(line.prev_read + units, line.dials);
        changed = {
          reading: value,
          consumption: units,
          read_type: 'estimated',
          read_at: reading!.read_at ?? now.toISOString(),
        };
        resolution = `estimated ${value} (${units} units from history)${act.reason ? `: ${act.reason}` : ''}`;
      }
    }

    // Correcting or estimating replaces the reading, so every open exception about it is answered with it.
    const scope = act.action === 'accept' || !reading ? { id } : { readKey: reading.read_key };
    await resolveOpenExceptions(trx, scope, { resolution, by: actor, at: now.toISOString() });

    let after: ActionResult['reading'] = null;
    if (reading) {
      const stillOpen = await readingStillHeld(trx, reading.read_key);
      const hasValue = (changed.reading ?? reading.reading) !== null;
      const status = reading.status === 'valid' || !hasValue ? reading.status : stillOpen ? 'held' : 'valid';
      await updateReading(trx, reading.id, { ...changed, status });
      const updated = { ...reading, ...changed, status };
      let queued = false;
      if (status === 'valid' && updated.reading !== null) {
        const cycle = reading.route_id ? await cycleOfRoute(trx, reading.route_id) : null;
        if (await cycleMayPost(trx, ctx.config, cycle)) {
          const source = await sourceOfBatch(trx, reading.batch_id);
          // A changed value must reach billing as changed: a read queued earlier but not sent yet is replaced.
          if (act.action !== 'accept') await dropPending(trx, BILLING_READ, reading.read_key);
          queued = (await queueReadings(trx, [{ ...updated, source: source ?? 'file' }], now)) > 0;
        }
      }
      after = {
        readKey: reading.read_key,
        status,
        reading: updated.reading === null ? null : Number(updated.reading),
        readType: updated.read_type ?? 'actual',
        consumption: updated.consumption === null ? null : Number(updated.consumption),
        queuedForBilling: queued,
      };
    }
    await audit(
      trx,
      {
        actor,
        action: `exception.${act.action}`,
        target: `exception:${id}`,
        detail: {
          kind: ex.kind,
          meterId: ex.meter_id,
          resolution,
          ...(reading
            ? {
                readKey: reading.read_key,
                before: { reading: reading.reading === null ? null : Number(reading.reading), status: reading.status },
                after,
              }
            : {}),
        },
      },
      now,
    );
    return { id, status: 'resolved', resolution, reading: after };
  });
}

async function placeholderReading(
  trx: Knex.Transaction,
  ex: ExceptionRow & { batch_id?: number | null; value?: string | null },
  now: Date,
): Promise<ReadingRow | undefined> {
  if (!ex.route_id || !ex.meter_id || !ex.batch_id) return undefined;
  const line = await routeLineRow(trx, ex.route_id, ex.meter_id, ex.value ? { sequence: Number(ex.value) } : {});
  if (!line) return undefined;
  const cycle = await cycleOfRoute(trx, ex.route_id);
  const readKey = `${ex.meter_id}|${Number(line.register)}|EST-${cycle}`;
  const row = {
    batch_id: ex.batch_id,
    route_id: ex.route_id,
    line_no: 0,
    sequence: Number(line.sequence),
    account: String(line.account),
    meter_id: ex.meter_id,
    register: Number(line.register),
    reading: null,
    read_at: null,
    method: null,
    read_code: null,
    skip_code: null,
    trouble_code: null,
    reader_id: null,
    note: null,
    consumption: null,
    status: 'skipped',
    read_key: readKey,
    read_type: 'actual',
    created_at: now.toISOString(),
  };
  await insertReading(trx, row);
  await setExceptionReadKey(trx, ex.id, readKey);
  return readingRowByKey(trx, readKey);
}

async function routeLineOf(
  trx: Knex.Transaction,
  reading: ReadingRow,
): Promise<{ dials: number; prev_read: number; high_limit: number; expected_units: number | null }> {
  const row = reading.route_id
    ? await routeLineRow(trx, reading.route_id, reading.meter_id, { register: reading.register })
    : undefined;
  if (!row)
    throw new AppError(
      'NO_ROUTE_LINE',
      `meter ${reading.meter_id} register ${reading.register} is not on the reading's route`,
      { status: 409, field: 'meter_id' },
    );
  return {
    dials: Number(row.dials),
    prev_read: Number(row.prev_read),
    high_limit: Number(row.high_limit),
    expected_units: row.expected_units == null ? null : Number(row.expected_units),
  };
}

/** Several exceptions at once (keyboard review): each is its own transaction, and each failure is named, not fatal. */
export async function resolveMany(
  ctx: GatewayContext,
  ids: readonly number[],
  act: ExceptionAction,
  actor: string,
): Promise<{ resolved: ActionResult[]; failed: { id: number; code: string; message: string }[] }> {
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
