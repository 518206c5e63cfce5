import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/infra/store/tokens-repo.js';
import { startApi } from '../helpers/api.js';
import { availableDialects } from '../helpers/databases.js';
import { testGateway, type TestGateway } from '../helpers/gateway.js';
import { readRouteIntoStore } from '../helpers/read-file.js';

/**
 * Every API operation fed arbitrary JSON bodies and query strings (fast-check): the answer is
 * never a 500, and every refusal has the one error shape naming what was wrong. FUZZ_RUNS cases
 * per operation (30 unless set); FUZZ_SEED replays a failure.
 */
const sqlite = availableDialects().find((d) => d.name === 'sqlite')!;
const RUNS = Number(process.env.FUZZ_API_RUNS ?? 30);
const params = { numRuns: RUNS, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) };

describe('API under arbitrary input', () => {
  let gw: TestGateway;
  let api: Awaited<ReturnType<typeof startApi>>;
  let admin: string;

  beforeAll(async () => {
    gw = await testGateway(sqlite, { label: 'fuzz_api', accounts: 80, routes: 1 });
    await readRouteIntoStore(gw.ctx, 'R01');
    admin = await createToken(gw.ctx.store.db, 'fuzz-admin', 'admin', gw.ctx.clock());
    api = await startApi(gw.ctx);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await gw?.close();
  });

  const pathOf = (p: string) =>
    `/api${p.replace(/:(\w+)/g, (_m, name: string) => ({ cycle: '2026-11', id: '1', kind: 'meters' })[name] ?? 'R01')}`;
  const expectShape = async (res: Response, label: string) => {
    expect(res.status, label).toBeLessThan(500);
    if (res.status >= 400) {
      const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
      expect(body.error, label).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    } else await res.arrayBuffer();
  };

  it('answers every body sent to every operation that takes one with a 2xx or a 4xx in the error shape', async () => {
    const ops = api.operations.filter((o) => o.method === 'post' && !o.rawBody && o.path !== '/session');
    expect(ops.length).toBeGreaterThan(15);
    for (const op of ops) {
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.json(), fc.string({ maxLength: 100 })), async (body) => {
          const res = await fetch(api.base + pathOf(op.path), {
            method: 'POST',
            headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
            body,
          });
          await expectShape(res, `POST ${op.path} ${body.slice(0, 80)}`);
        }),
        params,
      );
    }
  }, 120_000);

  it('answers any query string on every list with a 2xx or a 4xx in the error shape', async () => {
    const ops = api.operations.filter((o) => o.method === 'get' && o.path !== '/dock/events');
    const key = fc.oneof(
      fc.constantFrom(
        'limit',
        'offset',
        'status',
        'kind',
        'route',
        'from',
        'to',
        'grain',
        'sort',
        'dir',
        'flag',
        'cycle',
        'format',
        'minAgeDays',
        'search',
        'technician',
      ),
      fc.string({ maxLength: 8 }),
    );
    for (const op of ops) {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(key, fc.string({ maxLength: 30 })), { maxLength: 5 }), async (pairs) => {
          const q = new URLSearchParams(pairs).toString();
          const res = await fetch(`${api.base}${pathOf(op.path)}?${q}`, {
            headers: { authorization: `Bearer ${admin}` },
          });
          await expectShape(res, `GET ${op.path}?${q}`);
        }),
        { ...params, numRuns: Math.max(10, Math.round(RUNS / 2)) },
      );
    }
  }, 120_000);
});
