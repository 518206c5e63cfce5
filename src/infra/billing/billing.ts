/**
 * The only code that talks to the billing database. Reads routes, meters and history; writes
 * reads to the upload staging table in batches, inside one transaction per batch, skipping any
 * read whose key billing already holds, so a retried post never duplicates.
 */

import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { connect, dialectOf } from '../db/connect.js';
import { chunk, insertMany, isConnectionError, selectWhereIn } from '../db/sql-utils.js';
import { BillingError, errorMessage } from '../../errors.js';
import type { BillingMapping, MappedEntity } from './mapping.js';
import { MssqlBulkLoader } from './mssql-bulk.js';
import * as q from './queries.js';

export interface BillingRoute {
  code: string;
  description: string;
  cycle: number;
  nextReadDate: string;
}

export interface RouteRegister {
  meterId: string;
  serial: string;
  meterType: 'W' | 'E' | 'G';
  dials: number;
  multiplier: number;
  radioId: string | null;
  routeSeq: number;
  location: string | null;
  accountNo: string;
  customerName: string;
  address: string;
  city: string;
  registerNo: number;
  uom: string;
  lastReadValue: number;
  lastReadDate: string;
  /** Oldest first. */
  history: { date: string; consumption: number }[];
}

/** What a post put into billing: a batch with its checksum, or nothing new (no batch). */
export type PostResult = { posted: number; alreadyPosted: number } & (
  { batchId: string; checksum: string } | { batchId: null; checksum: null }
);

const isoDate = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v)).slice(0, 10);
const ENTITIES: MappedEntity[] = [
  'routes',
  'premises',
  'accounts',
  'meters',
  'registers',
  'readHistory',
  'readUpload',
  'uploadBatch',
  'serviceOrders',
  'fieldWorkUpload',
];

/** SQL Server only: batches of at least `minRows` go through the `mssql` package's bulk load. */
export interface BulkLoad {
  loader: Pick<MssqlBulkLoader, 'transaction' | 'close'>;
  minRows: number;
}

/** The three writes of a post, on a knex transaction or on a bulk-load session. */
interface PostSteps {
  existingKeys(keys: readonly string[]): Promise<Set<string>>;
  insertBatch(row: q.UploadBatchRow): Promise<void>;
  insertRows(rows: readonly Record<string, unknown>[]): Promise<void>;
}

/** Meter-register rows in meterRegisters' order: by meter id, then register number. */
export function byMeterAndRegister(a: Record<string, unknown>, b: Record<string, unknown>): number {
  if (a.meterId === b.meterId) return Number(a.registerNo) - Number(b.registerNo);
  return String(a.meterId) < String(b.meterId) ? -1 : 1;
}

export class Billing {
  constructor(
    readonly db: Knex,
    readonly mapping: BillingMapping,
    readonly bulk: BulkLoad | null = null,
  ) {}

