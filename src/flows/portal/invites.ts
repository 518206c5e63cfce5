/**
 * Registering for the usage portal (issue 21, point 3). A CSR (or `fieldgate portal invite`)
 * makes an invitation code for an account; it is printed on the bill or read to the customer,
 * shown once, and only its hash is kept. The customer registers with the account number and the
 * code: a `customer` user linked to that account. A code is good once, until it expires; a
 * wrong pair says only that it does not match (nothing tells which half was wrong), and tries
 * are throttled per account and per address like logins.
 */

import { createHash, randomInt } from 'node:crypto';
import { AppError } from '../../errors.js';
import { beginLogin, loginSucceeded } from '../../infra/store/login-throttle.js';
import { audit } from '../../infra/store/audit-repo.js';
import {
  accountsOfCustomer,
  findOpenInvite,
  insertInvite,
  linkCustomerAccount,
  markInviteUsed,
} from '../../infra/store/customers-repo.js';
import { findUser } from '../../infra/store/users-repo.js';
import { verifyPassword } from '../../infra/security/passwords.js';
import { addUser } from '../users.js';
import type { GatewayContext } from '../context.js';

// No 0/O, 1/I/L: a code read over the phone is typed right.
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 12;

/** A fresh code, grouped for reading aloud: KQ7M-3XPA-9TRW (about 59 bits). */
export function drawInviteCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return code.match(/.{4}/g)!.join('-');
}

/** What a code is kept as: its hash, spaces, dashes and case not counted. */
export function inviteCodeHash(code: string): string {
  return createHash('sha256').update(code.toUpperCase().replace(/[\s-]/g, '')).digest('hex');
}

export async function createInvite(
  ctx: GatewayContext,
  accountNo: string,
  by: string,
): Promise<{ code: string; accountNo: string; expiresAt: string }> {
  const account = await ctx.billing.account(accountNo);
  if (!account)
    throw new AppError('NOT_FOUND', `billing has no account ${accountNo}`, { status: 404, field: 'accountNo' });
  const now = ctx.clock();
  const code = drawInviteCode();
  const expiresAt = new Date(now.getTime() + ctx.config.portal.inviteDays * 86_400_000).toISOString();
  await insertInvite(ctx.store.db, {
    account_no: accountNo,
    code_hash: inviteCodeHash(code),
    created_by: by.slice(0, 80),
    created_at: now.toISOString(),
    expires_at: expiresAt,
  });
  await audit(
    ctx.store.db,
    { actor: by, action: 'portal.invite', target: `account:${accountNo}`, detail: { expiresAt } },
    now,
  );
  return { code, accountNo, expiresAt };
}

export interface Registration {
  accountNo: string;
  code: string;
  username: string;
  password: string;
  displayName?: string;
}

const NO_MATCH = () =>
  new AppError('INVITE_NO_MATCH', 'that account number and registration code do not match an open invitation', {
    status: 400,
    field: 'code',
  });

/**
 * A new customer from an invitation, or an existing customer (their password proves it) adding
 * the account to theirs.
 */
export async function registerCustomer(
  ctx: GatewayContext,
  r: Registration,
  ip: string,
): Promise<{ username: string; accounts: string[]; created: boolean }> {
  const db = ctx.store.db;
  const now = ctx.clock();
  const attempt = await beginLogin(db, { username: `invite:${r.accountNo}`, ip }, ctx.config.auth.login, now);
  const invite = await findOpenInvite(db, r.accountNo, inviteCodeHash(r.code), now.toISOString());
  if (!invite) {
    ctx.log.warn('portal registration refused: no matching invitation', {
      module: 'portal',
      accountNo: r.accountNo,
      ip,
    });
    throw NO_MATCH();
  }
  const username = r.username.toLowerCase();
  const existing = await findUser(db, username);
  let created = false;
  if (existing) {
    // Adding an account to a customer login: the password must be theirs, and only customers may.
    if (existing.role !== 'customer' || !(await verifyPassword(r.password, existing.password_hash)))
      throw new AppError('USER_EXISTS', `the username '${username}' is taken: choose another`, {
        status: 409,
        field: 'username',
      });
  } else {
    await addUser(ctx, { username, role: 'customer', password: r.password, displayName: r.displayName ?? null });
    created = true;
  }
  const user = (await findUser(db, username))!;
  const used = await markInviteUsed(db, invite.id, user.id, now.toISOString());
  if (!used) throw NO_MATCH();
  await linkCustomerAccount(db, user.id, r.accountNo, now.toISOString());
  await loginSucceeded(db, attempt);
  await audit(
    db,
    { actor: `customer:${username}`, action: 'portal.register', target: `account:${r.accountNo}`, detail: { ip } },
    now,
  );
  return { username, accounts: await accountsOfCustomer(db, user.id), created };
}
