import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_JOBS } from '../../jobs/index.js';
import { prepare } from '../../src/entry/gateway.js';
import { openContext, closeContext, type GatewayContext } from '../../src/flows/context.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import { routeOverview } from '../../src/flows/routes/route-overview.js';
import { loadConfig } from '../../src/infra/config/load.js';
import { silentLogger } from '../../src/infra/log/logger.js';
import { availableDialects, type TestDatabase } from '../helpers/databases.js';
import { NOW } from '../helpers/gateway.js';
import { readRouteIntoStore } from '../helpers/read-file.js';

/**
 * Billing through files (issue 22, point 1), on a mirror in each dialect: the CIS drops a route
 * export (the generic CSV layout); pull-routes makes the route, naming the bad record and loading
 * the good ones; the route is read and posted; post-readings writes one readings file for the
 * batch (header, rows, trailer with count, sum and batch, sidecar checksum), and a second run
 * writes nothing; a file the CIS refuses raises an exception naming the batch.
 */
const HEADER =
  'ROUTE,ROUTE_DESC,CYCLE,SCHED_READ_DATE,SEQ,ACCOUNT,CUSTOMER,ACCT_STATUS,RATE,PREMISE,SERVICE_ADDRESS,CITY,METER,' +
  'SERIAL,SERVICE,DIALS,MULTIPLIER,ERT_ID,REGISTER,UOM,PREV_READ,PREV_READ_DATE,PREV_USAGE,LOCATION,RECORD_CODE';