  static open(url: string, mapping: BillingMapping, opts: { bulkLoadMinRows?: number } = {}): Billing {
    const db = connect(url);
    const bulk =
      dialectOf(url) === 'mssql'
        ? { loader: new MssqlBulkLoader(url, db), minRows: opts.bulkLoadMinRows ?? 1000 }
        : null;
    return new Billing(db, mapping, bulk);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.db.destroy(), this.bulk?.loader.close()]);
  }

  /** Checks that every mapped table and column exists; the error names the first one that does not. */
  async verify(): Promise<void> {
    for (const entity of ENTITIES) {
      try {
        await q.probeEntity(this.db, this.mapping, entity);
      } catch (err) {
        const { table, columns } = this.mapping[entity];
        if (isConnectionError(err)) throw unavailable(err);
        throw new BillingError(
          'BILLING_SCHEMA',
          `billing mapping '${entity}': table ${table} with columns ${Object.values(columns).join(', ')} cannot be ` +
            `read: ${errorMessage(err)}`,
          err,
        );
      }
    }
  }

  async listRoutes(): Promise<BillingRoute[]> {
    const rows = await this.run(() => q.selectRoutes(this.db, this.mapping));
    return rows.map(toRoute);
  }

  async getRoute(code: string): Promise<BillingRoute | null> {
    const rows = await this.run(() => q.selectRoute(this.db, this.mapping, code));
    return rows[0] ? toRoute(rows[0]) : null;
  }

  /** Every register of every active meter on a route, in read order, with its history since `historySince`. */
  async routeRegisters(routeCode: string, historySince: string): Promise<RouteRegister[]> {
    return this.guard(async () => {
      const meters = (await q.selectRouteMeters(this.db, this.mapping, routeCode)) as Record<string, unknown>[];
      const ids = meters.map((m) => String(m.meterId));
      const registers = await selectWhereIn<Record<string, unknown>>(this.db, ids, (part) =>
        q.selectRegisters(this.db, this.mapping, part),
      );
      const history = await selectWhereIn<Record<string, unknown>>(this.db, ids, (part) =>
        q.selectHistory(this.db, this.mapping, part, historySince),
      );
      const historyByRegister = new Map<string, { date: string; consumption: number }[]>();
      for (const h of history) {
        const key = `${String(h.meterId)}|${Number(h.registerNo)}`;
        const list = historyByRegister.get(key) ?? [];
        list.push({ date: isoDate(h.readDate), consumption: Number(h.consumption) });
        historyByRegister.set(key, list);
      }
      const registersByMeter = new Map<string, Record<string, unknown>[]>();
      for (const r of registers) {
        const list = registersByMeter.get(String(r.meterId)) ?? [];
        list.push(r);
        registersByMeter.set(String(r.meterId), list);
      }
      const out: RouteRegister[] = [];
      for (const m of meters) {
        const regs = (registersByMeter.get(String(m.meterId)) ?? []).sort(
          (a, b) => Number(a.registerNo) - Number(b.registerNo),
        );
        for (const r of regs) {
          const key = `${String(m.meterId)}|${Number(r.registerNo)}`;
          out.push({
            meterId: String(m.meterId),
            serial: String(m.serial),
            meterType: String(m.meterType) as RouteRegister['meterType'],
            dials: Number(m.dials),
            multiplier: Number(m.multiplier),
            radioId: m.radioId == null ? null : String(m.radioId),
            routeSeq: Number(m.routeSeq),
            location: m.location == null ? null : String(m.location),
            accountNo: String(m.accountNo),
            customerName: String(m.customerName),
            address: String(m.address),
            city: String(m.city),
            registerNo: Number(r.registerNo),
            uom: String(r.uom),
            lastReadValue: Number(r.lastReadValue),
            lastReadDate: isoDate(r.lastReadDate),
            history: (historyByRegister.get(key) ?? []).sort((a, b) => a.date.localeCompare(b.date)),
          });
        }
      }
      return out;
    });
  }

  /** Where each known meter is: meter id → its route (meters billing does not know are absent). */
  async findMeters(
    meterIds: readonly string[],
  ): Promise<Map<string, { routeCode: string | null; accountNo: string | null }>> {
    return this.guard(async () => {
      const rows = await selectWhereIn<Record<string, unknown>>(this.db, [...new Set(meterIds)], (part) =>
        q.selectMetersById(this.db, this.mapping, part),
      );
      return new Map(
        rows.map((r) => [
          String(r.meterId),
          {
            routeCode: r.routeCode == null ? null : String(r.routeCode),
            accountNo: r.accountNo == null ? null : String(r.accountNo),
          },
        ]),
      );
    });
  }

  /** Account, customer, multiplier and rate of each meter, for the preliminary billing ledger. */
  async ledgerMeters(meterIds: readonly string[]): Promise<Map<string, LedgerMeter>> {
    return this.guard(async () => {
      const rows = await selectWhereIn<Record<string, unknown>>(this.db, [...new Set(meterIds)], (part) =>
        q.selectLedgerMeters(this.db, this.mapping, part),
      );
      return new Map(
        rows.map((r) => [
          String(r.meterId),
          {
            accountNo: String(r.accountNo),
            customerName: String(r.customerName),
            multiplier: Number(r.multiplier),
            rate: { code: String(r.rateCode), fixedCharge: Number(r.fixedCharge), unitCharge: Number(r.unitCharge) },
          },
        ]),
      );
    });
  }

  /** Accounts past due (see selectPastDueAccounts). */
  async pastDueAccounts(dueOnOrBefore: string, minBalance: number): Promise<AccountStanding[]> {
    return (await this.run(() => q.selectPastDueAccounts(this.db, this.mapping, dueOnOrBefore, minBalance))).map(
      toStanding,
    );
  }

  /** Where some accounts stand now: balance, due date, arrangement. */
  async accountStanding(accountNos: readonly string[]): Promise<Map<string, AccountStanding>> {
    return this.guard(async () => {
      const rows = await selectWhereIn<Record<string, unknown>>(this.db, [...new Set(accountNos)], (part) =>
        q.selectAccountStanding(this.db, this.mapping, part),
      );
      return new Map(rows.map((r) => [String(r.accountNo), toStanding(r)]));
    });
  }

  /** Which of some accounts billing counts as active (mapping values.activeAccountStatuses). */
  async activeAccounts(accountNos: readonly string[]): Promise<Set<string>> {
    return this.guard(async () => {
      const rows = await selectWhereIn<Record<string, unknown>>(this.db, [...new Set(accountNos)], (part) =>
        q.selectAccountStanding(this.db, this.mapping, part),
      );
      const active = this.mapping.values.activeAccountStatuses;
      return new Set(rows.filter((r) => active.includes(String(r.status))).map((r) => String(r.accountNo)));
    });
  }

  /** The meter ids on an account (empty when billing does not know the account). */
  async accountMeters(accountNo: string): Promise<string[]> {
    return (await this.run(() => q.selectAccountMeters(this.db, this.mapping, accountNo))).map((r) =>
      String(r.meterId),
    );
  }

  /**
   * The meters of many accounts at once (past-due over every account), each account's in meter
   * order with its route: a few queries for any number of accounts, not one per account.
   */
  async accountsMeters(
    accountNos: readonly string[],
  ): Promise<Map<string, { meterId: string; routeCode: string | null }[]>> {
    return this.guard(async () => {
      const rows = await selectWhereIn<Record<string, unknown>>(this.db, [...new Set(accountNos)], (part) =>
        q.selectAccountsMeters(this.db, this.mapping, part),
      );
      const out = new Map<string, { meterId: string; routeCode: string | null }[]>();
      for (const r of rows) {
        const list = out.get(String(r.accountNo)) ?? [];
        list.push({ meterId: String(r.meterId), routeCode: r.routeCode == null ? null : String(r.routeCode) });
        out.set(String(r.accountNo), list);
      }
      // selectWhereIn's parts may come back in any order: each account's meters in meter order.
      for (const list of out.values())
        list.sort((a, b) => (a.meterId < b.meterId ? -1 : a.meterId > b.meterId ? 1 : 0));
      return out;
    });
  }

  /** Accounts matching a CSR's search: account number, meter id or serial, name or address (see searchAccounts). */
  async searchAccounts(term: string, limit: number): Promise<AccountMatch[]> {
    const rows = await this.run(() => q.searchAccounts(this.db, this.mapping, term, limit));
    return rows.map((r) => ({
      accountNo: String(r.accountNo),
      customerName: String(r.customerName),
      status: String(r.status),
      active: this.mapping.values.activeAccountStatuses.includes(String(r.status)),
      address: String(r.address),
      city: String(r.city),
    }));
  }

  /** One account as billing holds it: customer, premise, standing, rate, meters and registers; null if unknown. */
  async account(accountNo: string): Promise<BillingAccount | null> {
    return this.guard(async () => {
      const [head] = (await q.selectAccount(this.db, this.mapping, accountNo)) as Record<string, unknown>[];
      if (!head) return null;
      const rows = (await q.selectAccountMeterRegisters(this.db, this.mapping, accountNo)) as Record<string, unknown>[];
      const meters = new Map<string, BillingAccount['meters'][number]>();
      for (const r of rows) {
        const id = String(r.meterId);
        let meter = meters.get(id);
        if (!meter) {
          meter = {
            meterId: id,
            serial: String(r.serial),
            meterType: String(r.meterType),
            dials: Number(r.dials),
            multiplier: Number(r.multiplier),
            radioId: r.radioId == null ? null : String(r.radioId),
            routeCode: r.routeCode == null ? null : String(r.routeCode),
            routeSeq: r.routeSeq == null ? null : Number(r.routeSeq),
            location: r.location == null ? null : String(r.location),
            status: String(r.status),
            active: this.mapping.values.activeMeterStatuses.includes(String(r.status)),
            registers: [],
          };
          meters.set(id, meter);
        }
        if (r.registerNo != null)
          meter.registers.push({
            registerNo: Number(r.registerNo),
            uom: String(r.uom),
            lastReadValue: Number(r.lastReadValue),
            lastReadDate: isoDate(r.lastReadDate),
          });
      }
      const status = String(head.status);
      return {
        ...toStanding(head),
        customerName: String(head.customerName),
        status,
        active: this.mapping.values.activeAccountStatuses.includes(status),
        premiseId: String(head.premiseId),
        address: String(head.address),
        city: String(head.city),
        rate:
          head.rateCode == null
            ? null
            : {
                code: String(head.rateCode),
                description: String(head.rateDescription),
                fixedCharge: Number(head.fixedCharge),
                unitCharge: Number(head.unitCharge),
              },
        meters: [...meters.values()],
      };
    });
  }

  /** Billing's read history of some meters since a date, oldest first per register. */
  async readHistory(meterIds: readonly string[], sinceDate: string): Promise<BillingHistoryRead[]> {
    return this.guard(async () => {
      const rows = await selectWhereIn<Record<string, unknown>>(this.db, [...new Set(meterIds)], (part) =>
        q.selectHistory(this.db, this.mapping, part, sinceDate),
      );
      return rows
        .map((h) => ({
          meterId: String(h.meterId),
          registerNo: Number(h.registerNo),
          readDate: isoDate(h.readDate),
          readValue: Number(h.readValue),
          readType: String(h.readType),
          consumption: Number(h.consumption),
        }))
        .sort((a, b) =>
          a.meterId !== b.meterId
            ? a.meterId < b.meterId
              ? -1
              : 1
            : a.registerNo - b.registerNo || a.readDate.localeCompare(b.readDate),
        );
    });
  }

  /** Every meter and register, for matching AMI data (see MeterDirectory). */
  async meterRegisters(): Promise<Record<string, unknown>[]> {
    return this.run(() => q.selectMeterRegisters(this.db, this.mapping));
  }

  /**
   * The meters named `names` by id, radio id or serial, with their registers: for an AMI import
   * that looks up only the meters of its file (an index lookup per part, whatever billing's size).
   */
  async meterRegistersNamed(
    by: 'meterId' | 'radioId' | 'serial',
    names: readonly string[],
  ): Promise<Record<string, unknown>[]> {
    return this.guard(async () => {
      const rows = await selectWhereIn<Record<string, unknown>>(this.db, [...new Set(names)], (part) =>
        q.selectMeterRegistersNamed(this.db, this.mapping, by, part),
      );
      // selectWhereIn's parts may come back in any order: meter order, as meterRegisters gives.
      return rows.sort(byMeterAndRegister);
    });
  }

  /** Posts reads in one transaction: one upload-batch row, then the reads billing does not hold yet. */
  async postReads(rows: readonly q.ReadUploadRow[], opts: { source: string; now: Date }): Promise<PostResult> {
    const t = this.mapping.readUpload;
    return this.postBatch(
      'READS',
      t.table,
      t.columns.readKey,
      rows,
      (r) => r.readKey,
      readsChecksum,
      (trx, r, batchId, now) => q.readUploadRecord(trx, this.mapping, r, batchId, now),
      opts,
    );
  }

  /** Posts completed work orders to the field-work upload table, the same way: once per completion key. */
  async postFieldWork(rows: readonly q.FieldWorkUploadRow[], opts: { source: string; now: Date }): Promise<PostResult> {
    const t = this.mapping.fieldWorkUpload;
    const checksum = (xs: readonly q.FieldWorkUploadRow[]) =>
      keyedChecksum(
        xs.map((r) => [
          r.completionKey,
          `${r.completionKey}|${r.outcome}|${r.finalRead}|${r.newMeterSerial}|${r.newMeterRead}`,
        ]),
      );
    return this.postBatch(
      'FIELDWORK',
      t.table,
      t.columns.completionKey,
      rows,
      (r) => r.completionKey,
      checksum,
      (trx, r, batchId) => q.fieldWorkUploadRecord(trx, this.mapping, r, batchId),
      opts,
    );
  }

  /** Open service orders entered in billing, of the types fieldgate works (mapping values.serviceOrderTypes). */
  async openServiceOrders(): Promise<Record<string, unknown>[]> {
    return this.run(() => q.selectOpenServiceOrders(this.db, this.mapping));
  }

  /**
   * One billing transaction: an upload-batch row, then the rows billing does not hold yet (its
   * unique key makes a retry harmless; rows it holds are counted, not inserted again).
   */
  private async postBatch<R>(
    kind: string,
    table: string,
    keyColumn: string,
    rows: readonly R[],
    keyOf: (r: R) => string,
    checksumOf: (rows: readonly R[]) => string,
    record: (trx: Knex, r: R, batchId: string, now: string) => Record<string, unknown>,
    opts: { source: string; now: Date },
  ): Promise<PostResult> {
    const post = (steps: PostSteps, db: Knex) =>
      this.postSteps(kind, rows, keyOf, checksumOf, (r, batchId, now) => record(db, r, batchId, now), steps, opts);
    if (this.bulk && rows.length >= this.bulk.minRows) {
      // The same statements, rendered by knex, run on the bulk loader's connection with the rows bulk-loaded.
      const native = (b: Knex.QueryBuilder) => b.toSQL().toNative();
      return this.guard(() =>
        this.bulk!.loader.transaction((s) =>
          post(
            {
              existingKeys: async (keys) => {
                // One request at a time: a transaction's requests on SQL Server run in turn.
                const found = new Set<string>();
                for (const part of chunk(keys, 1000))
                  for (const r of await s.query(native(q.selectExistingKeys(this.db, table, keyColumn, part))))
                    found.add(String(r.key));
                return found;
              },
              insertBatch: async (row) => void (await s.query(native(q.insertUploadBatch(this.db, this.mapping, row)))),
              insertRows: (records) => s.bulkInsert(table, records),
            },
            this.db,
          ),
        ),
      );
    }
    return this.guard(() =>
      this.db.transaction((trx) =>
        post(
          {
            existingKeys: async (keys) =>
              new Set(
                (
                  await selectWhereIn<{ key: string }>(trx, keys, (part) =>
                    q.selectExistingKeys(trx, table, keyColumn, part),
                  )
                ).map((r) => r.key),
              ),
            insertBatch: async (row) => void (await q.insertUploadBatch(trx, this.mapping, row)),
            insertRows: (records) => insertMany(trx, table, records),
          },
          trx,
        ),
      ),
    );
  }

  /** An upload-batch row, then the rows billing does not hold yet; `steps` runs them in one transaction. */
  private async postSteps<R>(
    kind: string,
    rows: readonly R[],
    keyOf: (r: R) => string,
    checksumOf: (rows: readonly R[]) => string,
    record: (r: R, batchId: string, now: string) => Record<string, unknown>,
    steps: PostSteps,
    opts: { source: string; now: Date },
  ): Promise<PostResult> {
    const existing = await steps.existingKeys(rows.map(keyOf));
    const fresh = rows.filter((r) => !existing.has(keyOf(r)));
    if (fresh.length === 0) return { batchId: null, posted: 0, alreadyPosted: existing.size, checksum: null };
    const batchId = randomUUID();
    const checksum = checksumOf(fresh);
    const now = opts.now.toISOString();
    await steps.insertBatch({ batchId, kind, source: opts.source, rowCount: fresh.length, checksum, createdAt: now });
    await steps.insertRows(fresh.map((r) => record(r, batchId, now)));
    return { batchId, posted: fresh.length, alreadyPosted: existing.size, checksum };
  }

  private async run(build: () => Knex.QueryBuilder): Promise<Record<string, unknown>[]> {
    return this.guard(async () => (await build()) as Record<string, unknown>[]);
  }

  protected async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof BillingError) throw err;
      if (isConnectionError(err)) throw unavailable(err);
      throw new BillingError('BILLING_QUERY', `billing query failed: ${errorMessage(err)}`, err);
    }
  }
}

