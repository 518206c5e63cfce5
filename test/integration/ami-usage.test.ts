import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmiService } from '../../src/flows/ami/ami-service.js';
import { importAmiFile } from '../../src/flows/ami/import-ami.js';
import { ALL_JOBS } from '../../jobs/index.js';
import { runJob } from '../../src/flows/scheduler/runner.js';
import { createToken } from '../../src/infra/store/tokens-repo.js';
import { availableDialects } from '../helpers/databases.js';
import { startApi } from '../helpers/api.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Usage for CSRs and customers over the API (intervals, days, months, estimated marked), the
 * Green Button export → import round trip, daily reads reaching billing through post-readings,
 * and the drop folder.
 */
const FIXTURES = path.resolve('test/fixtures/ami');
/** 2026-07-06 00:00 in Chicago: where the ESPI fixture begins. */
const JULY_6 = Date.UTC(2026, 6, 6, 5) / 1000;

describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('AMI usage on $name', (dialect) => {
  let gw: TestGateway;
  let api: Awaited<ReturnType<typeof startApi>>;
  let base: string;
  let csr: string;
  const get = (p: string, token = csr) => fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'amiusage', accounts: 200, routes: 2 });
    for (const f of ['cmep-dst.csv', 'espi-gap.xml'])
      await importAmiFile({ ...gw.ctx, db: gw.ctx.store.db }, path.join(FIXTURES, f));
    api = await startApi(gw.ctx);
    base = api.base;
    csr = await createToken(gw.ctx.store.db, 'maria', 'csr', gw.ctx.clock());
  });
  afterAll(async () => {
    await api?.close();
    await gw?.close();
  });

  it(
    'gives a meter its days with estimated intervals counted, and the DST days their 92 and 100 ' + 'intervals',
    async () => {
      const res = await get('/api/usage/meters/E0000003?from=2026-03-07&to=2026-03-09&grain=day');
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        items: {
          unit: string;
          points: { at: string; intervals: number; estimated: number; value: number }[];
          total: number;
        }[];
      };
      expect(body.items).toHaveLength(1);
      expect(body.items[0]!.unit).toBe('KWH');
      expect(body.items[0]!.points.map((p) => [p.at, p.intervals, p.estimated])).toEqual([
        ['2026-03-07', 96, 0],
        ['2026-03-08', 92, 0],
        ['2026-03-09', 96, 3],
      ]);
      const month = (await (
        await get('/api/usage/meters/E0000003?from=2026-03-01&to=2026-03-31&grain=month')
      ).json()) as typeof body;
      expect(month.items[0]!.points).toEqual([
        { at: '2026-03', value: month.items[0]!.total, intervals: 284, estimated: 3 },
      ]);
      const intervals = (await (
        await get('/api/usage/meters/E0000003?from=2026-03-09&to=2026-03-09&grain=interval')
      ).json()) as { items: { points: { at: string; estimated: number; flags: string | null }[] }[] };
      const est = intervals.items[0]!.points.filter((p) => p.estimated);
      expect(est.map((p) => [p.at, p.flags])).toEqual([
        ['2026-03-09T15:00:00.000Z', 'MISSING,EST:LINEAR'],
        ['2026-03-09T15:15:00.000Z', 'MISSING,EST:LINEAR'],
        ['2026-03-09T15:30:00.000Z', 'MISSING,EST:LINEAR'],
      ]);
    },
  );

  it('gives an account the usage of its meters', async () => {
    const account = (
      (await gw.ctx.billing.db('cis_meters').where({ meter_id: 'E0000011' }).first()) as { account_no: string }
    ).account_no;
    const body = (await (await get(`/api/usage/accounts/${account}?from=2026-07-06&to=2026-07-20`)).json()) as {
      accountNo: string;
      items: { meterId: string; points: unknown[] }[];
    };
    expect(body.accountNo).toBe(account);
    expect(body.items.map((i) => [i.meterId, i.points.length])).toEqual([['E0000011', 15]]);
  });

  it('refuses bad ranges, unknown meters and callers without a token, naming the field', async () => {
    const bad = await get('/api/usage/meters/E0000003?from=2026-03-09&to=2026-03-01');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('from');
    expect((await get('/api/usage/meters/E0000003?from=2026-3-1&to=2026-03-09')).status).toBe(400);
    expect((await get('/api/usage/meters/NOPE?from=2026-03-01&to=2026-03-09')).status).toBe(404);
    // Ids up to 64 characters (an ESPI usage point's mRID) are looked up, not refused as too long; 65 are.
    const long = 'urn:uuid:97EAEBAD-1214-4A58-A3D4-A16A6DE718E1-'.padEnd(64, 'x');
    expect((await get(`/api/usage/meters/${long}?from=2026-03-01&to=2026-03-09`)).status).toBe(404);
    expect((await get(`/api/usage/meters/${long}x?from=2026-03-01&to=2026-03-09`)).status).toBe(400);
    expect((await fetch(`${base}/api/usage/meters/E0000003?from=2026-03-01&to=2026-03-09`)).status).toBe(401);
  });

  it('exports Green Button ESPI that imports back to the same intervals, estimates and all', async () => {
    const res = await get('/api/usage/meters/E0000011/export?from=2026-07-06&to=2026-07-20&format=espi');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/atom\+xml/);
    const xml = await res.text();
    const rowsOf = async (g: TestGateway) =>
      (await g.ctx.store
        .db('ami_intervals')
        .select('start_at', 'seconds', 'value', 'quality', 'flags')
        .where({ meter_id: 'E0000011' })
        .andWhere('start_at', '>=', JULY_6)
        .orderBy('start_at')) as {
        start_at: number;
        seconds: number;
        value: number;
        quality: string;
        flags: string | null;
      }[];
    const before = await rowsOf(gw);
    expect(before.length).toBe(15 * 96);
    const other = await testGateway(dialect, { label: 'amirt', accounts: 200, routes: 2 });
    try {
      const dir = mkdtempSync(path.join(tmpdir(), 'fg-espi-'));
      writeFileSync(path.join(dir, 'export.xml'), xml);
      const r = await importAmiFile({ ...other.ctx, db: other.ctx.store.db }, path.join(dir, 'export.xml'));
      expect(r).toMatchObject({ received: 15 * 96, unknownMeters: 0, estimated: 0 });
      const after = await rowsOf(other);
      // Estimated intervals come back estimated with their method; the reason (MISSING) is the gateway's own note.
      const strip = (rows: typeof before) =>
        rows.map((x) => ({ ...x, start_at: Number(x.start_at), flags: x.flags?.replace('MISSING,', '') ?? null }));
      expect(strip(after)).toEqual(strip(before));
      rmSync(dir, { recursive: true, force: true });
    } finally {
      await other.close();
    }
  });

  it('exports CSV with local and UTC times and the quality of each interval', async () => {
    const res = await get('/api/usage/meters/E0000003/export?from=2026-03-09&to=2026-03-09&format=csv');
    expect(res.headers.get('content-disposition')).toContain('usage-E0000003-2026-03-09-2026-03-09.csv');
    const lines = (await res.text()).trim().split('\r\n');
    expect(lines[0]).toBe('meter,register,local_start,utc_start,duration_s,value,unit,quality,flags');
    expect(lines).toHaveLength(97);
    expect(lines.find((l) => l.includes('2026-03-09T15:00:00.000Z'))).toMatch(
      /^E0000003,1,2026-03-09T10:00-05:00,2026-03-09T15:00:00\.000Z,900,[\d.]+,KWH,estimated,MISSING,EST:LINEAR$/,
    );
  });

  it('posts the derived daily reads to billing once, through post-readings', async () => {
    const postReadings = ALL_JOBS.find((j) => j.name === 'post-readings')!;
    await runJob(gw.ctx, postReadings, { trigger: 'manual' });
    await runJob(gw.ctx, postReadings, { trigger: 'manual' });
    const posted = (await gw.ctx.billing
      .db('cis_read_upload')
      .where('read_key', 'like', 'AMI:E0000003:%')
      .orderBy('read_key')) as { read_key: string; read_type: string; read_source: string }[];
    expect(posted.map((p) => p.read_key)).toEqual(
      ['2026-03-07', '2026-03-08', '2026-03-09', '2026-10-31', '2026-11-01', '2026-11-02'].map(
        (d) => `AMI:E0000003:1:${d}`,
      ),
    );
    expect(posted.map((p) => p.read_type)).toEqual(['E', 'A', 'E', 'E', 'A', 'A']);
    expect(new Set(posted.map((p) => p.read_source))).toEqual(new Set(['AMI']));
  });

  it('takes files from the drop folder into done/ or failed/ with the reason', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'fg-drop-'));
    const service = new AmiService({
      ...gw.ctx,
      config: { ...gw.ctx.config, dataDir, ami: { ...gw.ctx.config.ami, dropPollMs: 60_000 } },
    });
    try {
      await service.start();
      await service.scan(); // the pass start() began, on the empty folder
      cpSync(path.join(FIXTURES, 'nem12-basic.csv'), path.join(service.dropDir, 'nem12-basic.csv'));
      cpSync(path.join(FIXTURES, 'espi-xxe.xml'), path.join(service.dropDir, 'espi-xxe.xml'));
      // No 900 record, but it ends on a whole record: stored, in done/, with a warning.
      cpSync(path.join(FIXTURES, 'nem12-checks.csv'), path.join(service.dropDir, 'nem12-checks.csv'));
      // Every record bad: nothing to store, so failed/, not done/.
      writeFileSync(
        path.join(service.dropDir, 'nem12-all-bad.csv'),
        '100,NEM12,202611230600,MDP1,FIELDGATE\n200,4102000003,E1,E1,E1,N1,E0000003,KWH,30,\n' +
          '300,20260801,1,2,3,A,,,20261123060000,\n900\n',
      );
      writeFileSync(path.join(service.dropDir, 'notes.txt'), 'not an AMI file\n');
      await service.scan(); // sizes noted
      await service.scan(); // sizes unchanged: taken
      expect(readdirSync(service.dropDir).sort()).toEqual(['done', 'failed']);
      expect(
        readdirSync(path.join(service.dropDir, 'done'))
          .map((n) => n.replace(/^[\dTZ-]+-(?=[a-z])/, ''))
          .sort(),
      ).toEqual(['nem12-basic.csv', 'nem12-checks.csv']);
      const failed = readdirSync(path.join(service.dropDir, 'failed'));
      expect(failed.filter((n) => n.endsWith('.reason.txt'))).toHaveLength(3);
      const reason = (name: string) =>
        readFileSync(
          path.join(
            service.dropDir,
            'failed',
            failed.find((n) => n.endsWith(`${name}.reason.txt`))!,
          ),
          'utf8',
        );
      expect(reason('espi-xxe.xml')).toMatch(/^refused: espi-xxe\.xml \(espi, batch \d+\)/);
      expect(reason('nem12-all-bad.csv')).toMatch(
        /^no data: not one record could be read: nem12-all-bad\.csv \(nem12, batch \d+\): 0 intervals received/,
      );
      expect(reason('notes.txt')).toMatch(/notes\.txt: not CMEP \(MEPMD01\), Green Button ESPI XML or NEM12/);
      expect(existsSync(path.join(service.dropDir, 'nem12-basic.csv'))).toBe(false);
    } finally {
      await service.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
