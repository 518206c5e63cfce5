import type { WorkOrderType } from '../src/core/work-orders.js';
import { createWorkOrder } from '../src/flows/work-orders/work-orders.js';
import type { JobDefinition } from '../src/flows/scheduler/job.js';

/**
 * Service orders CSRs entered in billing become work orders, once each (the billing order
 * number is the work order's). Types are mapped by the billing mapping's serviceOrderTypes.
 */
export const pullServiceOrders: JobDefinition = {
  name: 'pull-service-orders',
  description: 'Pull open service orders from billing into work orders',
  async run(ctx) {
    const counts = { seen: 0, created: 0 };
    const types = ctx.config.billing.mapping.values.serviceOrderTypes;
    const meters = new Map<string, string | null>();
    for (const so of await ctx.billing.openServiceOrders()) {
      if (ctx.signal.aborted) break;
      counts.seen++;
      const meterId = so.meterId == null ? null : String(so.meterId);
      if (meterId && !meters.has(meterId))
        meters.set(meterId, (await ctx.billing.findMeters([meterId])).get(meterId)?.routeCode ?? null);
      const { created } = await createWorkOrder(
        ctx.store.db,
        ctx.config,
        {
          orderNo: String(so.orderNo),
          source: 'billing',
          type: types[String(so.orderType)] as WorkOrderType,
          accountNo: String(so.accountNo),
          meterId,
          area: meterId ? (meters.get(meterId) ?? null) : null,
          dueDate:
            so.dueDate == null
              ? null
              : String(so.dueDate instanceof Date ? so.dueDate.toISOString() : so.dueDate).slice(0, 10),
          notes: so.notes == null ? null : String(so.notes).slice(0, 500),
        },
        { role: 'system', name: 'pull-service-orders' },
        ctx.clock(),
        { ifAbsent: true },
      );
      if (created) counts.created++;
    }
    return counts;
  },
};
