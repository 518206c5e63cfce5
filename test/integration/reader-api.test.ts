import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser } from '../../src/flows/users.js';
import { createToken } from '../../src/infra/store/tokens-repo.js';
import { startApi } from '../helpers/api.js';
import { availableDialects } from '../helpers/databases.js';
import { NOW, testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Meter reading from the field app over its REST calls, as the app makes them: a CSR assigns R01
 * to a reader's phone, the reader downloads and confirms it, sends readings in batches (one sent
 * twice, as after a lost answer) with a register photo, and the route is committed by the last
 * batch. Another reader reaches none of it; a CSR sees the photo with the high read's exception.
 */
type Json = Record<string, any>;
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(600, 7), Buffer.from([0xff, 0xd9])]);

describe.each(availableDialects())('meter reading from the field app ($name)', (dialect) => {
  let gw: TestGateway;
  let api: Awaited<ReturnType<typeof startApi>>;
  let dataDir: string;
  let csr: string;
  let rita: string;
  let sam: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'fg-reader-'));
    gw = await testGateway(dialect, { label: 'reader_api', accounts: 40, routes: 2, config: { dataDir } });
    api = await startApi(gw.ctx);
    const db = gw.ctx.store.db;
    await addUser(gw.ctx, { username: 'rita', role: 'reader', password: 'meters all day' });
    await addUser(gw.ctx, { username: 'sam', role: 'reader', password: 'meters all night' });
    csr = await createToken(db, 'desk', 'csr', NOW);
    rita = await createToken(db, 'rita', 'reader', NOW);
    sam = await createToken(db, 'sam', 'reader', NOW);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await gw?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function call(token: string, method: string, url: string, body?: unknown, raw?: Buffer) {
    const res = await fetch(`${api.base}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(raw ? { 'content-type': 'image/jpeg' } : body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const type = res.headers.get('content-type') ?? '';
    return {
      status: res.status,
      body: (type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer())) as Json,
    };
  }

  const readAt = new Date(NOW.getTime() - 3600_000).toISOString();
  const keyed = (rec: Json, units: number, extra: Json = {}) => ({
    sequence: Number(rec.sequence),
    account: String(rec.account),
    meterId: String(rec.meter_id),
    register: Number(rec.register),
    reading: (Number(rec.prev_read) + units) % 10 ** Number(rec.dials),
    readAt,
    ...extra,
  });
  const within = (rec: Json) => {
    const units = (limit: number) =>
      (limit - Number(rec.prev_read) + 10 ** Number(rec.dials)) % 10 ** Number(rec.dials);
    return Math.floor((units(Number(rec.low_limit)) + units(Number(rec.high_limit))) / 2);
  };

  it('assigns, downloads, stores each batch once, keeps the photo and commits the route', async () => {
    const device = 'app.rita';
    const devices = await call(csr, 'GET', '/api/devices?limit=100');
    expect(devices.body.items.map((d: Json) => d.device_id)).toEqual(expect.arrayContaining([device, 'app.sam']));
    expect((await call(csr, 'POST', '/api/dock/assign', { route: 'R01', device })).status).toBe(201);

    const mine = await call(rita, 'GET', '/api/reader/routes');
    expect(mine.body.assigned.map((a: Json) => a.route)).toEqual(['R01']);
    expect((await call(sam, 'GET', '/api/reader/routes')).body.assigned).toEqual([]);
    expect((await call(sam, 'GET', '/api/reader/routes/R01')).status).toBe(404);

    const route = (await call(rita, 'GET', '/api/reader/routes/R01')).body;
    expect(route.records.length).toBeGreaterThan(10);
    expect(route.records[0]).toMatchObject({ sequence: 1, account: expect.any(String), address: expect.any(String) });
    expect(route.codes.skip.LOCK).toBe('Locked gate');
    // The same bytes until confirmed.
    expect((await call(rita, 'GET', '/api/reader/routes/R01')).body.sha256).toBe(route.sha256);
    const confirmed = await call(rita, 'POST', '/api/reader/routes/R01/confirm', { sha256: route.sha256 });
    expect(confirmed.body).toMatchObject({ route: 'R01', state: 'loaded' });
    expect((await call(rita, 'POST', '/api/reader/routes/R01/confirm', { sha256: route.sha256 })).status).toBe(200);
    expect((await call(rita, 'GET', '/api/reader/routes')).body.held).toEqual([
      expect.objectContaining({ route: 'R01', cycle: route.cycle, state: 'loaded' }),
    ]);

    const recs: Json[] = route.records;
    const high = recs[2]!;
    const highUnits =
      (Number(high.high_limit) - Number(high.prev_read) + 10 ** Number(high.dials)) % 10 ** Number(high.dials);
    const first = [
      keyed(recs[0]!, within(recs[0]!), { note: 'Gate code 1234', lat: 39.8, lon: -89.6 }),
      { ...keyed(recs[1]!, 0), reading: null, skipCode: 'LOCK' },
      keyed(high, highUnits + 5, { readCode: 'HC', rekeyed: true }),
      keyed(recs[3]!, within(recs[3]!), { troubleCode: 'LEAK' }),
    ];
    const batch1 = { batchId: 'rita-1', route: 'R01', cycle: route.cycle, final: false, readings: first };

    // The register photo of the high read, sent before its batch; sent again it is the same photo.
    const where = `route=R01&cycle=${route.cycle}&meter=${encodeURIComponent(String(high.meter_id))}&register=${Number(high.register)}`;
    const photo = await call(rita, 'PUT', `/api/reader/photos?${where}`, undefined, JPEG);
    expect(photo.status).toBe(201);
    expect(photo.body).toMatchObject({ content_type: 'image/jpeg', bytes: JPEG.length });
    const again = await call(rita, 'PUT', `/api/reader/photos?${where}`, undefined, JPEG);
    expect(again).toMatchObject({ status: 200, body: { id: photo.body.id } });
    // Not an image, too large, not on the route, not this reader's route: refused, naming why.
    const html = await call(rita, 'PUT', `/api/reader/photos?${where}`, undefined, Buffer.from('<html><script>'));
    expect(html.status).toBe(415);
    expect(html.body.error.code).toBe('PHOTO_TYPE');
    const huge = Buffer.concat([JPEG, Buffer.alloc(gw.config.fieldApp.photoMaxBytes)]);
    expect((await call(rita, 'PUT', `/api/reader/photos?${where}`, undefined, huge)).status).toBe(413);
    expect(
      (
        await call(
          rita,
          'PUT',
          `/api/reader/photos?route=R01&cycle=${route.cycle}&meter=NOPE&register=1`,
          undefined,
          JPEG,
        )
      ).status,
    ).toBe(404);
    expect((await call(sam, 'PUT', `/api/reader/photos?${where}`, undefined, JPEG)).status).toBe(409);
    // A phone may add only so many photos of one meter.
    const max = gw.config.fieldApp.maxPhotosPerItem;
    for (let n = 1; n < max; n++) {
      const other = Buffer.concat([JPEG, Buffer.from(`photo ${n}`)]);
      expect((await call(rita, 'PUT', `/api/reader/photos?${where}`, undefined, other)).status).toBe(201);
    }
    const over = await call(
      rita,
      'PUT',
      `/api/reader/photos?${where}`,
      undefined,
      Buffer.concat([JPEG, Buffer.from('one more')]),
    );
    expect(over).toMatchObject({ status: 409, body: { error: { code: 'PHOTO_LIMIT' } } });

    const stored = await call(rita, 'POST', '/api/reader/readings', batch1);
    expect(stored.status).toBe(201);
    expect(stored.body).toMatchObject({ status: 'stored', stored: 4, rejected: 0, skipped: 1 });
    // The answer was lost: the phone sends the batch again, and it is stored once.
    const resent = await call(rita, 'POST', '/api/reader/readings', batch1);
    expect(resent).toMatchObject({ status: 200, body: { status: 'duplicate', batchId: stored.body.batchId } });
    // Sam cannot send readings of Rita's route.
    expect((await call(sam, 'POST', '/api/reader/readings', { ...batch1, batchId: 'sam-1' })).status).toBe(409);

    const rest = recs.slice(4).map((r) => keyed(r, within(r)));
    const last = await call(rita, 'POST', '/api/reader/readings', {
      batchId: 'rita-2',
      route: 'R01',
      cycle: route.cycle,
      final: true,
      readings: rest,
    });
    expect(last.body).toMatchObject({
      status: 'stored',
      stored: rest.length,
      route: { code: 'R01', state: 'committed' },
    });

    const db = gw.ctx.store.db;
    const routeRow = (await db('routes').where({ route_code: 'R01' }).first()) as { id: number };
    const rows = await db('readings').where({ route_id: routeRow.id });
    expect(rows).toHaveLength(recs.length);
    const noted = rows.find((r) => r.meter_id === String(recs[0]!.meter_id))!;
    expect(noted).toMatchObject({ note: 'Gate code 1234', reader_id: 'RITA', method: 'K' });
    expect(Number(noted.lat)).toBeCloseTo(39.8, 5);
    // Read at the phone's instant, written in the utility's zone and read back as the same instant.
    expect(new Date(String(noted.read_at)).toISOString()).toBe(readAt);

    // The CSR sees the confirmed high read with its photo, and opens the photo.
    const exceptions = await call(csr, 'GET', `/api/exceptions?limit=200`);
    const confirmedHigh = exceptions.body.items.find(
      (e: Json) => e.kind === 'HIGH_READ_CONFIRMED' && e.meter_id === String(high.meter_id),
    );
    expect(confirmedHigh).toBeDefined();
    const detail = await call(csr, 'GET', `/api/exceptions/${confirmedHigh.id}`);
    expect(detail.body.photos).toHaveLength(gw.config.fieldApp.maxPhotosPerItem);
    expect(detail.body.photos[0]).toMatchObject({ id: photo.body.id, uploaded_by: 'reader:rita' });
    const image = await call(csr, 'GET', `/api/attachments/${photo.body.id}`);
    expect(image.status).toBe(200);
    expect(Buffer.compare(image.body as unknown as Buffer, JPEG)).toBe(0);
    expect((await call(rita, 'GET', `/api/attachments/${photo.body.id}`)).status).toBe(403);
  }, 60_000);

  it("takes readings that overtook the phone's confirmation of its route: the phone holds it", async () => {
    expect((await call(csr, 'POST', '/api/dock/assign', { route: 'R02', device: 'app.sam' })).status).toBe(201);
    const route = (await call(sam, 'GET', '/api/reader/routes/R02')).body;
    // The confirmation was lost; the first batch arrives.
    const first = route.records[0] as Json;
    const stored = await call(sam, 'POST', '/api/reader/readings', {
      batchId: 'sam-1',
      route: 'R02',
      cycle: route.cycle,
      final: false,
      readings: [keyed(first, within(first))],
    });
    expect(stored).toMatchObject({ status: 201, body: { status: 'stored', stored: 1 } });
    expect((await call(sam, 'GET', '/api/reader/routes')).body).toMatchObject({
      assigned: [],
      held: [expect.objectContaining({ route: 'R02', state: 'uploaded' })],
    });
    // The confirmation arriving late is answered with the route as it is.
    const late = await call(sam, 'POST', '/api/reader/routes/R02/confirm', { sha256: route.sha256 });
    expect(late).toMatchObject({ status: 200, body: { route: 'R02', state: 'uploaded' } });
  });

  it('refuses a bad batch whole, naming the reading and field', async () => {
    const bad = await call(rita, 'POST', '/api/reader/readings', {
      batchId: 'rita-bad',
      route: 'R01',
      cycle: '2026-11',
      final: false,
      readings: [{ sequence: 1, account: 'A', meterId: 'M', register: 1, reading: 5, skipCode: 'LOCK', readAt }],
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('readings.0.skipCode');
  });
});
