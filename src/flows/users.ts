import type { GatewayContext } from './context.js';
import { createUser, type UserRow } from '../infra/store/users-repo.js';
import { enrolReader } from './field/reader-device.js';

/**
 * Adds a console or field user. A meter reader's phone is a device to the docks' route
 * assignment from the start, so a CSR can assign them a route before they first sign in.
 */
export async function addUser(ctx: GatewayContext, user: Parameters<typeof createUser>[1]): Promise<UserRow> {
  const row = await createUser(ctx.store.db, user, ctx.clock());
  if (row.role === 'reader') await enrolReader(ctx, row.username);
  return row;
}
