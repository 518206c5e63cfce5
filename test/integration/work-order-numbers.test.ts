import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkOrder } from '../../src/flows/work-orders/work-orders.js';
import { availableDialects } from '../helpers/databases.js';
import { NOW, testGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Finding (nightly bench, past-due at 100,000 accounts): the gateway's own order numbers (four
 * random characters a day) collided after a few thousand orders, and the job stopped with
 * "order … exists already". A drawn number that is taken is now drawn again; a number given by
 * billing or a CSR that is taken is still a 409.
 */
describe.each(availableDialects())('work-order numbers on $name', (dialect) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await testGateway(dialect, { label: 'wo_numbers', accounts: 20, routes: 1 });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('draws again when the number drawn is taken', async () => {
    const drawn = ['WO261123AAAA', 'WO261123AAAA', 'WO261123AAAA', 'WO261123BBBB'];
    const draw = () => drawn.shift()!;
    const actor = { role: 'system', name: 'past-due' } as const;
    const first = await createWorkOrder(
      gw.ctx.store.db,
      gw.config,
      { source: 'past-due', type: 'DisconnectWarning' },
      actor,
      NOW,
      { draw },
    );
    const second = await createWorkOrder(
      gw.ctx.store.db,
      gw.config,
      { source: 'past-due', type: 'DisconnectWarning' },
      actor,
      NOW,
      { draw },
    );
    expect([first.order.orderNo, second.order.orderNo]).toEqual(['WO261123AAAA', 'WO261123BBBB']);
    expect(drawn).toEqual([]);
    await expect(
      createWorkOrder(
        gw.ctx.store.db,
        gw.config,
        { source: 'csr', type: 'ReRead', orderNo: 'WO261123BBBB' },
        { role: 'csr', name: 'maria' },
        NOW,
      ),
    ).rejects.toMatchObject({ code: 'DUPLICATE', status: 409 });
    expect(Number(((await gw.ctx.store.db('work_orders').count({ n: '*' }).first()) as { n: number }).n)).toBe(2);
  });
});
