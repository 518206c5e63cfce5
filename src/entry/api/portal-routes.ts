import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { calendarDay } from '../../core/calendar.js';
import { localDate } from '../../core/local-time.js';
import type { GatewayContext } from '../../flows/context.js';
import { NotFoundError } from '../../errors.js';
import { registerCustomer } from '../../flows/portal/invites.js';
import { customerAccount, customerUsage, customerUsageExport } from '../../flows/portal/customer-usage.js';
import {
  accountsOfCustomer,
  alertPreferences,
  customerHasAccount,
  saveAlertPreferences,
} from '../../infra/store/customers-repo.js';
import { findUser } from '../../infra/store/users-repo.js';
import { ACCOUNT_NO } from './account-routes.js';
import type { ApiRegistry } from './openapi.js';

/**
 * The customer usage portal's API (`/api/portal/…`, role `customer`). A customer sees the
 * accounts they registered and nothing else: any other account number, real or not, is the
 * same 404, so the portal never tells whether an account exists.
 */
const registration = z.strictObject({
  accountNo: ACCOUNT_NO,
  code: z.string().min(8).max(20),
  username: z.string().min(2).max(64),
  password: z.string().min(1).max(200),
  displayName: z.string().max(100).optional(),
});

/** POST /api/portal/register: needs no login (the invitation code is the credential), so it is mounted before authentication. */
export function portalRegisterRouter(ctx: GatewayContext, registry: ApiRegistry): express.Router {
  const r = express.Router();
  registry.operations.push({
    method: 'post',
    path: '/portal/register',
    summary: 'Register for the usage portal with an account number and an invitation code',
    tag: 'portal',
    roles: [],
    public: true,
    body: registration,
    status: 201,
  });
  r.post('/portal/register', express.json({ limit: '4kb' }), async (req: Request, res: Response) => {
    const body = registration.parse(req.body ?? {});
    res.status(201).json(await registerCustomer(ctx, body, req.ip ?? 'unknown'));
  });
  return r;
}

const range = z
  .object({
    from: calendarDay,
    to: calendarDay,
    grain: z.enum(['hour', 'day']).default('day'),
  })
  .refine((q) => q.from <= q.to, { message: 'from must not be after to', path: ['from'] })
  .refine((q) => Date.parse(q.to) - Date.parse(q.from) <= 400 * 86_400_000, {
    message: 'at most 400 days at a time',
    path: ['to'],
  });
const exportRange = z
  .object({ from: calendarDay, to: calendarDay, format: z.enum(['espi', 'csv']).default('espi') })
  .refine((q) => q.from <= q.to, { message: 'from must not be after to', path: ['from'] })
  .refine((q) => Date.parse(q.to) - Date.parse(q.from) <= 400 * 86_400_000, {
    message: 'at most 400 days at a time',
    path: ['to'],
  });
const preferences = z.strictObject({
  email: z.email().max(254).nullable(),
  phone: z
    .string()
    .regex(/^\+?[0-9 ()-]{7,20}$/, 'a phone number such as +1 217 555 0100')
    .nullable(),
  byEmail: z.boolean(),
  bySms: z.boolean(),
});

export function portalRouter(ctx: GatewayContext, registry: ApiRegistry): express.Router {
  const r = express.Router();
  const db = ctx.store.db;
  const userOf = async (res: Response) => {
    const user = await findUser(db, res.locals.principal!.name);
    if (!user) throw new NotFoundError('user', res.locals.principal!.name);
    return user;
  };
  /** The account, if this customer registered it; otherwise the same 404 as an account that does not exist. */
  const own = async (res: Response, accountNo: string) => {
    const user = await userOf(res);
    if (!(await customerHasAccount(db, user.id, accountNo))) throw new NotFoundError('account', accountNo);
    return user;
  };
  const account = z.object({ accountNo: ACCOUNT_NO });

  registry.route(
    r,
    {
      method: 'get',
      path: '/portal/me',
      summary: 'The customer and the accounts they registered',
      tag: 'portal',
      roles: ['customer'],
    },
    async (_input, _req, res) => {
      const user = await userOf(res);
      return {
        username: user.username,
        displayName: user.display_name,
        accounts: await accountsOfCustomer(db, user.id),
        timeZone: ctx.config.timeZone,
        // The gateway's day, not the phone's: a phone with a wrong clock still sees its latest usage.
        today: localDate(ctx.clock(), ctx.config.timeZone),
      };
    },
  );
  registry.route(
    r,
    {
      method: 'get',
      path: '/portal/accounts/:accountNo',
      summary: "One of the customer's accounts: premise, meters and usage alerts in plain words",
      tag: 'portal',
      roles: ['customer'],
      params: account,
    },
    async ({ params }, _req, res) => {
      await own(res, params.accountNo);
      return customerAccount(ctx, params.accountNo);
    },
  );
  registry.route(
    r,
    {
      method: 'get',
      path: '/portal/accounts/:accountNo/usage',
      summary: "The account's usage by day or hour, with the same days last year",
      tag: 'portal',
      roles: ['customer'],
      params: account,
      query: range,
    },
    async ({ params, query }, _req, res) => {
      await own(res, params.accountNo);
      return customerUsage(ctx, params.accountNo, query);
    },
  );
  registry.route(
    r,
    {
      method: 'get',
      path: '/portal/accounts/:accountNo/export',
      summary: 'Download My Data: the account’s usage as Green Button ESPI XML or CSV',
      tag: 'portal',
      roles: ['customer'],
      params: account,
      query: exportRange,
      produces: 'application/atom+xml, text/csv',
    },
    async ({ params, query }, _req, res) => {
      await own(res, params.accountNo);
      const chunks = await customerUsageExport(ctx, params.accountNo, query);
      const name = `usage-${params.accountNo}-${query.from}-${query.to}.${query.format === 'csv' ? 'csv' : 'xml'}`;
      res.setHeader(
        'content-type',
        query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/atom+xml; charset=utf-8',
      );
      res.setHeader('content-disposition', `attachment; filename="${name}"`);
      for await (const c of chunks) if (!res.write(c)) await new Promise((resolve) => res.once('drain', resolve));
      res.end();
    },
  );
  registry.route(
    r,
    {
      method: 'get',
      path: '/portal/preferences',
      summary: 'How the customer hears of usage alerts',
      tag: 'portal',
      roles: ['customer'],
    },
    async (_input, _req, res) => {
      const p = await alertPreferences(db, (await userOf(res)).id);
      return {
        email: p?.email ?? null,
        phone: p?.phone ?? null,
        byEmail: Boolean(p?.by_email),
        bySms: Boolean(p?.by_sms),
      };
    },
  );
  registry.route(
    r,
    {
      method: 'put',
      path: '/portal/preferences',
      summary: 'Set how the customer hears of usage alerts (e-mail, SMS)',
      tag: 'portal',
      roles: ['customer'],
      body: preferences,
    },
    async ({ body }, _req, res) => {
      if (body.byEmail && !body.email)
        throw new z.ZodError([
          {
            code: 'custom',
            path: ['email'],
            message: 'an e-mail address, to send alerts by e-mail',
            input: body.email,
          },
        ]);
      if (body.bySms && !body.phone)
        throw new z.ZodError([
          { code: 'custom', path: ['phone'], message: 'a phone number, to send alerts by SMS', input: body.phone },
        ]);
      const user = await userOf(res);
      await saveAlertPreferences(db, {
        user_id: user.id,
        email: body.email,
        phone: body.phone,
        by_email: body.byEmail,
        by_sms: body.bySms,
        updated_at: ctx.clock().toISOString(),
      });
      return body;
    },
  );
  return r;
}
