/**
 * Every statement fieldgate sends to billing, built from the mapping and nothing else. Pure
 * builders (no execution) so the SQL for SQL Server can be snapshot-tested without a server.
 */

import type { Knex } from 'knex';
import { dialectOf } from '../db/connect.js';
import type { BillingMapping, MappedEntity } from './mapping.js';

type Db = Knex | Knex.Transaction;

const col = <E extends MappedEntity>(
  m: BillingMapping,
  entity: E,
  key: keyof BillingMapping[E]['columns'],
  alias?: string,
) => `${alias ? `${alias}.` : ''}${(m[entity].columns as Record<string, string>)[key as string]}`;

/** `select <all mapped columns> from <table> where 1 = 0`: fails naming the table or column that is missing. */
export function probeEntity(db: Db, m: BillingMapping, entity: MappedEntity): Knex.QueryBuilder {
  return db(m[entity].table).select(Object.values(m[entity].columns)).whereRaw('1 = 0');
}

export function selectRoutes(db: Db, m: BillingMapping): Knex.QueryBuilder {
  return db(m.routes.table)
    .select({
      code: col(m, 'routes', 'code'),
      description: col(m, 'routes', 'description'),
      cycle: col(m, 'routes', 'cycle'),
      nextReadDate: col(m, 'routes', 'nextReadDate'),
    })
    .orderBy(col(m, 'routes', 'code'));
}

export function selectRoute(db: Db, m: BillingMapping, code: string): Knex.QueryBuilder {
  return selectRoutes(db, m).where(col(m, 'routes', 'code'), code);
}

/** Active meters on a route with their account and premise, in read order. */
export function selectRouteMeters(db: Db, m: BillingMapping, routeCode: string): Knex.QueryBuilder {
  return db({ mt: m.meters.table })
    .join({ ac: m.accounts.table }, col(m, 'accounts', 'accountNo', 'ac'), col(m, 'meters', 'accountNo', 'mt'))
    .join({ pr: m.premises.table }, col(m, 'premises', 'id', 'pr'), col(m, 'meters', 'premiseId', 'mt'))
    .select({
      meterId: col(m, 'meters', 'meterId', 'mt'),
      serial: col(m, 'meters', 'serial', 'mt'),
      meterType: col(m, 'meters', 'meterType', 'mt'),
      dials: col(m, 'meters', 'dials', 'mt'),
      multiplier: col(m, 'meters', 'multiplier', 'mt'),
      radioId: col(m, 'meters', 'radioId', 'mt'),
      routeSeq: col(m, 'meters', 'routeSeq', 'mt'),
      location: col(m, 'meters', 'location', 'mt'),
      accountNo: col(m, 'accounts', 'accountNo', 'ac'),
      customerName: col(m, 'accounts', 'customerName', 'ac'),
      address: col(m, 'premises', 'address', 'pr'),
      city: col(m, 'premises', 'city', 'pr'),
    })
    .where(col(m, 'meters', 'routeCode', 'mt'), routeCode)
    .whereIn(col(m, 'meters', 'status', 'mt'), m.values.activeMeterStatuses)
    .whereIn(col(m, 'accounts', 'status', 'ac'), m.values.activeAccountStatuses)
    .orderBy([col(m, 'meters', 'routeSeq', 'mt'), col(m, 'meters', 'meterId', 'mt')]);
}

export function selectRegisters(db: Db, m: BillingMapping, meterIds: readonly string[]): Knex.QueryBuilder {
  return db(m.registers.table)
    .select({
      meterId: col(m, 'registers', 'meterId'),
      registerNo: col(m, 'registers', 'registerNo'),
      uom: col(m, 'registers', 'uom'),
      lastReadValue: col(m, 'registers', 'lastReadValue'),
      lastReadDate: col(m, 'registers', 'lastReadDate'),
    })
    .whereIn(col(m, 'registers', 'meterId'), meterIds as string[]);
}

