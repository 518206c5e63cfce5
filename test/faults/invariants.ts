import { readFileSync } from 'node:fs';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import { DateTime } from 'luxon';
import { packageRoot } from '../../src/infra/config/paths.js';
import { sqliteFileOf } from '../../src/infra/db/connect.js';
import { parseJournal } from '../../src/flows/sim/journal.js';

/**
 * After a run settles, what the field sent against what billing holds, read straight from the
 * databases and the devices' journal (decoded here from the layout's columns, not with the
 * gateway's own codec):
 *  - every reading a device made (the field app's too) is stored once, and each photo the app sent is kept once in the gateway (nothing lost from a cleared device);
 *  - every reading with a value is in billing exactly once with the value and time read, unless
 *    VEE holds it for a CSR (then it is held, with an open exception, and not in billing);
 *  - billing holds no reading a device did not make, and none twice;
 *  - every order the technician completed is in billing's field-work upload exactly once;
 *  - every AMI interval dropped is stored once, and each meter-day's derived read is in billing once.
 */
export interface RunRecord {
  journalFile: string;
  /** What the scripted field app read and sent (its readings count as a device's). */
  app: { readings: SentReading[]; photos: number };
  zone: string;
  completedOrders: { orderNo: string; outcome: string }[];
  ami: { meters: string[]; days: number };
}

interface Column {
  start: number;
  length: number;
}
const layout = JSON.parse(readFileSync(path.join(packageRoot, 'config', 'layouts', 'read-v1.json'), 'utf8')) as {
  fields: ({ name: string } & Column)[];
};
const col = (name: string): Column => layout.fields.find((f) => f.name === name)!;
const cut = (line: string, c: Column) => line.slice(c.start - 1, c.start - 1 + c.length).trim();

export interface SentReading {
  device: string;
  meterId: string;
  register: number;
  value: number | null;
  readAt: string;
}

export function sentReadings(journalText: string, zone: string): SentReading[] {
  return parseJournal(journalText).map(({ deviceId, line }) => {
    const raw = cut(line, col('reading'));
    const local = DateTime.fromFormat(cut(line, col('read_at')), 'yyyyMMddHHmmss', { zone });
    return {
      device: deviceId,
      meterId: cut(line, col('meter_id')),
      register: Number(cut(line, col('register'))),
      value: raw === '' ? null : Number(raw),
      readAt: local.toUTC().toISO({ suppressMilliseconds: true })!,
    };
  });
}

const iso = (v: unknown) =>
  DateTime.fromJSDate(
    v instanceof Date
      ? v
      : new Date(String(v).includes('T') || String(v).endsWith('Z') ? String(v) : `${String(v).replace(' ', 'T')}Z`),
  )
    .toUTC()
    .toISO({ suppressMilliseconds: true })!;

