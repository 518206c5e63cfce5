import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { assignRoute } from '../../src/flows/dock/dock-commands.js';
import { availableDialects } from '../helpers/databases.js';
import { dockService, handheld, nextEvent, waitFor } from '../helpers/dock.js';
import { testGateway } from '../helpers/gateway.js';
import { ptyPair } from '../helpers/pty.js';

/** Eight docks on eight real PTY pairs, transferring at the same time, each on its own. */
describe.each(availableDialects())('eight docks at once on $name', (dialect) => {
  const cleanup = cleanupAfterEach();

  it('loads eight routes and unloads eight readings files concurrently; every one completes', async () => {
    const gw = await testGateway(dialect, { label: 'eight', accounts: 1600, routes: 8 });
    cleanup.push(() => gw.close());
    const pairs = await Promise.all(Array.from({ length: 8 }, () => ptyPair()));
    cleanup.push(() => Promise.all(pairs.map((p) => p.pull())));
    // Paced like 115,200-baud cables (a load takes about 3 s), so the eight transfers truly run side by side.
    const { service, ctx } = dockService(
      gw.ctx,
      pairs.map((p) => p.a),
      {},
      { paceBaud: 115_200 },
    );
    await service.start();
    cleanup.push(() => service.stop());
    const devices = pairs.map((p, i) => handheld(ctx, { deviceId: `HH-10${i}`, port: p.b, paceBaud: 115_200 }));
    await Promise.all(
      devices.map(async (d) => {
        const welcomed = nextEvent(d, 'welcome');
        await d.start();
        cleanup.push(() => d.stop());
        await welcomed;
      }),
    );
    const routes = (await ctx.billing.listRoutes()).map((r) => r.code);
    expect(routes).toHaveLength(8);

    const spans: { begin: number; end: number }[] = [];
    const loads = devices.map((d) => {
      const span = { begin: 0, end: 0 };
      spans.push(span);
      d.once('loadBegin', () => (span.begin = Date.now()));
      return nextEvent<[string, number]>(d, 'loaded', 60_000).then((args) => ((span.end = Date.now()), args));
    });
    for (const i of devices.keys())
      await assignRoute(ctx, { routeCode: routes[i]!, deviceId: `HH-10${i}`, actor: 'csr:test' });
    const loaded = await Promise.all(loads);
    loaded.forEach(([route], i) => expect(route).toBe(routes[i]));
    // The eight loads ran side by side: each began before any finished.
    expect(Math.max(...spans.map((s) => s.begin))).toBeLessThan(Math.min(...spans.map((s) => s.end)));
    await waitFor(
      async () => Number((await ctx.store.db('routes').where({ state: 'loaded' }).count({ n: '*' }).first())!.n) === 8,
      'eight loads recorded',
    );

    const cleared = devices.map((d) => nextEvent(d, 'cleared', 60_000));
    for (const d of devices) {
      d.readRoutes();
      d.redock();
    }
    await Promise.all(cleared);
    await waitFor(
      async () => Number((await ctx.store.db('routes').where({ state: 'cleared' }).count({ n: '*' }).first())!.n) === 8,
      'eight routes cleared',
    );
    const perRoute = (await ctx.store
      .db('readings')
      .join('routes', 'routes.id', 'readings.route_id')
      .select('routes.route_code')
      .count({ n: '*' })
      .groupBy('routes.route_code')) as { n: number }[];
    const expected = (await ctx.store.db('routes').select('records')).map((r: { records: number }) => r.records);
    expect(perRoute.map((r) => Number(r.n)).sort()).toEqual(expected.map(Number).sort());
  });
});