export function selectHistory(
  db: Db,
  m: BillingMapping,
  meterIds: readonly string[],
  sinceDate: string,
): Knex.QueryBuilder {
  return db(m.readHistory.table)
    .select({
      meterId: col(m, 'readHistory', 'meterId'),
      registerNo: col(m, 'readHistory', 'registerNo'),
      readDate: col(m, 'readHistory', 'readDate'),
      readValue: col(m, 'readHistory', 'readValue'),
      readType: col(m, 'readHistory', 'readType'),
      consumption: col(m, 'readHistory', 'consumption'),
    })
    .whereIn(col(m, 'readHistory', 'meterId'), meterIds as string[])
    .where(col(m, 'readHistory', 'readDate'), '>=', sinceDate)
    .orderBy([
      col(m, 'readHistory', 'meterId'),
      col(m, 'readHistory', 'registerNo'),
      col(m, 'readHistory', 'readDate'),
    ]);
}

/** Every meter with its registers: the directory AMI sources are matched against (by id, radio id or serial). */
export function selectMeterRegisters(db: Db, m: BillingMapping): Knex.QueryBuilder {
  return db({ mt: m.meters.table })
    .join({ rg: m.registers.table }, col(m, 'registers', 'meterId', 'rg'), col(m, 'meters', 'meterId', 'mt'))
    .select({
      meterId: col(m, 'meters', 'meterId', 'mt'),
      radioId: col(m, 'meters', 'radioId', 'mt'),
      serial: col(m, 'meters', 'serial', 'mt'),
      meterType: col(m, 'meters', 'meterType', 'mt'),
      dials: col(m, 'meters', 'dials', 'mt'),
      multiplier: col(m, 'meters', 'multiplier', 'mt'),
      accountNo: col(m, 'meters', 'accountNo', 'mt'),
      registerNo: col(m, 'registers', 'registerNo', 'rg'),
      uom: col(m, 'registers', 'uom', 'rg'),
      lastReadValue: col(m, 'registers', 'lastReadValue', 'rg'),
      lastReadDate: col(m, 'registers', 'lastReadDate', 'rg'),
    })
    .orderBy([col(m, 'meters', 'meterId', 'mt'), col(m, 'registers', 'registerNo', 'rg')]);
}

/** The meters (and their registers) whose id, radio id or serial is one of `names`, in meter order. */
export function selectMeterRegistersNamed(
  db: Db,
  m: BillingMapping,
  by: 'meterId' | 'radioId' | 'serial',
  names: readonly string[],
): Knex.QueryBuilder {
  const q = selectMeterRegisters(db, m).whereIn(col(m, 'meters', by, 'mt'), names);
  // By id, the registers are looked up by their own key too: an index lookup on both tables
  // whatever the planner thinks of the join.
  return by === 'meterId' ? q.whereIn(col(m, 'registers', 'meterId', 'rg'), names) : q;
}

/** Active accounts owing at least `minBalance` since on or before `dueOnOrBefore`, with where to send the notice. */
export function selectPastDueAccounts(
  db: Db,
  m: BillingMapping,
  dueOnOrBefore: string,
  minBalance: number,
): Knex.QueryBuilder {
  return db({ ac: m.accounts.table })
    .join({ pr: m.premises.table }, col(m, 'premises', 'id', 'pr'), col(m, 'accounts', 'premiseId', 'ac'))
    .select({
      accountNo: col(m, 'accounts', 'accountNo', 'ac'),
      customerName: col(m, 'accounts', 'customerName', 'ac'),
      balanceDue: col(m, 'accounts', 'balanceDue', 'ac'),
      dueDate: col(m, 'accounts', 'dueDate', 'ac'),
      arrangementUntil: col(m, 'accounts', 'arrangementUntil', 'ac'),
      address: col(m, 'premises', 'address', 'pr'),
      city: col(m, 'premises', 'city', 'pr'),
    })
    .whereIn(col(m, 'accounts', 'status', 'ac'), m.values.activeAccountStatuses)
    .where(col(m, 'accounts', 'balanceDue', 'ac'), '>=', minBalance)
    .where(col(m, 'accounts', 'dueDate', 'ac'), '<=', dueOnOrBefore)
    .orderBy(col(m, 'accounts', 'accountNo', 'ac'));
}

