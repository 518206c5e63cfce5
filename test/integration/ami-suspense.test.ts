import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_JOBS } from '../../jobs/index.js';
import { importAmiFile, type AmiImportResult } from '../../src/flows/ami/import-ami.js';
import { RtlamrIngest } from '../../src/flows/ami/rtlamr-ingest.js';
import { claimMeter, reprocessSuspense } from '../../src/flows/ami/suspense.js';
import { BadMessageLimiter } from '../../src/flows/exceptions/bad-message-limiter.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import { createToken } from '../../src/infra/store/tokens-repo.js';
import { startApi } from '../helpers/api.js';
import { availableDialects } from '../helpers/databases.js';
import { NOW, testGateway, type TestGateway } from '../helpers/gateway.js';
import { cmepLine, dayIntervals } from '../tools/ami-fixtures.js';

/**
 * Unknown meters are parked, not dropped (issue 18, point 2). A file's data for a meter billing
 * does not know waits in suspense; when billing learns the meter (here: its radio id filled in)
 * the parked intervals go through VEE into usage, and the day's derived read reaches billing
 * exactly once. A CSR may instead claim the source's name for a meter. A radio id added to
 * billing is matched on the next rtlamr message, and the messages heard before are not lost.
 */
describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('AMI suspense on $name', (dialect) => {
  let gw: TestGateway;
  let dir: string;
  let files = 0;
  /** Electric meters with no radio id in the demo billing: one learns a radio id, one is claimed, one hears rtlamr. */
  let meters: string[] = [];
  const ctx = () => ({ ...gw.ctx, db: gw.ctx.store.db });
  const imp = (lines: string[]): Promise<AmiImportResult> => {
    const file = path.join(dir, `u${++files}.csv`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return importAmiFile(ctx(), file);
  };
  const parked = async (ref: string) =>
    Number(
      ((await gw.ctx.store.db('ami_suspense').where({ meter_ref: ref }).count({ n: '*' }).first()) as { n: number }).n,
    );
  const usage = async (meter: string) => {
    const r = (await gw.ctx.store
      .db('ami_intervals')
      .where({ meter_id: meter })
      .count({ n: '*' })
      .sum({ total: 'value' })
      .first()) as { n: number; total: number | null };
    return { n: Number(r.n), total: Number(r.total ?? 0) };
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fg-suspense-'));
    gw = await testGateway(dialect, { label: 'suspense', accounts: 200, routes: 2 });
    meters = (
      (await gw.ctx.billing
        .db('cis_meters')
        .where({ meter_type: 'E' })
        .whereNull('radio_id')
        .orderBy('meter_id')
        .limit(3)
        .select('meter_id')) as { meter_id: string }[]
    ).map((m) => m.meter_id);
    expect(meters).toHaveLength(3);
  });
  afterAll(async () => gw?.close());

  it('parks an unknown meter, then imports it once billing knows it, and posts its day to billing once', async () => {
    const day = dayIntervals(7, '2026-11-10', 1);
    const total = day.reduce((s, iv) => s + iv.value, 0);
    const r = await imp([cmepLine('77001234', 'KWH', day)]);
    expect(r).toMatchObject({ unknownMeters: 1, stored: 0 });
    expect(await parked('77001234')).toBe(96);
    const [unknown] = (await gw.ctx.store.db('exceptions').where({ batch_id: r.batchId })) as {
      kind: string;
      message: string;
      status: string;
    }[];
    expect(unknown).toMatchObject({ kind: 'UNKNOWN_METER', status: 'open' });
    expect(unknown!.message).toContain(
      'its 96 intervals are parked in suspense until billing knows the meter (or `fieldgate ami claim 77001234 <meter>` names it)',
    );

    // The same file again changes nothing; billing does not know the meter yet, so nothing moves.
    const again = path.join(dir, `u${files}.csv`);
    expect((await importAmiFile(ctx(), again)).alreadyImported).toBe(true);
    expect(await reprocessSuspense(ctx(), { actor: 'test' })).toMatchObject({ matched: [], waiting: 1 });
    expect(await parked('77001234')).toBe(96);

    // Billing learns the meter's radio id; the job imports what was parked.
    await gw.ctx.billing.db('cis_meters').where({ meter_id: meters[0] }).update({ radio_id: '77001234' });
    const job = ALL_JOBS.find((j) => j.name === 'reprocess-suspense')!;
    const run = await runJob(gw.ctx, job, { trigger: 'manual' });
    expect(run).toMatchObject({ status: 'ok' });
    expect(await usage(meters[0]!)).toEqual({ n: 96, total: expect.closeTo(total, 6) });
    expect(await parked('77001234')).toBe(0);
    const resolved = (await gw.ctx.store.db('exceptions').where({ kind: 'UNKNOWN_METER', meter_id: '77001234' })) as {
      status: string;
      resolution: string;
    }[];
    expect(resolved.map((e) => e.status)).toEqual(['resolved']);
    expect(resolved[0]!.resolution).toMatch(new RegExp(`^matched to billing meter ${meters[0]}: 96 parked intervals`));

    // Nothing twice: another pass finds nothing, and post-readings sends the day once.
    expect(await reprocessSuspense(ctx(), { actor: 'test' })).toMatchObject({ matched: [], waiting: 0 });
    const postReadings = ALL_JOBS.find((j) => j.name === 'post-readings')!;
    await runJob(gw.ctx, postReadings, { trigger: 'manual' });
    await runJob(gw.ctx, postReadings, { trigger: 'manual' });
    const posted = await gw.ctx.billing
      .db('cis_read_upload')
      .where({ read_key: `AMI:${meters[0]}:1:2026-11-10` })
      .select('read_key');
    expect(posted).toHaveLength(1);
    expect(await usage(meters[0]!)).toEqual({ n: 96, total: expect.closeTo(total, 6) });
  });

  it('imports a claimed name at once, and matches later data under it directly', async () => {
    const r = await imp([cmepLine('HE-POINT-0042', 'KWH', dayIntervals(8, '2026-11-11', 1))]);
    expect(r.unknownMeters).toBe(1);
    const claimed = await claimMeter(ctx(), { ref: 'HE-POINT-0042', meterId: meters[1]!, by: 'csr1' });
    expect(claimed.matched).toEqual([
      { ref: 'HE-POINT-0042', meterId: meters[1], intervals: 96, reads: 0, batchId: expect.any(Number) },
    ]);
    expect((await usage(meters[1]!)).n).toBe(96);
    const later = await imp([cmepLine('HE-POINT-0042', 'KWH', dayIntervals(8, '2026-11-12', 1))]);
    expect(later).toMatchObject({ unknownMeters: 0, stored: 96 });
    expect((await usage(meters[1]!)).n).toBe(192);
    // A name billing itself uses, or a meter billing does not have, cannot be claimed.
    await expect(claimMeter(ctx(), { ref: meters[0]!, meterId: meters[1]!, by: 'csr1' })).rejects.toThrow(
      /already names billing meter/,
    );
    await expect(claimMeter(ctx(), { ref: 'X1', meterId: 'NOPE', by: 'csr1' })).rejects.toThrow(/not found/);
  });

  it('lists what waits and takes a claim over the API, for a CSR only', async () => {
    const api = await startApi(gw.ctx);
    try {
      const csr = await createToken(gw.ctx.store.db, 'maria', 'csr', gw.ctx.clock());
      const tech = await createToken(gw.ctx.store.db, 'tom', 'tech', gw.ctx.clock());
      const call = (method: string, p: string, token: string, body?: unknown) =>
        fetch(`${api.base}${p}`, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      await imp([cmepLine('API-POINT-7', 'KWH', dayIntervals(9, '2026-11-13', 1))]);
      const waiting = (await (await call('GET', '/api/ami/suspense', csr)).json()) as {
        items: { meter_ref: string; intervals: number }[];
      };
      expect(waiting.items.find((i) => i.meter_ref === 'API-POINT-7')).toMatchObject({ intervals: 96 });
      const claim = { sourceId: 'API-POINT-7', meterId: meters[1] };
      expect((await call('POST', '/api/ami/claims', tech, claim)).status).toBe(403);
      expect((await call('POST', '/api/ami/claims', csr, { sourceId: 'API-POINT-7' })).status).toBe(400);
      const ok = await call('POST', '/api/ami/claims', csr, claim);
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { matched: { intervals: number }[] }).matched).toEqual([
        expect.objectContaining({ meterId: meters[1], intervals: 96 }),
      ]);
      expect(await parked('API-POINT-7')).toBe(0);
      const audit = await gw.ctx.store.db('audit_log').where({ action: 'POST /ami/claims' }).select('actor');
      expect(audit.map((a) => a.actor)).toEqual(['csr:maria']);
    } finally {
      await api.close();
    }
  });

  it('matches a radio id added to billing on the next rtlamr message, and imports the ones heard before', async () => {
    const ingest = new RtlamrIngest(
      { ...gw.ctx, config: { ...gw.ctx.config, ami: { ...gw.ctx.config.ami, directoryRefreshSeconds: 0 } } },
      new BadMessageLimiter(gw.ctx.store.db, { keepPerDevice: 10, periodMinutes: 60, keepBytes: 4096 }),
    );
    const scm = (consumption: number, minutes: number) =>
      Buffer.from(
        JSON.stringify({
          Time: new Date(NOW.getTime() - minutes * 60_000).toISOString(),
          Type: 'SCM',
          Message: { ID: 55512345, Type: 7, TamperPhy: 0, TamperEnc: 0, Consumption: consumption, ChecksumVal: 1 },
        }),
      );
    await ingest.handle('SDR-1', scm(41_000, 30));
    expect(ingest.counts).toMatchObject({ unknown: 1, stored: 0 });
    expect(await parked('55512345')).toBe(1);

    await gw.ctx.billing.db('cis_meters').where({ meter_id: meters[2] }).update({ radio_id: '55512345' });
    await ingest.handle('SDR-1', scm(41_020, 0));
    expect(ingest.counts).toMatchObject({ unknown: 1, stored: 1 });
    await reprocessSuspense(ctx(), { actor: 'test' });
    const reads = await gw.ctx.store
      .db('ami_register_reads')
      .where({ meter_id: meters[2] })
      .orderBy('read_at')
      .select('value');
    expect(reads.map((x) => Number(x.value))).toEqual([41_000, 41_020]);
  });
});
