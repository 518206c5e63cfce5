import nock from 'nock';
import { DateTime } from 'luxon';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HeadEndClient, HeadEndError, type HeadEndOptions } from '../../adapters/ami-headend/client.js';
import { getCursor, pullHeadEnd } from '../../src/flows/ami/headend-pull.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * The head-end client against nock: pages with a cursor kept in the store, 429 Retry-After,
 * 5xx, timeouts, cut-off and invalid JSON, bad items; and a restart resuming where it stopped.
 */
const BASE = 'http://headend.test';
const OPTS: HeadEndOptions & { paths: { intervals: string; registers: string }; maxPages: number } = {
  url: `${BASE}/api`,
  token: 'secret-token',
  pageSize: 96,
  timeoutMs: 200,
  attempts: 4,
  backoffMinMs: 100,
  backoffMaxMs: 1000,
  maxPages: 10,
  paths: { intervals: '/v1/exports/intervals', registers: '/v1/exports/registers' },
  query: { cursor: 'cursor', limit: 'limit' },
  response: { items: 'items', nextCursor: 'nextCursor' },
};
const ZONE = 'America/Chicago';
const dayItems = (meterId: string, date: string) => {
  const start = DateTime.fromISO(date, { zone: ZONE }).toUTC();
  return Array.from({ length: 96 }, (_, k) => ({
    meterId,
    unit: 'KWH',
    intervalSeconds: 900,
    start: start.plus({ minutes: 15 * k }).toISO(),
    value: 0.25 + (k % 4) / 100,
  }));
};