/** Balance, due date and arrangement of some accounts: has it been paid, or arranged? */
export function selectAccountStanding(db: Db, m: BillingMapping, accountNos: readonly string[]): Knex.QueryBuilder {
  return db(m.accounts.table)
    .select({
      accountNo: col(m, 'accounts', 'accountNo'),
      balanceDue: col(m, 'accounts', 'balanceDue'),
      dueDate: col(m, 'accounts', 'dueDate'),
      arrangementUntil: col(m, 'accounts', 'arrangementUntil'),
      status: col(m, 'accounts', 'status'),
    })
    .whereIn(col(m, 'accounts', 'accountNo'), accountNos as string[]);
}

/** The meters on one account. */
export function selectAccountMeters(db: Db, m: BillingMapping, accountNo: string): Knex.QueryBuilder {
  return db(m.meters.table)
    .select({ meterId: col(m, 'meters', 'meterId') })
    .where(col(m, 'meters', 'accountNo'), accountNo)
    .orderBy(col(m, 'meters', 'meterId'));
}

/** The meters of some accounts, with each one's route (a cut order's area): one query for a set of accounts. */
export function selectAccountsMeters(db: Db, m: BillingMapping, accountNos: readonly string[]): Knex.QueryBuilder {
  return db(m.meters.table)
    .select({
      accountNo: col(m, 'meters', 'accountNo'),
      meterId: col(m, 'meters', 'meterId'),
      routeCode: col(m, 'meters', 'routeCode'),
    })
    .whereIn(col(m, 'meters', 'accountNo'), [...accountNos])
    .orderBy([col(m, 'meters', 'accountNo'), col(m, 'meters', 'meterId')]);
}