export async function checkInvariants(rec: RunRecord, storeUrl: string, billingUrl: string): Promise<string[]> {
  const v: string[] = [];
  const store = openDb(storeUrl);
  const billing = openDb(billingUrl);
  try {
    const sent = [...sentReadings(readFileSync(rec.journalFile, 'latin1'), rec.zone), ...rec.app.readings];
    if (sent.length === 0) v.push('no device made any reading: the run did not exercise the reading path');
    const devices = new Set(sent.map((s) => s.device));
    for (const d of ['HH-0001', 'T-0001', 'app.reader1']) if (!devices.has(d)) v.push(`${d} made no readings`);
    const photos = Number((await store('attachments').count({ n: '*' }).first())!.n);
    if (photos !== rec.app.photos)
      v.push(
        `the field app sent ${rec.app.photos} distinct photo(s); the gateway keeps ${photos} (expected each once)`,
      );

    const stored = await store('readings').select('meter_id', 'register', 'reading', 'status');
    const storedBy = groupBy(stored, (r) => `${r.meter_id}|${r.register}`);
    const open = new Set(
      (await store('exceptions').where({ status: 'open' }).select('meter_id')).map((r) => r.meter_id as string),
    );
    const billed = await billing('cis_read_upload').select(
      'meter_id',
      'register_no',
      'read_value',
      'read_at',
      'read_source',
    );
    const fieldBilled = billed.filter((r) => r.read_source !== 'AMI');
    const billedBy = groupBy(fieldBilled, (r) => `${r.meter_id}|${r.register_no}`);

    const sentKeys = new Set<string>();
    for (const s of sent) {
      const key = `${s.meterId}|${s.register}`;
      const what = `${s.device}'s reading of meter ${s.meterId} register ${s.register}`;
      if (sentKeys.has(key))
        v.push(`${what} was made twice: the run read a meter twice, which this checker does not expect`);
      sentKeys.add(key);
      const inStore = storedBy.get(key) ?? [];
      if (inStore.length !== 1) v.push(`${what}: stored ${inStore.length} times in the gateway (expected once)`);
      const inBilling = billedBy.get(key) ?? [];
      if (inBilling.length > 1) v.push(`${what}: in billing ${inBilling.length} times`);
      if (s.value === null) {
        if (inBilling.length) v.push(`${what}: a skip with no value reached billing`);
        continue;
      }
      if (inBilling.length === 1) {
        const b = inBilling[0]!;
        if (Number(b.read_value) !== s.value || iso(b.read_at) !== s.readAt)
          v.push(
            `${what}: billing has ${b.read_value} at ${iso(b.read_at)}, the device read ${s.value} at ${s.readAt}`,
          );
      } else if (inBilling.length === 0) {
        const held = inStore.length === 1 && inStore[0]!.status === 'held' && open.has(s.meterId);
        if (!held)
          v.push(
            `${what} (${s.value} at ${s.readAt}): not in billing, and not held for a CSR (stored as ` +
              `${inStore[0]?.status ?? 'nothing'})`,
          );
      }
    }
    for (const [key, rows] of billedBy)
      if (!sentKeys.has(key))
        v.push(`billing holds ${rows.length} reading(s) of ${key.replace('|', ' register ')} that no device made`);

    const work = await billing('cis_fieldwork_upload').select('order_no', 'outcome');
    const workBy = groupBy(work, (r) => String(r.order_no));
    for (const o of rec.completedOrders) {
      const rows = workBy.get(o.orderNo) ?? [];
      if (rows.length !== 1)
        v.push(`completed order ${o.orderNo}: in billing's field-work upload ${rows.length} times (expected once)`);
      else if (rows[0]!.outcome !== o.outcome)
        v.push(
          `completed order ${o.orderNo}: billing has outcome ${rows[0]!.outcome}, the technician recorded ${o.outcome}`,
        );
    }
    const worked = new Set(rec.completedOrders.map((o) => o.orderNo));
    for (const no of workBy.keys())
      if (!worked.has(no)) v.push(`billing's field-work upload holds order ${no}, which no technician completed`);

    if (rec.ami.meters.length) {
      const expected = rec.ami.meters.length * 96 * rec.ami.days;
      const intervals = Number(
        (await store('ami_intervals').whereIn('meter_id', rec.ami.meters).count({ n: '*' }).first())!.n,
      );
      if (intervals !== expected)
        v.push(`AMI: ${intervals} intervals stored for the dropped files' meters, ${expected} were dropped`);
      const days = Number(
        (await store('ami_daily_reads').whereIn('meter_id', rec.ami.meters).count({ n: '*' }).first())!.n,
      );
      if (days !== rec.ami.meters.length * rec.ami.days)
        v.push(`AMI: ${days} daily reads derived, expected ${rec.ami.meters.length * rec.ami.days} (meters × days)`);
      const amiBilled = groupBy(
        billed.filter((r) => r.read_source === 'AMI'),
        (r) => `${r.meter_id}|${iso(r.read_at)}`,
      );
      for (const [key, rows] of amiBilled)
        if (rows.length > 1) v.push(`AMI daily read ${key}: in billing ${rows.length} times`);
      if (amiBilled.size !== days) v.push(`AMI: ${amiBilled.size} daily reads in billing, ${days} derived`);
    }
    return v;
  } finally {
    await store.destroy();
    await billing.destroy();
  }
}

/** A read-only look at a run's store or billing database. */
export function openDb(url: string): Knex {
  return url.startsWith('sqlite:')
    ? knex({
        client: 'better-sqlite3',
        connection: { filename: sqliteFileOf(url), options: { readonly: true } },
        useNullAsDefault: true,
      })
    : knex({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
}

function groupBy<T>(rows: readonly T[], keyOf: (r: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const k = keyOf(r);
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return m;
}
