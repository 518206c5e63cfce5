import type { Knex } from 'knex';
import { selectWhereIn } from '../../db/sql-utils.js';
import type { CisRouteRecord, CisServiceOrder } from '../../../core/csv/cis-layout.js';

/**
 * File mode keeps a mirror of what the CIS's route exports say, in the reference CIS schema, so
 * every part of fieldgate reads billing the same way in either mode. A route file is the whole
 * of its route: its meters, registers and previous reads replace what the mirror held for it.
 */
export async function mirrorRoute(db: Knex, route: string, records: readonly CisRouteRecord[]): Promise<void> {
  if (records.length === 0) return;
  const first = records[0]!;
  await db.transaction(async (trx) => {
    const upsert = async (table: string, rows: Record<string, unknown>[], key: string[]) => {
      for (let i = 0; i < rows.length; i += 200)
        await trx(table)
          .insert(rows.slice(i, i + 200))
          .onConflict(key)
          .merge();
    };
    const unique = <T>(rows: readonly T[], key: (r: T) => string) => [
      ...new Map(rows.map((r) => [key(r), r])).values(),
    ];
    await upsert(
      'cis_routes',
      [
        {
          route_code: route,
          description: first.routeDescription,
          cycle_no: first.cycle,
          next_read_date: first.readDate,
        },
      ],
      ['route_code'],
    );
    await upsert(
      'cis_premises',
      unique(records, (r) => r.premiseId).map((r) => ({
        premise_id: r.premiseId,
        address_line: r.address,
        city: r.city,
        state: '',
        zip: '',
      })),
      ['premise_id'],
    );
    await upsert(
      'cis_rates',
      unique(records, (r) => r.rateCode).map((r) => ({
        rate_code: r.rateCode,
        meter_type: r.meterType,
        description: r.rateCode,
        fixed_charge: 0,
        unit_charge: 0,
      })),
      ['rate_code'],
    );
    await upsert(
      'cis_accounts',
      unique(records, (r) => r.accountNo).map((r) => ({
        account_no: r.accountNo,
        customer_name: r.customerName,
        premise_id: r.premiseId,
        status: r.accountStatus,
        balance_due: 0,
        rate_code: r.rateCode,
      })),
      ['account_no'],
    );
    // Meters that left the route (moved, removed) keep their data but no longer read on it.
    await trx('cis_meters')
      .where({ route_code: route })
      .whereNotIn(
        'meter_id',
        records.map((r) => r.meterId),
      )
      .update({ route_code: null, route_seq: null });
    await upsert(
      'cis_meters',
      unique(records, (r) => r.meterId).map((r) => ({
        meter_id: r.meterId,
        serial_no: r.serial,
        meter_type: r.meterType,
        dials: r.dials,
        multiplier: r.multiplier,
        radio_id: r.radioId,
        account_no: r.accountNo,
        premise_id: r.premiseId,
        route_code: route,
        route_seq: r.sequence,
        location_note: r.location,
        status: r.accountStatus === 'A' ? 'A' : 'I',
      })),
      ['meter_id'],
    );
    await upsert(
      'cis_registers',
      records.map((r) => ({
        meter_id: r.meterId,
        register_no: r.register,
        uom: r.uom,
        last_read_value: r.prevRead,
        last_read_date: r.prevReadDate,
      })),
      ['meter_id', 'register_no'],
    );
    // The previous read is history, for the limits and estimates (once, however often the file comes):
    // the route's known history read in one pass, not a query per register.
    const day = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v)).slice(0, 10);
    const known = new Set(
      (
        await selectWhereIn<{ meter_id: string; register_no: number; read_date: unknown }>(
          trx,
          [...new Set(records.map((r) => r.meterId))],
          (part) => trx('cis_read_history').select('meter_id', 'register_no', 'read_date').whereIn('meter_id', part),
        )
      ).map((h) => `${h.meter_id}|${Number(h.register_no)}|${day(h.read_date)}`),
    );
    const fresh = unique(
      records.filter((r) => !known.has(`${r.meterId}|${r.register}|${r.prevReadDate}`)),
      (r) => `${r.meterId}|${r.register}|${r.prevReadDate}`,
    );
    for (let i = 0; i < fresh.length; i += 200)
      await trx('cis_read_history').insert(
        fresh.slice(i, i + 200).map((r) => ({
          meter_id: r.meterId,
          register_no: r.register,
          read_date: r.prevReadDate,
          read_value: r.prevRead,
          read_type: 'A',
          consumption: r.prevConsumption ?? 0,
        })),
      );
  });
}

/** Service orders from the CIS's order export, into the mirror (an order number seen again is updated). */
export async function mirrorServiceOrders(db: Knex, orders: readonly CisServiceOrder[]): Promise<void> {
  for (let i = 0; i < orders.length; i += 200)
    await db('cis_service_orders')
      .insert(
        orders.slice(i, i + 200).map((o) => ({
          order_no: o.orderNo,
          account_no: o.accountNo,
          meter_id: o.meterId,
          order_type: o.orderType,
          status: o.status,
          created_at: new Date(o.createdAt),
          due_date: o.dueDate,
          notes: o.notes,
        })),
      )
      .onConflict('order_no')
      .merge();
}
