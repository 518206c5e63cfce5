import type { MqttAdapter } from '../../adapters/mqtt/mqtt-adapter.js';
import type { GatewayContext } from '../app/context.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { claimPending, markFailedAttempt, markSent, releaseClaims, releaseOwnClaims } from '../store/outbox-repo.js';

/**
 * Sends the outbox's MQTT messages (acks, errors, routes) with QoS 1, and marks each sent only
 * when the broker acknowledged it. Not sent (broker down, gateway killed): still in the outbox,
 * sent by the next run or the next gateway. Gateways sharing the store claim items before sending,
 * so each goes out once; a claim left by a killed gateway expires. Every message is still safe to
 * receive twice (acks and errors name their batch, routes are retained).
 */
export const MQTT_PUBLISH = 'mqtt.publish';

export interface PublishItem {
  topic: string;
  payload: string;
  retain?: boolean;
}

const BATCH = 200;
/** A claim older than this belongs to a sender that died: others may take the item. */
const STALE_CLAIM_MS = 30_000;

export class OutboxPublisher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private ownClaimsReleased = false;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly adapter: MqttAdapter,
    private readonly pollMs: number,
    private readonly log: Logger,
    private readonly holder: string,
  ) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.pollMs);
    this.timer.unref();
    this.wake();
  }

  /** Sends now (new items were queued); a run in progress goes round once more. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => void this.log.warn(`mqtt outbox: ${errorMessage(err)}; retrying`))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async drain(): Promise<void> {
    const db = this.ctx.store.db;
    if (!this.ownClaimsReleased) {
      const released = await releaseOwnClaims(db, MQTT_PUBLISH, this.holder);
      if (released) this.log.info(`mqtt outbox: ${released} message(s) claimed before a restart given back to send`);
      this.ownClaimsReleased = true;
    }
    for (;;) {
      if (this.stopped || !this.adapter.connected) return;
      const items = await claimPending<PublishItem>(db, MQTT_PUBLISH, BATCH, this.holder, this.ctx.clock(), STALE_CLAIM_MS);
      if (items.length === 0) return;
      const sent: typeof items = [];
      const results = await Promise.allSettled(items.map((i) => this.adapter.publish(i.payload.topic, i.payload.payload, { retain: i.payload.retain })));
      results.forEach((r, n) => r.status === 'fulfilled' && sent.push(items[n]!));
      if (sent.length) await db.transaction((trx) => markSent(trx, sent, null, this.ctx.clock().toISOString()));
      const failed = items.filter((i) => !sent.includes(i));
      if (failed.length) {
        const reason = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason as Error;
        await markFailedAttempt(db, failed.map((i) => i.id), reason.message);
        await releaseClaims(db, failed.map((i) => i.id));
        return;
      }
    }
  }
}
