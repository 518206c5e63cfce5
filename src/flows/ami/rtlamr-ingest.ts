/**
 * Radio reads from rtlamr receivers over MQTT (adapters/ami-mqtt). A read is matched to a
 * billing meter by its radio id (ERT id) and stored as a register read, with an IDM's
 * five-minute intervals, as a batch keyed by the message: a redelivered message is stored once.
 * Bad JSON and unknown endpoints are counted and kept for review: bad JSON as an exception with
 * the payload, an unknown endpoint as one open exception per endpoint (a meter next door
 * transmits every 30 seconds; one entry is enough to review).
 */

import { createHash } from 'node:crypto';
import { parseRtlamr, type RadioRead } from '../../../adapters/ami-mqtt/rtlamr.js';
import { parkRows } from '../../infra/store/suspense-repo.js';
import { storedMeterId } from '../../core/meter-id.js';
import type { GatewayContext } from '../context.js';
import { importAmiBatch } from './import-ami.js';
import type { BadMessageLimiter } from '../exceptions/bad-message-limiter.js';
import { acceptedWindow } from './meter-directory.js';
import { liveDirectory } from './live-directory.js';
import { openExceptionFor, recordException } from '../../infra/store/exceptions-repo.js';

export interface RadioCounts {
  received: number;
  stored: number;
  invalid: number;
  unknown: number;
  duplicates: number;
}

export class RtlamrIngest {
  readonly counts: RadioCounts = { received: 0, stored: 0, invalid: 0, unknown: 0, duplicates: 0 };
  private readonly meters: ReturnType<typeof liveDirectory>;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly badMessages: BadMessageLimiter,
  ) {
    this.meters = liveDirectory(ctx);
  }

  /** Resolves once the read is stored or kept for review (then the broker gets its PUBACK). */
  async handle(receiver: string, payload: Buffer): Promise<void> {
    this.counts.received++;
    const text = payload.toString('utf8');
    const clock = this.ctx.clock();
    const parsed = parseRtlamr(text, acceptedWindow(clock, this.ctx.config.ami.rtlamr));
    const now = clock.toISOString();
    if (!parsed.ok) {
      this.counts.invalid++;
      const message = `rtlamr from receiver ${receiver}, ${parsed.field}: ${parsed.message}`;
      await this.badMessages.record(
        receiver,
        {
          source: 'ami-rtlamr',
          kind: 'BAD_MESSAGE',
          severity: 'error',
          field: parsed.field,
          value: text.slice(0, 100),
          message,
          raw: text,
        },
        clock,
      );
      return;
    }
    const read = parsed.read;
    const { directory, meterId } = await this.meters(read.endpointId);
    if (!meterId) {
      this.counts.unknown++;
      await this.park(read, now);
      await this.noteUnknown(receiver, read.endpointId, read.type, now);
      return;
    }
    const sha256 = createHash('sha256').update(payload).digest('hex');
    const result = await importAmiBatch(
      { ...this.ctx, db: this.ctx.store.db, directory },
      {
        source: 'rtlamr',
        name: `rtlamr ${read.type} ${read.endpointId} via ${receiver}`,
        sha256,
        actor: `radio:${receiver}`,
      },
      async (feed) => {
        const ch = { meterRef: read.endpointId, channel: 1, unit: null, seconds: 0, constant: 1 };
        feed.register(ch, read.readAt, read.consumption, 1);
        for (const iv of read.intervals ?? [])
          feed.interval({ ...ch, seconds: iv.seconds }, { ...iv, quality: 'A', flags: null }, 1);
      },
    );
    if (result.alreadyImported) this.counts.duplicates++;
    else this.counts.stored++;
  }

  /** An unknown endpoint's read and intervals wait in suspense until billing knows the radio id. */
  private async park(read: RadioRead, now: string): Promise<void> {
    const base = {
      meter_ref: storedMeterId(read.endpointId),
      channel: 1,
      quality: 'A',
      flags: null,
      unit: null,
      constant: 1,
      stream: null,
      alt_refs: null,
      source: 'rtlamr',
      batch_id: null,
      parked_at: now,
    };
    await parkRows(this.ctx.store.db, [
      { ...base, kind: 'R', at: read.readAt, seconds: 0, value: read.consumption },
      ...(read.intervals ?? []).map((iv) => ({
        ...base,
        kind: 'I',
        at: iv.startAt,
        seconds: iv.seconds,
        value: iv.value,
      })),
    ]);
  }

  private async noteUnknown(receiver: string, endpointId: string, type: string, now: string): Promise<void> {
    const db = this.ctx.store.db;
    if (await openExceptionFor(db, 'ami-rtlamr', 'UNKNOWN_METER', endpointId)) return;
    await recordException(
      db,
      {
        source: 'ami-rtlamr',
        kind: 'UNKNOWN_METER',
        severity: 'warn',
        field: 'endpoint',
        meterId: endpointId,
        value: endpointId,
        message:
          `rtlamr ${type} endpoint ${endpointId} heard by receiver ${receiver} is not a billing radio id; ` +
          `its reads are parked in suspense until billing knows the radio id (or a CSR claims it for a meter)`,
      },
      now,
    );
  }
}
