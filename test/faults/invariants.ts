import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

/**
 * File mode: what the CIS would find in the exchange folder. Every posted reading and completed
 * order is in exactly one import file; every file is whole (its trailer counts its rows, its
 * sidecar's checksum is its own) and has its record; no file was written twice; no temporary
 * file is left where a half file could be read.
 */
export async function checkCisFiles(exchangeDir: string, billingUrl: string): Promise<string[]> {
  const v: string[] = [];
  const billing = openDb(billingUrl);
  try {
    for (const [kind, folder, table, keyOf] of [
      ['READS', 'reads-out', 'cis_read_upload', (f: string[]) => `${f[1]}|${f[2]}|${f[4]}`],
      ['FIELDWORK', 'fieldwork-out', 'cis_fieldwork_upload', (f: string[]) => String(f[1])],
    ] as const) {
      const dir = path.join(exchangeDir, folder);
      const names = existsSync(dir) ? readdirSync(dir) : [];
      for (const n of names.filter((x) => x.endsWith('.part'))) v.push(`${folder}/${n}: a temporary file was left`);
      const files = names.filter((x) => !x.startsWith('.') && x.endsWith('.csv'));
      const seen = new Map<string, string>();
      for (const name of files) {
        const text = readFileSync(path.join(dir, name), 'utf8');
        const sidecar = existsSync(path.join(dir, `${name}.sha256`))
          ? readFileSync(path.join(dir, `${name}.sha256`), 'utf8')
          : '';
        if (!sidecar.startsWith(createHash('sha256').update(text).digest('hex')))
          v.push(`${folder}/${name}: its .sha256 sidecar does not match it`);
        const lines = text.split('\r\n').filter(Boolean);
        const trailer = lines.at(-1)?.split(',') ?? [];
        const rows = lines.slice(1, -1);
        if (trailer[0] !== 'TRAILER' || Number(trailer[1]) !== rows.length)
          v.push(`${folder}/${name}: trailer ${lines.at(-1)} does not count its ${rows.length} rows`);
        for (const r of rows) {
          const key = keyOf(r.split(','));
          const before = seen.get(key);
          if (before) v.push(`${kind} ${key}: in ${before} and again in ${name}`);
          seen.set(key, name);
        }
      }
      const exported = Number((await billing('cis_file_exports').where({ kind }).count({ n: '*' }).first())!.n);
      if (exported !== files.length) v.push(`${folder}: ${files.length} file(s), ${exported} recorded as written`);
      const posted = (await billing(table).select('*')) as Record<string, unknown>[];
      const postedKeys = posted.map((p) =>
        kind === 'READS'
          ? `${p.meter_id}|${p.register_no}|${p.read_at instanceof Date ? p.read_at.toISOString() : new Date(String(p.read_at)).toISOString()}`
          : String(p.order_no),
      );
      const missing = postedKeys.filter((k) => !seen.has(k));
      if (missing.length) v.push(`${kind}: ${missing.length} posted row(s) in no import file, e.g. ${missing[0]}`);
      if (seen.size !== postedKeys.length)
        v.push(`${kind}: ${seen.size} row(s) in the import files, ${postedKeys.length} posted`);
    }
    return v;
  } finally {
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