const row = (seq: number, account: string, meter: string, prev: number, over: Record<string, string> = {}) => {
  const f: Record<string, string> = {
    ROUTE: 'F01',
    ROUTE_DESC: 'North side, from files',
    CYCLE: '11',
    SCHED_READ_DATE: '2026-11-23',
    SEQ: String(seq),
    ACCOUNT: account,
    CUSTOMER: `Customer ${account}`,
    ACCT_STATUS: 'A',
    RATE: 'W-RES',
    PREMISE: `P${account}`,
    SERVICE_ADDRESS: `${seq} Elm St, Unit "B"`,
    CITY: 'Springfield',
    METER: meter,
    SERIAL: `S${meter}`,
    SERVICE: 'W',
    DIALS: '6',
    MULTIPLIER: '1',
    ERT_ID: '',
    REGISTER: '1',
    UOM: 'GAL',
    PREV_READ: String(prev),
    PREV_READ_DATE: '2026-10-23',
    PREV_USAGE: '6000',
    LOCATION: 'Front yard',
    RECORD_CODE: 'MR',
    ...over,
  };
  return HEADER.split(',')
    .map((h) => (/[,"]/.test(f[h]!) ? `"${f[h]!.replace(/"/g, '""')}"` : f[h]!))
    .join(',');
};

describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('billing through files on $name', (dialect) => {
  let ctx: GatewayContext;
  let store: TestDatabase;
  let mirror: TestDatabase;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'fg-cis-files-'));
  const exchange = path.join(dataDir, 'cis-exchange');
  const job = (name: string) =>
    runJob(
      ctx,
      ALL_JOBS.find((j) => j.name === name)!,
      { trigger: 'manual' },
    );

  beforeAll(async () => {
    store = await dialect.create('cisf_store');
    mirror = await dialect.create('cisf_mirror');
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir,
        store: { url: store.url },
        billing: { mode: 'files', url: mirror.url },
        log: { level: 'error', format: 'json' },
      },
    });
    ctx = openContext(config, silentLogger(), () => NOW);
    await prepare(ctx);
  }, 60_000);
  afterAll(async () => {
    await closeContext(ctx);
    await store?.drop?.();
    await mirror?.drop?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('makes the route from the CIS export, naming a bad record and loading the good ones', async () => {
    const lines = [
      HEADER,
      row(10, '1000001-01', 'W9000001', 405_618),
      row(20, '1000002-01', 'W9000002', 12_040),
      row(30, '1000003-01', 'W9000003', 5_000, { DIALS: 'six' }),
      row(40, '1000004-01', 'W9000004', 999_990),
      'TRAILER,4',
    ];
    writeFileSync(path.join(exchange, 'routes-in', 'F01-20261123.csv'), `${lines.join('\r\n')}\r\n`);
    const run = await job('pull-routes');
    expect(run.status).toBe('ok');
    expect(run.counts).toMatchObject({ files: 1, routes: 1, records: 3, rejected: 1, failedFiles: 0 });
    const bad = await ctx.store.db('exceptions').where({ source: 'cis-routes' });
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ field: 'dials', value: 'six', line_no: 4, meter_id: 'W9000003' });
    expect(bad[0]!.message).toBe('F01-20261123.csv, line 4: dials: a whole number from 1 to 12 (six)');
    expect(readdirSync(path.join(exchange, 'routes-done'))).toEqual(['F01-20261123.csv']);
    const route = (await routeOverview(ctx)).find((r) => r.route === 'F01');
    expect(route).toMatchObject({ description: 'North side, from files' });
    const account = await ctx.billing.account('1000001-01');
    expect(account).toMatchObject({ customerName: 'Customer 1000001-01', address: '10 Elm St, Unit "B"' });
  });

  it('refuses a file whose trailer does not count its records, whole, with one exception', async () => {
    writeFileSync(
      path.join(exchange, 'routes-in', 'F02.csv'),
      `${HEADER}\r\n${row(10, '2000001-01', 'W9100001', 1)}\r\nTRAILER,7\r\n`,
    );
    const run = await job('pull-routes');
    expect(run.counts).toMatchObject({ files: 1, failedFiles: 1, routes: 0 });
    const failed = await ctx.store.db('exceptions').where({ source: 'cis-routes', kind: 'FILE_REJECTED' });
    expect(failed[0]!.message).toBe(
      'F02.csv: route export F02.csv not read: its trailer counts 7 records and it holds 1: cut off or damaged',
    );
    expect(readdirSync(path.join(exchange, 'routes-failed'))).toEqual(['F02.csv']);
    expect(await ctx.billing.account('2000001-01')).toBeNull();
  });

  it('posts the readings as one CIS import file per batch, with its trailer and checksum, once', async () => {
    const { summary } = await readRouteIntoStore(ctx, 'F01', { mix: { skip: 0, trouble: 0, high: 0, rekey: 0 } });
    expect(summary.stored).toBe(3);
    const first = await job('post-readings');
    expect(first.status).toBe('ok');
    const out = path.join(exchange, 'reads-out');
    const files = readdirSync(out).sort();
    expect(files).toHaveLength(2);
    const [csv, sidecar] = files as [string, string];
    expect(csv).toMatch(/^READS-.+\.csv$/);
    expect(sidecar).toBe(`${csv}.sha256`);
    const text = readFileSync(path.join(out, csv), 'utf8');
    expect(readFileSync(path.join(out, sidecar), 'utf8')).toBe(
      `${createHash('sha256').update(text).digest('hex')}  ${csv}\n`,
    );
    const lines = text.split('\r\n').filter(Boolean);
    expect(lines[0]).toBe(
      'BATCH,METER,REGISTER,READING,READ_DATETIME,READ_TYPE,SOURCE,READER,METHOD,READ_CODE,SKIP_CODE,TROUBLE_CODE,NOTE',
    );
    expect(lines.slice(1, -1).map((l) => l.split(',')[1])).toEqual(['W9000001', 'W9000002', 'W9000004']);
    const sum = lines.slice(1, -1).reduce((s, l) => s + Number(l.split(',')[3]), 0);
    const batch = lines[1]!.split(',')[0];
    expect(lines.at(-1)).toBe(`TRAILER,3,${sum},${batch}`);
    // The same night again: nothing new is posted, and no file is written twice.
    await job('post-readings');
    expect(readdirSync(out).sort()).toEqual(files);
    // The CIS takes the file away: it is still never written again.
    rmSync(path.join(out, csv));
    await job('post-readings');
    expect(readdirSync(out)).toEqual([sidecar]);
  });

  it('names the batch of a file the CIS refused, once', async () => {
    const exported = (await ctx.billing.db('cis_file_exports').first()) as { file: string; batch_id: string };
    writeFileSync(path.join(exchange, 'rejected', exported.file), 'refused by the CIS');
    await job('pull-routes');
    await job('pull-routes');
    const refused = await ctx.store.db('exceptions').where({ source: 'cis-routes', value: exported.batch_id });
    expect(refused).toHaveLength(1);
    expect(refused[0]!.message).toMatch(
      new RegExp(`the CIS refused this readings file \\(batch ${exported.batch_id}, found in rejected/\\)`),
    );
  });

  it('makes work orders from the CIS service-order export, and writes completed field work as its file', async () => {
    writeFileSync(
      path.join(exchange, 'orders-in', 'orders-20261123.csv'),
      'ORDER,ACCOUNT,METER,TYPE,STATUS,CREATED,DUE,NOTES\r\n' +
        'SO000001,1000001-01,W9000001,INVESTIGATE,OPEN,2026-11-23T14:00:00Z,2026-11-25,"High bill, possible leak"\r\n' +
        'SO000002,,W9000002,TURN_ON,OPEN,2026-11-23T14:00:00Z,2026-11-25,\r\n' +
        'TRAILER,2\r\n',
    );
    const run = await job('pull-routes');
    expect(run.counts).toMatchObject({ files: 1, orders: 1, rejected: 1 });
    const refused = await ctx.store.db('exceptions').where({ source: 'cis-routes', field: 'accountNo' });
    expect(refused[0]!.message).toBe('orders-20261123.csv, line 3: accountNo: required');
    await job('pull-service-orders');
    const order = await ctx.store.db('work_orders').where({ order_no: 'SO000001' }).first();
    expect(order).toMatchObject({ type: 'Investigation', account_no: '1000001-01', meter_id: 'W9000001' });
    expect(order!.notes).toBe('High bill, possible leak');
    // A completion, as post-field-work sends it: its batch becomes one FIELDWORK file.
    await ctx.billing.postFieldWork(
      [
        {
          completionKey: 'SO000001:1',
          orderNo: 'SO000001',
          outcome: 'completed',
          completedAt: '2026-11-23T15:30:00.000Z',
          technician: 'tom',
          finalRead: null,
          newMeterSerial: null,
          newMeterRead: null,
        },
      ],
      { source: 'fieldgate', now: NOW },
    );
    const files = readdirSync(path.join(exchange, 'fieldwork-out')).filter((n) => n.endsWith('.csv'));
    expect(files).toHaveLength(1);
    const lines = readFileSync(path.join(exchange, 'fieldwork-out', files[0]!), 'utf8')
      .split('\r\n')
      .filter(Boolean);
    expect(lines[0]).toBe('BATCH,ORDER,OUTCOME,COMPLETED,TECH,FINAL_READ,NEW_SERIAL,NEW_READ');
    expect(lines[1]).toMatch(/^[^,]+,SO000001,completed,2026-11-23T15:30:00\.000Z,tom,,,$/);
    expect(lines[2]).toMatch(/^TRAILER,1,[^,]+$/);
  });
});
