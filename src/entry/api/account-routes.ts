import express from 'express';
import { z } from 'zod';
import type { GatewayContext } from '../../flows/context.js';
import { accountView } from '../../flows/accounts/account-view.js';
import type { ApiRegistry } from './openapi.js';
import { createInvite } from '../../flows/portal/invites.js';
import { actorOf } from './auth.js';

/**
 * The CSR's account page: find a customer by account number, name, address or meter, and see
 * everything about the account in one answer (src/flows/accounts/account-view.ts).
 */
export const ACCOUNT_NO = z
  .string()
  .min(1)
  .max(20)
  .regex(/^[A-Za-z0-9-]+$/, 'an account number: letters, digits and dashes');

export function accountRouter(ctx: GatewayContext, registry: ApiRegistry): express.Router {
  const r = express.Router();
  registry.route(
    r,
    {
      method: 'get',
      path: '/accounts',
      summary: 'Find accounts by account number, meter id or serial, customer name or address',
      tag: 'accounts',
      roles: ['csr'],
      query: z.object({
        q: z.string().trim().min(2, 'at least 2 characters').max(60),
        limit: z.coerce.number().int().min(1).max(100).default(25),
      }),
    },
    async ({ query }) => ({ items: await ctx.billing.searchAccounts(query.q, query.limit) }),
  );
  registry.route(
    r,
    {
      method: 'get',
      path: '/accounts/:accountNo',
      summary:
        'One account: customer, standing, past-due state, meters, read history, AMI usage, exceptions, work ' +
        'orders, usage alerts and the bill explainer',
      tag: 'accounts',
      roles: ['csr'],
      params: z.object({ accountNo: ACCOUNT_NO }),
    },
    async ({ params }) => accountView(ctx, params.accountNo),
  );
  registry.route(
    r,
    {
      method: 'post',
      path: '/accounts/:accountNo/portal-invite',
      summary: 'Make a registration code for the customer usage portal (shown once)',
      tag: 'accounts',
      roles: ['csr'],
      params: z.object({ accountNo: ACCOUNT_NO }),
      body: z.strictObject({}),
      status: 201,
      auditsItself: true,
    },
    async ({ params }, _req, res) => {
      const invite = await createInvite(ctx, params.accountNo, actorOf(res.locals.principal));
      return { ...invite, registerUrl: `/portal/register.html?account=${encodeURIComponent(params.accountNo)}` };
    },
  );
  return r;
}
