import { createHash } from 'node:crypto';
import { readerDeviceId } from '../../core/device-id.js';
import { recordDeviceSeen } from '../../infra/store/dock-repo.js';
import type { GatewayContext } from '../context.js';

/** The device a reader's phone is, for route assignment. */
export const deviceOfReader = (username: string) =>
  readerDeviceId(username, (text) => createHash('sha256').update(text).digest('hex'));

/** The reader's phone as an approved device (the reader is a user an admin added): returns its id. */
export async function enrolReader(ctx: GatewayContext, username: string): Promise<string> {
  const device = deviceOfReader(username);
  await recordDeviceSeen(
    ctx.store.db,
    { device, model: 'field app' },
    { now: ctx.clock().toISOString(), approve: true },
  );
  return device;
}
