import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postReadings } from '../../jobs/post-readings.js';
import { decodeLine, splitLines } from '../../src/core/fixed-width/codec.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import { createToken } from '../../src/infra/store/tokens-repo.js';
import { startApi } from '../helpers/api.js';
import { runCli } from '../helpers/cli.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { readRouteIntoStore } from '../helpers/read-file.js';

/**
 * The pre-bill review, end to end: a route read with skips and high reads, the exception queue
 * worked (accept, correct, estimate, re-read), the ledger checked against a computation made
 * here straight from billing's tables and the reads file, the cycle signed off (which is what
 * lets its reads post), the export, and the reports from the API and the CLI.
 */
const MIX = { skip: 0.05, trouble: 0.02, high: 0.06, rekey: 0.02 };
const CYCLE = '2026-11';

interface Expected {
  accountNo: string;
  meterId: string;
  prevRead: number;
  currentRead: number;
  consumption: number;
  readType: 'actual' | 'estimated';
  estimatedCharge: number;
}

describe.each(availableDialects())('pre-bill review on $name', (dialect) => {
  let gw: TestGateway;
  let api: Awaited<ReturnType<typeof startApi>>;
  let csr: string;
  let read: Awaited<ReturnType<typeof readRouteIntoStore>>;
  // Reads the CSR changed, by meter|register.
  const changed = new Map<string, { current: number; readType: 'actual' | 'estimated' }>();
  const slotOf = (readKey: string) => readKey.split('|').slice(0, 2).join('|');

  beforeAll(async () => {
    gw = await testGateway(dialect, {
      label: 'prebill',
      accounts: 600,
      routes: 2,
      config: { prebill: { reviewBeforePosting: true } },
    });
    read = await readRouteIntoStore(gw.ctx, 'R01', { seed: 11, mix: MIX });
    api = await startApi(gw.ctx);
    csr = await createToken(gw.ctx.store.db, 'maria', 'csr', gw.ctx.clock());
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await gw?.close();
  });

  const call = async (method: string, p: string, body?: object) => {
    const res = await fetch(api.base + p, {
      method,
      headers: { authorization: `Bearer ${csr}`, 'content-type': 'application/json' },
      body: body && JSON.stringify(body),
    });
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, type, body: (type.includes('json') ? await res.json() : await res.text()) as any };
  };
  const openException = async (kind: string) =>
    (await gw.ctx.store
      .db('exceptions')
      .where({ kind, status: 'open' })
      .whereNotNull('read_key')
      .orderBy('id')
      .first()) as { id: number; read_key: string; meter_id: string };

  /** The ledger worked out here from billing's own tables and the reads file, not from the gateway's code. */
  async function independentLedger(): Promise<Expected[]> {
    const b = gw.ctx.billing.db;
    const meters = (await b('cis_meters as m')
      .join('cis_accounts as a', 'a.account_no', 'm.account_no')
      .join('cis_rates as r', 'r.rate_code', 'a.rate_code')
      .join('cis_registers as g', 'g.meter_id', 'm.meter_id')
      .select(
        'm.meter_id',
        'g.register_no',
        'm.dials',
        'm.multiplier',
        'm.route_seq',
        'a.account_no',
        'r.fixed_charge',
        'r.unit_charge',
        'g.last_read_value',
      )
      .where('m.route_code', 'R01')
      .whereIn('m.status', ['A'])
      .whereIn('a.status', ['A'])
      .orderBy(['m.route_seq', 'm.meter_id', 'g.register_no'])) as Record<string, any>[];
    const layout = gw.ctx.layout('read-v1');
    const fileReads = new Map<string, number | null>();
    for (const [i, line] of splitLines(read.readText).entries()) {
      const r = decodeLine(layout, line, i + 1).record;
      fileReads.set(`${String(r.meter_id)}|${Number(r.register)}`, typeof r.reading === 'number' ? r.reading : null);
    }
    const expectedUnits = new Map(
      (
        (await gw.ctx.store.db('route_lines').select('meter_id', 'register', 'expected_units')) as {
          meter_id: string;
          register: number;
          expected_units: number;
        }[]
      ).map((l) => [`${l.meter_id}|${l.register}`, Number(l.expected_units)]),
    );
    const charged = new Set<string>();
    return meters.map((m) => {
      const prev = Number(m.last_read_value);
      const capacity = 10 ** Number(m.dials);
      const slot = `${m.meter_id}|${m.register_no}`;
      let current = fileReads.get(slot) ?? null;
      let readType: 'actual' | 'estimated' = 'actual';
      const override = changed.get(slot);
      if (override) ({ current, readType } = override);
      else if (current === null) {
        current = (prev + expectedUnits.get(slot)!) % capacity;
        readType = 'estimated';
      }
      const units = (((current - prev) % capacity) + capacity) % capacity;
      const used = units * Number(m.multiplier);
      const fixed = charged.has(m.account_no) ? 0 : Number(m.fixed_charge);
      charged.add(m.account_no);
      return {
        accountNo: m.account_no,
        meterId: m.meter_id,
        prevRead: prev,
        currentRead: current,
        consumption: used,
        readType,
        estimatedCharge: Math.round((fixed + used * Number(m.unit_charge)) * 100) / 100,
      };
    });
  }

  const ledgerRows = async (query = '') => {
    const res = await call('GET', `/api/prebill/${CYCLE}?limit=1000${query}`);
    expect(res.status).toBe(200);
    return res.body as {
      items: (Expected & { flags: string[]; multiplier: number })[];
      total: number;
      summary: Record<string, any>;
      review: unknown;
    };
  };

  it("holds the route's reads back from billing until the cycle is reviewed", async () => {
    expect(read.summary.stored).toBeGreaterThan(250);
    expect(await gw.ctx.store.db('outbox').where({ kind: 'billing.read' }).count({ n: '*' }).first()).toMatchObject({
      n: expect.anything(),
    });
    expect(
      Number(
        ((await gw.ctx.store.db('outbox').where({ kind: 'billing.read' }).count({ n: '*' }).first()) as { n: number })
          .n,
      ),
    ).toBe(0);
    const run = await runJob(gw.ctx, postReadings, { trigger: 'manual' });
    expect(run.counts).toMatchObject({ posted: 0 });
    const cycles = await call('GET', '/api/prebill/cycles');
    expect(cycles.body.items).toEqual([{ cycle: CYCLE, routes: 1, reviewedBy: null, reviewedAt: null }]);
  });

  it("matches a ledger computed independently from billing's tables and the reads file", async () => {
    const { items, summary } = await ledgerRows();
    const expected = await independentLedger();
    expect(items.length).toBe(expected.length);
    expect(
      items.map((r) => ({
        accountNo: r.accountNo,
        meterId: r.meterId,
        prevRead: r.prevRead,
        currentRead: r.currentRead,
        consumption: r.consumption,
        readType: r.readType,
        estimatedCharge: r.estimatedCharge,
      })),
    ).toEqual(expected);
    // The seed has commercial electric meters with a multiplier of 40, and dials that roll over.
    expect(items.some((r) => r.multiplier === 40)).toBe(true);
    expect(items.filter((r) => r.flags.includes('rollover')).length).toBeGreaterThan(0);
    const total = Math.round(expected.reduce((s, r) => s + r.estimatedCharge, 0) * 100) / 100;
    expect(summary.estimatedTotal).toBeCloseTo(total, 2);
    expect(summary.flagged.skipped).toBe(read.day.kinds.filter((k) => k === 'skip').length);
    expect(summary.flagged.high + summary.flagged.negative).toBeGreaterThan(0);
  });

  it('accepts a high read: it stays as read, and is not posted before the review', async () => {
    const high = await openException('HIGH_READ');
    const res = await call('POST', `/api/exceptions/${high.id}/accept`, { note: 'customer filled a pool' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'resolved',
      resolution: 'accepted: customer filled a pool',
      reading: { status: 'valid', readType: 'actual', queuedForBilling: false },
    });
    const row = (await ledgerRows(`&search=${high.meter_id}`)).items.find(
      (r) => `${r.meterId}|${(r as { register?: number }).register}` === slotOf(high.read_key),
    )!;
    expect(row.flags).toContain('high');
    expect(row.flags).not.toContain('held');
  });

  it('corrects a read: consumption worked out again, the value before and after in the audit trail', async () => {
    const high = await openException('HIGH_READ');
    const before = (await gw.ctx.store.db('readings').where({ read_key: high.read_key }).first())!;
    const line = (await gw.ctx.store
      .db('route_lines')
      .where({ meter_id: high.meter_id, register: Number(high.read_key.split('|')[1]) })
      .first())!;
    const corrected = (Number(line.prev_read) + 25) % 10 ** Number(line.dials);
    const res = await call('POST', `/api/exceptions/${high.id}/correct`, {
      reading: corrected,
      reason: 'digits transposed',
    });
    expect(res.status).toBe(200);
    expect(res.body.reading).toMatchObject({
      reading: corrected,
      consumption: 25,
      readType: 'corrected',
      status: 'valid',
    });
    changed.set(slotOf(high.read_key), { current: corrected, readType: 'actual' });
    const detail = await call('GET', `/api/exceptions/${high.id}`);
    expect(detail.body.audit).toEqual([
      expect.objectContaining({
        actor: 'csr:maria',
        action: 'exception.correct',
        detail: expect.objectContaining({
          before: { reading: Number(before.reading), status: 'held' },
          after: expect.objectContaining({ reading: corrected }),
        }),
      }),
    ]);
    const row = (await ledgerRows(`&search=${high.meter_id}`)).items.find(
      (r) => `${r.meterId}|${(r as { register?: number }).register}` === slotOf(high.read_key),
    )!;
    expect(row.flags).toContain('corrected');
    expect(row.currentRead).toBe(corrected);
    // A correction needs a reason, and a value the dials can show.
    const other = await openException('HIGH_READ');
    expect((await call('POST', `/api/exceptions/${other.id}/correct`, { reading: 5 })).body.error).toMatchObject({
      code: 'INVALID_INPUT',
      field: 'reason',
    });
    expect(
      (await call('POST', `/api/exceptions/${other.id}/correct`, { reading: 10 ** 9, reason: 'x' })).body.error,
    ).toMatchObject({ field: 'reading' });
  });

  it('estimates a skipped read from history, marked estimated', async () => {
    const skip = await openException('SKIPPED');
    const line = (await gw.ctx.store
      .db('route_lines')
      .where({ meter_id: skip.meter_id, register: Number(skip.read_key.split('|')[1]) })
      .first())!;
    const value = (Number(line.prev_read) + Number(line.expected_units)) % 10 ** Number(line.dials);
    const res = await call('POST', `/api/exceptions/${skip.id}/estimate`, {});
    expect(res.body.reading).toMatchObject({ reading: value, readType: 'estimated', status: 'valid' });
    changed.set(slotOf(skip.read_key), { current: value, readType: 'estimated' });
    const row = (await ledgerRows(`&search=${skip.meter_id}`)).items.find(
      (r) => `${r.meterId}|${(r as { register?: number }).register}` === slotOf(skip.read_key),
    )!;
    expect(row).toMatchObject({ currentRead: value, readType: 'estimated', flags: ['estimated'] });
  });

  it('orders a re-read, and works several exceptions at once, naming the ones it could not', async () => {
    const skip = await openException('SKIPPED');
    const reread = await call('POST', `/api/exceptions/${skip.id}/reread`, { note: 'dog in yard' });
    expect(reread.status).toBe(201);
    expect(reread.body).toMatchObject({ type: 'ReRead', meterId: skip.meter_id, state: 'created' });
    const ids = (
      (await gw.ctx.store.db('exceptions').where({ kind: 'TROUBLE', status: 'open' }).select('id')) as { id: number }[]
    ).map((r) => r.id);
    expect(ids.length).toBeGreaterThan(0);
    const bulk = await call('POST', '/api/exceptions/bulk', { ids: [...ids, skip.id], action: 'accept' });
    expect(bulk.body.resolved.map((r: { id: number }) => r.id)).toEqual(ids);
    expect(bulk.body.failed).toEqual([
      { id: skip.id, code: 'BAD_STATE', message: `exception ${skip.id} is resolved already` },
    ]);
  });

  it('still matches the independent ledger after the queue was worked', async () => {
    const { items } = await ledgerRows();
    expect(
      items.map((r) => ({
        accountNo: r.accountNo,
        meterId: r.meterId,
        prevRead: r.prevRead,
        currentRead: r.currentRead,
        consumption: r.consumption,
        readType: r.readType,
        estimatedCharge: r.estimatedCharge,
      })),
    ).toEqual(await independentLedger());
  });

  it('sorts, filters and exports the ledger as CSV', async () => {
    const byCharge = (await ledgerRows('&sort=estimatedCharge&dir=desc')).items.map((r) => r.estimatedCharge);
    expect(byCharge).toEqual([...byCharge].sort((a, b) => b - a));
    const estimated = await ledgerRows('&readType=estimated');
    expect(estimated.items.every((r) => r.readType === 'estimated')).toBe(true);
    const csv = await call('GET', `/api/prebill/${CYCLE}/export?readType=estimated`);
    expect(csv.type).toContain('text/csv');
    const lines = csv.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'route,sequence,accountNo,customerName,meterId,register,prevRead,currentRead,units,multiplier,' +
        'consumption,readType,readAt,flags,rateCode,estimatedCharge',
    );
    expect(lines.length - 1).toBe(estimated.total);
  });

  it("is signed off by a named CSR; that queues the cycle's reads, and they post to billing once", async () => {
    const valid = Number(
      (
        (await gw.ctx.store
          .db('readings')
          .where({ status: 'valid' })
          .whereNotNull('reading')
          .count({ n: '*' })
          .first()) as { n: number }
      ).n,
    );
    const review = await call('POST', `/api/prebill/${CYCLE}/review`, { note: 'checked highs with supervisor' });
    expect(review.status).toBe(201);
    expect(review.body).toMatchObject({ cycle: CYCLE, reviewedBy: 'csr:maria', queuedForBilling: valid });
    expect((await call('POST', `/api/prebill/${CYCLE}/review`, {})).body.error).toMatchObject({
      code: 'ALREADY_REVIEWED',
      field: 'cycle',
    });
    const first = await runJob(gw.ctx, postReadings, { trigger: 'manual' });
    const second = await runJob(gw.ctx, postReadings, { trigger: 'manual' });
    expect(first.counts).toMatchObject({ posted: valid });
    expect(second.counts).toMatchObject({ posted: 0 });
    const uploads = (await gw.ctx.billing
      .db('cis_read_upload')
      .select('meter_id', 'register_no', 'read_value', 'read_type')) as {
      meter_id: string;
      register_no: number;
      read_value: number;
      read_type: string;
    }[];
    expect(uploads.length).toBe(valid);
    for (const [slot, c] of changed) {
      const [meterId, register] = slot.split('|');
      expect(
        uploads.find((u) => u.meter_id === meterId && Number(u.register_no) === Number(register)),
        slot,
      ).toMatchObject({ read_value: c.current, read_type: c.readType === 'estimated' ? 'E' : 'A' });
    }
    expect((await ledgerRows()).review).toMatchObject({
      reviewedBy: 'csr:maria',
      note: 'checked highs with supervisor',
    });
  });

  it('gives every report as JSON and CSV from the API, and from the CLI', async () => {
    const list = await call('GET', '/api/reports');
    const names = list.body.items.map((r: { name: string }) => r.name);
    expect(names).toEqual([
      'route-completion',
      'exceptions',
      'missed-reads',
      'posting-summary',
      'work-order-completion',
      'ami-coverage',
      'prebill-ledger',
    ]);
    for (const name of names) {
      const q = name === 'prebill-ledger' ? `?cycle=${CYCLE}` : '';
      const json = await call('GET', `/api/reports/${name}${q}`);
      expect(json.status, name).toBe(200);
      const csv = await call('GET', `/api/reports/${name}${q}${q ? '&' : '?'}format=csv`);
      expect(csv.type, name).toContain('text/csv');
      expect(csv.body.split('\r\n')[0], name).toBe(json.body.columns.join(','));
      expect(csv.body.trimEnd().split('\r\n').length - 1, name).toBe(json.body.rows.length);
    }
    const completion = (await call('GET', '/api/reports/route-completion')).body.rows.find(
      (r: { route: string }) => r.route === 'R01',
    );
    expect(completion).toMatchObject({ state: 'committed', records: read.summary.lines });
    const missed = (await call('GET', `/api/reports/missed-reads?route=R01`)).body.rows;
    expect(missed.filter((r: { kind: string }) => r.kind === 'SKIPPED').length).toBe(
      read.day.kinds.filter((k) => k === 'skip').length,
    );
    const posting = (await call('GET', '/api/reports/posting-summary')).body.rows;
    expect(posting).toEqual([expect.objectContaining({ kind: 'READS', rows: expect.any(Number) })]);
    expect((await call('GET', '/api/reports/prebill-ledger')).body.error).toMatchObject({
      code: 'INVALID_INPUT',
      field: 'cycle',
    });

    const dir = path.dirname(gw.store.url.startsWith('sqlite:') ? gw.store.url.slice(7) : '/tmp/x');
    const configFile = path.join(dir, `report-${dialect.name}.json`);
    writeFileSync(
      configFile,
      JSON.stringify({
        store: { url: gw.store.url },
        billing: { url: gw.billing.url, demo: { seedOnFirstRun: false, accounts: 1, routes: 1, seed: 1 } },
        dataDir: dir,
      }),
    );
    const cli = await runCli(
      ['--config', configFile, 'report', 'prebill-ledger', '--param', `cycle=${CYCLE}`, '--format', 'csv'],
      { cwd: dir },
    );
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const apiCsv = (await call('GET', `/api/reports/prebill-ledger?cycle=${CYCLE}&format=csv`)).body as string;
    expect(cli.stdout).toBe(apiCsv);
    const bad = await runCli(['--config', configFile, 'report', 'prebill-ledger', '--param', 'cycle=November'], {
      cwd: dir,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--param cycle: expected a cycle as YYYY-MM');
  }, 60_000);
});
