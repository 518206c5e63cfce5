import type { WorkOrderType } from '../src/core/work-orders.js';
import { createWorkOrders } from '../src/flows/work-orders/work-orders.js';
import type { JobDefinition } from '../src/flows/scheduler/job.js';

/**
 * Service orders CSRs entered in billing become work orders, once each (the billing order
 * number is the work order's). Types are mapped by the billing mapping's serviceOrderTypes. In
 * sets: one query for the open orders, one pass for their meters' routes, the new orders made in
 * one transaction (those made before are left out).
 */
export const pullServiceOrders: JobDefinition = {
  name: 'pull-service-orders',
  description: 'Pull open service orders from billing into work orders',
  async run(ctx) {
    const types = ctx.config.billing.mapping.values.serviceOrderTypes;
    const open = await ctx.billing.openServiceOrders();
    const meterOf = (so: (typeof open)[number]) => (so.meterId == null ? null : String(so.meterId));
    const routes = await ctx.billing.findMeters(open.flatMap((so) => meterOf(so) ?? []));
    const made = await createWorkOrders(
      ctx.store.db,
      ctx.config,
      open.map((so) => {
        const meterId = meterOf(so);
        return {
          orderNo: String(so.orderNo),
          source: 'billing',
          type: types[String(so.orderType)] as WorkOrderType,
          accountNo: String(so.accountNo),
          meterId,
          area: meterId ? (routes.get(meterId)?.routeCode ?? null) : null,
          dueDate:
            so.dueDate == null
              ? null
              : String(so.dueDate instanceof Date ? so.dueDate.toISOString() : so.dueDate).slice(0, 10),
          notes: so.notes == null ? null : String(so.notes).slice(0, 500),
        };
      }),
      { role: 'system', name: 'pull-service-orders' },
      ctx.clock(),
    );
    return { seen: open.length, created: made.filter(Boolean).length };
  },
};