/** sha256 over the reads in key order: what billing received can be checked against what was sent. */
export function readsChecksum(rows: readonly q.ReadUploadRow[]): string {
  return keyedChecksum(rows.map((r) => [r.readKey, `${r.readKey}|${r.readValue}|${r.readAt}`]));
}

/** sha256 over (key, line) pairs in key order. */
function keyedChecksum(pairs: readonly [string, string][]): string {
  const hash = createHash('sha256');
  for (const [, line] of [...pairs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) hash.update(`${line}\n`);
  return hash.digest('hex');
}

export interface LedgerMeter {
  accountNo: string;
  customerName: string;
  multiplier: number;
  rate: { code: string; fixedCharge: number; unitCharge: number };
}

export interface AccountStanding {
  accountNo: string;
  balanceDue: number;
  dueDate: string | null;
  arrangementUntil: string | null;
  customerName?: string;
  address?: string;
  city?: string;
}

export interface AccountMatch {
  accountNo: string;
  customerName: string;
  status: string;
  active: boolean;
  address: string;
  city: string;
}

export interface BillingAccount extends AccountStanding {
  customerName: string;
  status: string;
  active: boolean;
  premiseId: string;
  address: string;
  city: string;
  rate: { code: string; description: string; fixedCharge: number; unitCharge: number } | null;
  meters: {
    meterId: string;
    serial: string;
    meterType: string;
    dials: number;
    multiplier: number;
    radioId: string | null;
    routeCode: string | null;
    routeSeq: number | null;
    location: string | null;
    status: string;
    active: boolean;
    registers: { registerNo: number; uom: string; lastReadValue: number; lastReadDate: string }[];
  }[];
}

export interface BillingHistoryRead {
  meterId: string;
  registerNo: number;
  readDate: string;
  readValue: number;
  /** Billing's own code (A actual, E estimated, …). */
  readType: string;
  consumption: number;
}

function toStanding(r: Record<string, unknown>): AccountStanding {
  const day = (v: unknown) => (v == null ? null : isoDate(v));
  return {
    accountNo: String(r.accountNo),
    balanceDue: Number(r.balanceDue),
    dueDate: day(r.dueDate),
    arrangementUntil: day(r.arrangementUntil),
    ...(r.customerName === undefined
      ? {}
      : { customerName: String(r.customerName), address: String(r.address), city: String(r.city) }),
  };
}

function toRoute(r: Record<string, unknown>): BillingRoute {
  return {
    code: String(r.code),
    description: String(r.description),
    cycle: Number(r.cycle),
    nextReadDate: isoDate(r.nextReadDate),
  };
}

function unavailable(err: unknown): BillingError {
  return new BillingError('BILLING_UNAVAILABLE', `billing database unreachable: ${errorMessage(err)}`, err);
}