/** `%term%` for LIKE, with the term's own % and _ taken literally (escaped with \\). */
export function likeTerm(term: string): string {
  return `%${term.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Accounts a CSR may mean by `term`: the account number or a meter id or serial exactly, or the
 * customer's name or the premise's address containing it (any case). At most `limit`, by account.
 */
export function searchAccounts(db: Db, m: BillingMapping, term: string, limit: number): Knex.QueryBuilder {
  const like = likeTerm(term);
  const onMeter = db(m.meters.table)
    .select(col(m, 'meters', 'accountNo'))
    .where(col(m, 'meters', 'meterId'), term)
    .orWhere(col(m, 'meters', 'serial'), term);
  return db({ ac: m.accounts.table })
    .join({ pr: m.premises.table }, col(m, 'premises', 'id', 'pr'), col(m, 'accounts', 'premiseId', 'ac'))
    .select({
      accountNo: col(m, 'accounts', 'accountNo', 'ac'),
      customerName: col(m, 'accounts', 'customerName', 'ac'),
      status: col(m, 'accounts', 'status', 'ac'),
      address: col(m, 'premises', 'address', 'pr'),
      city: col(m, 'premises', 'city', 'pr'),
    })
    .where((w) =>
      w
        .where(col(m, 'accounts', 'accountNo', 'ac'), term)
        .orWhereRaw(`lower(??) like ? escape '\\'`, [col(m, 'accounts', 'customerName', 'ac'), like])
        .orWhereRaw(`lower(??) like ? escape '\\'`, [col(m, 'premises', 'address', 'pr'), like])
        .orWhereIn(col(m, 'accounts', 'accountNo', 'ac'), onMeter),
    )
    .orderBy(col(m, 'accounts', 'accountNo', 'ac'))
    .limit(limit);
}

/** One account with its premise and rate: the head of the CSR's account page. */
export function selectAccount(db: Db, m: BillingMapping, accountNo: string): Knex.QueryBuilder {
  return db({ ac: m.accounts.table })
    .join({ pr: m.premises.table }, col(m, 'premises', 'id', 'pr'), col(m, 'accounts', 'premiseId', 'ac'))
    .leftJoin({ rt: m.rates.table }, col(m, 'rates', 'rateCode', 'rt'), col(m, 'accounts', 'rateCode', 'ac'))
    .select({
      accountNo: col(m, 'accounts', 'accountNo', 'ac'),
      customerName: col(m, 'accounts', 'customerName', 'ac'),
      status: col(m, 'accounts', 'status', 'ac'),
      balanceDue: col(m, 'accounts', 'balanceDue', 'ac'),
      dueDate: col(m, 'accounts', 'dueDate', 'ac'),
      arrangementUntil: col(m, 'accounts', 'arrangementUntil', 'ac'),
      premiseId: col(m, 'premises', 'id', 'pr'),
      address: col(m, 'premises', 'address', 'pr'),
      city: col(m, 'premises', 'city', 'pr'),
      rateCode: col(m, 'rates', 'rateCode', 'rt'),
      rateDescription: col(m, 'rates', 'description', 'rt'),
      fixedCharge: col(m, 'rates', 'fixedCharge', 'rt'),
      unitCharge: col(m, 'rates', 'unitCharge', 'rt'),
    })
    .where(col(m, 'accounts', 'accountNo', 'ac'), accountNo);
}

/** The meters of one account with their registers, in meter and register order. */
export function selectAccountMeterRegisters(db: Db, m: BillingMapping, accountNo: string): Knex.QueryBuilder {
  return db({ mt: m.meters.table })
    .leftJoin({ rg: m.registers.table }, col(m, 'registers', 'meterId', 'rg'), col(m, 'meters', 'meterId', 'mt'))
    .select({
      meterId: col(m, 'meters', 'meterId', 'mt'),
      serial: col(m, 'meters', 'serial', 'mt'),
      meterType: col(m, 'meters', 'meterType', 'mt'),
      dials: col(m, 'meters', 'dials', 'mt'),
      multiplier: col(m, 'meters', 'multiplier', 'mt'),
      radioId: col(m, 'meters', 'radioId', 'mt'),
      routeCode: col(m, 'meters', 'routeCode', 'mt'),
      routeSeq: col(m, 'meters', 'routeSeq', 'mt'),
      location: col(m, 'meters', 'location', 'mt'),
      status: col(m, 'meters', 'status', 'mt'),
      registerNo: col(m, 'registers', 'registerNo', 'rg'),
      uom: col(m, 'registers', 'uom', 'rg'),
      lastReadValue: col(m, 'registers', 'lastReadValue', 'rg'),
      lastReadDate: col(m, 'registers', 'lastReadDate', 'rg'),
    })
    .where(col(m, 'meters', 'accountNo', 'mt'), accountNo)
    .orderBy([col(m, 'meters', 'meterId', 'mt'), col(m, 'registers', 'registerNo', 'rg')]);
}

/** What the preliminary billing ledger needs of some meters: account, customer, multiplier and the account's rate. */
export function selectLedgerMeters(db: Db, m: BillingMapping, meterIds: readonly string[]): Knex.QueryBuilder {
  return db({ mt: m.meters.table })
    .join({ ac: m.accounts.table }, col(m, 'accounts', 'accountNo', 'ac'), col(m, 'meters', 'accountNo', 'mt'))
    .join({ rt: m.rates.table }, col(m, 'rates', 'rateCode', 'rt'), col(m, 'accounts', 'rateCode', 'ac'))
    .select({
      meterId: col(m, 'meters', 'meterId', 'mt'),
      accountNo: col(m, 'accounts', 'accountNo', 'ac'),
      customerName: col(m, 'accounts', 'customerName', 'ac'),
      multiplier: col(m, 'meters', 'multiplier', 'mt'),
      rateCode: col(m, 'rates', 'rateCode', 'rt'),
      fixedCharge: col(m, 'rates', 'fixedCharge', 'rt'),
      unitCharge: col(m, 'rates', 'unitCharge', 'rt'),
    })
    .whereIn(col(m, 'meters', 'meterId', 'mt'), meterIds as string[]);
}

export function selectMetersById(db: Db, m: BillingMapping, meterIds: readonly string[]): Knex.QueryBuilder {
  return db(m.meters.table)
    .select({
      meterId: col(m, 'meters', 'meterId'),
      routeCode: col(m, 'meters', 'routeCode'),
      accountNo: col(m, 'meters', 'accountNo'),
    })
    .whereIn(col(m, 'meters', 'meterId'), meterIds as string[]);
}

/** The keys of an upload table (reads or field work) that billing holds already. */
export function selectExistingKeys(
  db: Db,
  table: string,
  keyColumn: string,
  keys: readonly string[],
): Knex.QueryBuilder {
  return db(table)
    .select({ key: keyColumn })
    .whereIn(keyColumn, keys as string[]);
}

/** Open service orders CSRs entered in billing, of the types fieldgate works. */
export function selectOpenServiceOrders(db: Db, m: BillingMapping): Knex.QueryBuilder {
  return db(m.serviceOrders.table)
    .select({
      orderNo: col(m, 'serviceOrders', 'orderNo'),
      accountNo: col(m, 'serviceOrders', 'accountNo'),
      meterId: col(m, 'serviceOrders', 'meterId'),
      orderType: col(m, 'serviceOrders', 'orderType'),
      createdAt: col(m, 'serviceOrders', 'createdAt'),
      dueDate: col(m, 'serviceOrders', 'dueDate'),
      notes: col(m, 'serviceOrders', 'notes'),
    })
    .whereIn(col(m, 'serviceOrders', 'status'), m.values.openServiceOrderStatuses)
    .whereIn(col(m, 'serviceOrders', 'orderType'), Object.keys(m.values.serviceOrderTypes))
    .orderBy(col(m, 'serviceOrders', 'orderNo'));
}

/** A completed work order as billing's field-work upload table takes it. */
export interface FieldWorkUploadRow {
  completionKey: string;
  orderNo: string;
  outcome: string;
  completedAt: string;
  technician: string | null;
  finalRead: number | null;
  newMeterSerial: string | null;
  newMeterRead: number | null;
}

export function fieldWorkUploadRecord(
  db: Db,
  m: BillingMapping,
  row: FieldWorkUploadRow,
  batchId: string,
): Record<string, unknown> {
  const c = m.fieldWorkUpload.columns;
  return {
    [c.completionKey]: row.completionKey,
    [c.batchId]: batchId,
    [c.orderNo]: row.orderNo,
    [c.outcome]: row.outcome,
    [c.completedAt]: dbTime(db, row.completedAt),
    [c.technician]: row.technician,
    [c.finalRead]: row.finalRead,
    [c.newMeterSerial]: row.newMeterSerial,
    [c.newMeterRead]: row.newMeterRead,
  };
}

export interface UploadBatchRow {
  batchId: string;
  kind: string;
  source: string;
  rowCount: number;
  checksum: string;
  createdAt: string;
}

export function insertUploadBatch(db: Db, m: BillingMapping, row: UploadBatchRow): Knex.QueryBuilder {
  const c = m.uploadBatch.columns;
  return db(m.uploadBatch.table).insert({
    [c.batchId]: row.batchId,
    [c.kind]: row.kind,
    [c.source]: row.source,
    [c.rowCount]: row.rowCount,
    [c.checksum]: row.checksum,
    [c.createdAt]: dbTime(db, row.createdAt),
  });
}

/** A read as billing's staging table takes it. */
export interface ReadUploadRow {
  readKey: string;
  meterId: string;
  registerNo: number;
  readValue: number;
  readAt: string;
  readType: 'actual' | 'estimated';
  source: string;
  readerId: string | null;
  method: string | null;
  readCode: string | null;
  skipCode: string | null;
  troubleCode: string | null;
  note: string | null;
}

export function readUploadRecord(
  db: Db,
  m: BillingMapping,
  row: ReadUploadRow,
  batchId: string,
  receivedAt: string,
): Record<string, unknown> {
  const c = m.readUpload.columns;
  return {
    [c.readKey]: row.readKey,
    [c.batchId]: batchId,
    [c.meterId]: row.meterId,
    [c.registerNo]: row.registerNo,
    [c.readValue]: row.readValue,
    [c.readAt]: dbTime(db, row.readAt),
    [c.readType]: row.readType === 'actual' ? m.values.readTypeActual : m.values.readTypeEstimated,
    [c.source]: row.source,
    [c.readerId]: row.readerId,
    [c.method]: row.method,
    [c.readCode]: row.readCode,
    [c.skipCode]: row.skipCode,
    [c.troubleCode]: row.troubleCode,
    [c.note]: row.note,
    [c.receivedAt]: dbTime(db, receivedAt),
  };
}

/** SQLite has no datetime type: ISO text sorts and reads back. The others take a Date. */
export function dbTime(db: Db, iso: string): string | Date {
  return dialectOf(db as Knex) === 'sqlite' ? iso : new Date(iso);
}
