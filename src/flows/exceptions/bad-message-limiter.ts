/**
 * Bad messages from one device become exceptions, but one device must not flood the CSR's queue
 * or the store's disk (security probe: 10,000 bad messages in 11 s made 10,000 open exceptions;
 * 3,000 of 100 KB grew the store by 288 MB). Per device and period, the first `keepPerDevice`
 * are kept, each with at most `keepBytes` of its payload; the rest are counted in one summary
 * exception for that device and period, whose count is brought up to date at most once a second.
 * The state is this process's (several gateways each keep their own share): it bounds the cost,
 * it is not an audit.
 */

import type { Knex } from 'knex';
import {
  recordException,
  recordExceptionReturningId,
  updateExceptionMessage,
  type NewException,
} from '../../infra/store/exceptions-repo.js';

export interface BadMessageSettings {
  keepPerDevice: number;
  periodMinutes: number;
  keepBytes: number;
}

interface DeviceWindow {
  period: number;
  kept: number;
  over: number;
  summaryId: number | null;
  writtenAt: number;
  written: number;
}

const MAX_TRACKED = 10_000;

export class BadMessageLimiter {
  private readonly devices = new Map<string, DeviceWindow>();

  constructor(
    private readonly db: Knex,
    private readonly settings: BadMessageSettings,
  ) {}

  /**
   * Keeps the exception, or counts it in the device's summary: 'kept', 'first-counted' (the first
   * one past the bound in this period: the device may be told once) or 'counted'.
   */
  async record(device: string, e: NewException, now: Date): Promise<'kept' | 'first-counted' | 'counted'> {
    const period = Math.floor(now.getTime() / (this.settings.periodMinutes * 60_000));
    let w = this.devices.get(device);
    if (!w || w.period !== period) {
      if (!w && this.devices.size >= MAX_TRACKED) this.prune(period);
      w = { period, kept: 0, over: 0, summaryId: null, writtenAt: 0, written: 0 };
      this.devices.set(device, w);
    }
    const iso = now.toISOString();
    if (w.kept < this.settings.keepPerDevice) {
      w.kept++;
      await recordException(this.db, { ...e, raw: e.raw == null ? null : cut(e.raw, this.settings.keepBytes) }, iso);
      return 'kept';
    }
    w.over++;
    const message =
      `${device} sent ${w.over} more bad messages since ` +
      `${new Date(period * this.settings.periodMinutes * 60_000).toISOString()} than the ` +
      `${this.settings.keepPerDevice} kept as exceptions (mqtt.badMessages); the last: ${e.message}`;
    if (w.summaryId === null) {
      w.summaryId = -1; // claimed: a second message while the insert runs only counts
      try {
        w.summaryId = await recordExceptionReturningId(
          this.db,
          {
            source: e.source,
            kind: 'TOO_MANY_BAD_MESSAGES',
            severity: 'error',
            field: e.field ?? null,
            value: device,
            message,
          },
          iso,
        );
      } catch (err) {
        w.summaryId = null; // the next message past the bound tries again (a store outage must not silence the period)
        throw err;
      }
      w.writtenAt = now.getTime();
      w.written = w.over;
      return 'first-counted';
    } else if (w.summaryId > 0 && now.getTime() - w.writtenAt >= 1000 && w.written !== w.over) {
      w.writtenAt = now.getTime();
      w.written = w.over;
      await updateExceptionMessage(this.db, w.summaryId, message);
    }
    return 'counted';
  }

  private prune(period: number): void {
    for (const [device, w] of this.devices) if (w.period !== period) this.devices.delete(device);
    if (this.devices.size >= MAX_TRACKED) this.devices.clear();
  }
}

/** At most `bytes` of UTF-8, cut on a character boundary. */
function cut(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  return `${Buffer.from(text)
    .subarray(0, bytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '')}…`;
}
