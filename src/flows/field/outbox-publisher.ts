import type { MqttAdapter } from '../../../adapters/mqtt/mqtt-adapter.js';
import { MQTT_PUBLISH, type PublishItem } from '../../../adapters/mqtt/messages.js';
import type { Topics } from '../../../adapters/mqtt/topics.js';
import type { GatewayContext } from '../context.js';
import { TECH_ORDER_NOTICE, type TechOrderNotice } from '../work-orders/work-orders.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../infra/log/logger.js';
import {
  claimPending,
  markFailedAttempt,
  markSent,
  releaseClaims,
  releaseOwnClaims,
} from '../../infra/store/outbox-repo.js';

/**
 * Sends the outbox's MQTT messages (acks, errors, routes, technicians' orders) with QoS 1, and marks each sent only
 * when the broker acknowledged it. Not sent (broker down, gateway killed): still in the outbox,
 * sent by the next run or the next gateway. Gateways sharing the store claim items before sending,
 * so each goes out once; a claim left by a killed gateway expires. Every message is still safe to
 * receive twice (acks and errors name their batch, routes are retained).
 */
export { MQTT_PUBLISH, type PublishItem } from '../../../adapters/mqtt/messages.js';

const BATCH = 200;
/** What this publisher sends: messages queued as they are, and technicians' order notices. */
const KINDS = [MQTT_PUBLISH, TECH_ORDER_NOTICE] as const;
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
    private readonly topics: Topics,
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
      .catch((err: unknown) => {
        // The store failed mid-drain (after a publish, before its mark): what this sender claimed
        // is given back on the next drain, not left to wait out the 30 s stale time.
        this.ownClaimsReleased = false;
        this.log.warn(`mqtt outbox: ${errorMessage(err)}; retrying`);
      })
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
      let released = 0;
      for (const kind of KINDS) released += await releaseOwnClaims(db, kind, this.holder);
      if (released) this.log.info(`mqtt outbox: ${released} message(s) claimed before a restart given back to send`);
      this.ownClaimsReleased = true;
    }
    for (const kind of KINDS) await this.drainKind(kind);
  }

  private async drainKind(kind: (typeof KINDS)[number]): Promise<void> {
    const db = this.ctx.store.db;
    for (;;) {
      if (this.stopped || !this.adapter.connected) return;
      const items = await claimPending<unknown>(db, kind, BATCH, this.holder, this.ctx.clock(), STALE_CLAIM_MS);
      if (items.length === 0) return;
      const sent: typeof items = [];
      const results = await Promise.allSettled(
        items.map((i) => {
          const m = this.message(kind, i.payload);
          return this.adapter.publish(m.topic, m.payload, { retain: m.retain });
        }),
      );
      results.forEach((r, n) => r.status === 'fulfilled' && sent.push(items[n]!));
      if (sent.length) await db.transaction((trx) => markSent(trx, sent, null, this.ctx.clock().toISOString()));
      const failed = items.filter((i) => !sent.includes(i));
      if (failed.length) {
        const reason = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason as Error;
        const ids = failed.map((i) => i.id);
        await markFailedAttempt(db, ids, reason.message);
        await releaseClaims(db, ids);
        return;
      }
    }
  }

  /** The MQTT message for an outbox item: as queued, or a technician's order notice on its retained topic. */
  private message(kind: (typeof KINDS)[number], payload: unknown): PublishItem {
    if (kind === MQTT_PUBLISH) return payload as PublishItem;
    const notice = payload as TechOrderNotice;
    return {
      topic: this.topics.techOrder(notice.technician, notice.orderNo),
      payload: notice.order ? JSON.stringify(notice.order) : '',
      retain: true,
    };
  }
}