describe.each(availableDialects().filter((d) => d.name !== 'mssql'))('AMI head-end pull on $name', (dialect) => {
  let gw: TestGateway;
  const waits: number[] = [];
  const client = () =>
    new HeadEndClient(
      OPTS,
      async (ms) => void waits.push(ms),
      () => 0.5,
    );
  const pull = () => pullHeadEnd({ ...gw.ctx, db: gw.ctx.store.db }, OPTS, undefined, client());
  const noRegisters = () =>
    nock(BASE).get('/api/v1/exports/registers').query(true).reply(200, { items: [], nextCursor: null });

  beforeAll(async () => {
    nock.disableNetConnect();
    gw = await testGateway(dialect, { label: 'headend', accounts: 200, routes: 2 });
  });
  afterEach(() => {
    nock.cleanAll();
    waits.length = 0;
  });
  afterAll(async () => {
    nock.enableNetConnect();
    await gw?.close();
  });

  it('pulls pages through 429, 5xx and a cut-off body, keeping the cursor, and names a bad item', async () => {
    const page3 = dayItems('E0000004', '2026-09-03');
    (page3[1] as Record<string, unknown>).value = 'x';
    noRegisters();
    const api = nock(BASE, { reqheaders: { authorization: 'Bearer secret-token' } })
      .get('/api/v1/exports/intervals')
      .query({ limit: '96' })
      .reply(200, { items: dayItems('E0000003', '2026-09-01'), nextCursor: 'c2' })
      .get('/api/v1/exports/intervals')
      .query({ limit: '96', cursor: 'c2' })
      .reply(429, 'slow down', { 'Retry-After': '7' })
      .get('/api/v1/exports/intervals')
      .query({ limit: '96', cursor: 'c2' })
      .reply(200, { items: dayItems('E0000003', '2026-09-02'), nextCursor: 'c3' })
      .get('/api/v1/exports/intervals')
      .query({ limit: '96', cursor: 'c3' })
      .reply(503)
      .get('/api/v1/exports/intervals')
      .query({ limit: '96', cursor: 'c3' })
      .reply(200, '{"items":[{"meterId":"E00', { 'content-type': 'application/json' })
      .get('/api/v1/exports/intervals')
      .query({ limit: '96', cursor: 'c3' })
      .reply(200, { items: page3, nextCursor: null });
    const counts = await pull();
    expect(api.isDone()).toBe(true);
    // Pages: one of registers (empty) and three of intervals. Exceptions: the bad item, and the note that it was
    // estimated.
    expect(counts).toMatchObject({ pages: 4, items: 3 * 96, exceptions: 2, duplicatePages: 0 });
    // Retry-After honoured exactly; the others are full-jitter backoff (random 0.5 → half the cap).
    expect(waits).toEqual([7000, 50, 100]);
    expect(await getCursor(gw.ctx.store.db, 'headend:intervals')).toBe('c3');
    const stored = await gw.ctx.store
      .db('ami_intervals')
      .whereIn('meter_id', ['E0000003', 'E0000004'])
      .andWhere('start_at', '>=', Date.parse('2026-09-01T05:00:00Z') / 1000)
      .count({ n: '*' })
      .first();
    expect(Number((stored as { n: number }).n)).toBe(3 * 96); // the bad item is estimated from its neighbours
    const ex = (await gw.ctx.store.db('exceptions').where({ source: 'ami-headend', kind: 'BAD_RECORD' })) as {
      message: string;
      field: string;
    }[];
    expect(ex).toHaveLength(1);
    expect(ex[0]!.field).toBe('value');
    expect(ex[0]!.message).toMatch(
      /^head-end intervals page after cursor c3 item 2, value: Invalid input: expected number, received string/,
    );
  });

  it('resumes after a restart at the saved cursor; the same page again stores nothing twice', async () => {
    noRegisters();
    const page3 = dayItems('E0000004', '2026-09-03');
    (page3[1] as Record<string, unknown>).value = 'x';
    nock(BASE)
      .get('/api/v1/exports/intervals')
      .query({ limit: '96', cursor: 'c3' })
      .reply(200, { items: page3, nextCursor: null });
    const before = await gw.ctx.store.db('ami_intervals').count({ n: '*' }).first();
    const counts = await pull();
    expect(counts).toMatchObject({ pages: 2, duplicatePages: 2, stored: 0 });
    expect(await gw.ctx.store.db('ami_intervals').count({ n: '*' }).first()).toEqual(before);
  });

  it('retries a page that does not answer in time', async () => {
    noRegisters();
    nock(BASE)
      .get('/api/v1/exports/intervals')
      .query({ limit: '96', cursor: 'c3' })
      .delay(1000)
      .reply(200, { items: [], nextCursor: null })
      .get('/api/v1/exports/intervals')
      .query({ limit: '96', cursor: 'c3' })
      .reply(200, { items: dayItems('E0000004', '2026-09-04'), nextCursor: 'c4' })
      .get('/api/v1/exports/intervals')
      .query({ limit: '96', cursor: 'c4' })
      .reply(200, { items: [], nextCursor: null });
    const counts = await pull();
    expect(counts).toMatchObject({ pages: 3, items: 96 });
    expect(waits).toEqual([50]);
    expect(await getCursor(gw.ctx.store.db, 'headend:intervals')).toBe('c4');
  });

  it('gives up on JSON that stays invalid, naming the page, and keeps the cursor where it was', async () => {
    noRegisters();
    nock(BASE)
      .get('/api/v1/exports/intervals')
      .query({ limit: '96', cursor: 'c4' })
      .times(4)
      .reply(200, '<html>maintenance</html>');
    await expect(pull()).rejects.toThrow(
      /\/v1\/exports\/intervals after cursor c4: the answer is not JSON \(24 bytes: .*\) \(gave up after 4 attempts\)/,
    );
    expect(waits).toEqual([50, 100, 200]);
    expect(await getCursor(gw.ctx.store.db, 'headend:intervals')).toBe('c4');
  });

  it('does not retry a refusal: 401 is a configuration problem', async () => {
    nock(BASE).get('/api/v1/exports/registers').query(true).reply(401, 'bad token');
    const err = (await pull().catch((e: unknown) => e)) as HeadEndError;
    expect(err).toBeInstanceOf(HeadEndError);
    expect(err.message).toMatch(/401 .*bad token \(gave up after 4 attempts\)/);
    expect(waits).toEqual([]);
  });

  it('stores register reads', async () => {
    nock(BASE)
      .get('/api/v1/exports/registers')
      .query({ limit: '96' })
      .reply(200, {
        items: [
          { meterId: 'E0000003', unit: 'KWH', readAt: '2026-09-02T05:00:00Z', value: 32500 },
          { meterId: 'NOPE', unit: 'KWH', readAt: '2026-09-02T05:00:00Z', value: 1 },
        ],
        nextCursor: null,
      })
      .get('/api/v1/exports/intervals')
      .query({ limit: '96', cursor: 'c4' })
      .reply(200, { items: [], nextCursor: null });
    await pull();
    const reads = (await gw.ctx.store.db('ami_register_reads').where({ source: 'headend' })) as {
      meter_id: string;
      value: number;
    }[];
    expect(reads.map((r) => [r.meter_id, r.value])).toEqual([['E0000003', 32500]]);
    const unknown = (await gw.ctx.store.db('exceptions').where({ source: 'ami-headend', kind: 'UNKNOWN_METER' })) as {
      message: string;
    }[];
    expect(unknown.map((u) => u.message)).toEqual([
      expect.stringMatching(/'NOPE' is not a billing meter id, radio id or serial/),
    ]);
  });
});
