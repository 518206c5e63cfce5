/**
 * wmbusmeters telegrams over MQTT (adapters/ami-mqtt/wmbusmeters.ts): each quantity is stored
 * as a register read of the billing meter whose radio id, serial or meter id is the telegram's
 * `id`, on the register in its unit (m³ on a water register in gallons, kWh on an energy one).
 * The same reading heard through two receivers or a repeater is stored once: a value already
 * stored for the meter within `ami.wmbusmeters.sameReadingSeconds` is the same reading, and an
 * exact redelivery is the same batch. Unknown meters are parked in suspense.
 */

import { createHash } from 'node:crypto';
import { parseWmbusmeters, type WmbusReading, type WmbusTelegram } from '../../../adapters/ami-mqtt/wmbusmeters.js';
import { parkedReadValues, parkRows } from '../../infra/store/suspense-repo.js';
import { registerReadsBetween } from '../../infra/store/ami-repo.js';
import { openExceptionFor, recordException } from '../../infra/store/exceptions-repo.js';
import { unitFactor } from '../../core/vee/rules/units.js';
import { sameValue } from '../../core/vee/types.js';
import { storedMeterId } from '../../core/meter-id.js';
import type { GatewayContext } from '../context.js';
import type { BadMessageLimiter } from '../exceptions/bad-message-limiter.js';
import { importAmiBatch } from './import-ami.js';
import { acceptedWindow, byUnitChannel, type AmiRegister } from './meter-directory.js';
import { liveDirectory } from './live-directory.js';
import type { RadioCounts } from './rtlamr-ingest.js';

const SOURCE = 'ami-wmbusmeters';

export class WmbusIngest {
  readonly counts: RadioCounts & { noQuantity: number } = {
    received: 0,
    stored: 0,
    invalid: 0,
    unknown: 0,
    duplicates: 0,
    noQuantity: 0,
  };
  private readonly meters: ReturnType<typeof liveDirectory>;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly badMessages: BadMessageLimiter,
  ) {
    this.meters = liveDirectory(ctx);
  }

  /** Resolves once the telegram is stored, found a duplicate, or kept for review (then the broker gets its PUBACK). */
  async handle(topic: string, payload: Buffer): Promise<void> {
    this.counts.received++;
    const text = payload.toString('utf8');
    const clock = this.ctx.clock();
    const cfg = this.ctx.config.ami.wmbusmeters;
    const parsed = parseWmbusmeters(text, { window: acceptedWindow(clock, cfg), totalFields: cfg.totalFields });
    if (!parsed.ok) {
      this.counts.invalid++;
      await this.badMessages.record(
        topic,
        {
          source: SOURCE,
          kind: 'BAD_MESSAGE',
          severity: 'error',
          field: parsed.field,
          value: text.slice(0, 100),
          message: `wmbusmeters telegram on ${topic}, ${parsed.field}: ${parsed.message}`,
          raw: text,
        },
        clock,
      );
      return;
    }
    const t = parsed.telegram;
    // A telegram with only temperatures or status (fields spread over telegrams) has no register to store.
    if (t.readings.length === 0) {
      this.counts.noQuantity++;
      return;
    }
    const now = clock.toISOString();
    const { directory, meterId } = await this.meters(t.meterId);
    if (!meterId) {
      this.counts.unknown++;
      await this.park(t.meterId, await this.notParkedYet(t), now);
      await this.noteUnknown(topic, t, now);
      return;
    }
    const fresh: WmbusReading[] = [];
    for (const r of t.readings) {
      const register = directory.findByUnit([t.meterId], r.unit).register;
      if (!register) await this.noteNoRegister(t, r, meterId, now);
      else if (!(await this.heardAlready(register, r))) fresh.push(r);
    }
    if (fresh.length === 0) {
      this.counts.duplicates++;
      return;
    }
    const identity = fresh.map((r) => `${r.field}=${r.value}@${r.at}`).join(';');
    const result = await importAmiBatch(
      { ...this.ctx, db: this.ctx.store.db, directory },
      {
        source: 'wmbusmeters',
        name: `wmbusmeters ${t.meterId}${t.driver ? ` ${t.driver}` : ''}`,
        sha256: createHash('sha256').update(`${t.meterId}|${identity}`).digest('hex'),
        actor: `radio:${topic}`.slice(0, 64),
      },
      async (feed) => {
        for (const r of fresh)
          feed.register(
            { meterRef: t.meterId, channel: byUnitChannel(r.unit), unit: r.unit, seconds: 0, constant: 1 },
            r.at,
            r.value,
            1,
          );
      },
    );
    if (result.alreadyImported) this.counts.duplicates++;
    else this.counts.stored++;
  }

  /** The same value stored for this register within the window: the telegram heard again. */
  private async heardAlready(register: AmiRegister, r: WmbusReading): Promise<boolean> {
    const value = r.value * (unitFactor(r.unit, register.uom) ?? 1);
    const w = this.window(r);
    const near = await registerReadsBetween(
      this.ctx.store.db,
      register.meterId,
      register.registerNo,
      r.at - w,
      r.at + w,
    );
    return near.some((s) => sameValue(s.value, value));
  }

  /** An unknown meter's readings, less those already waiting in suspense (heard by another receiver). */
  private async notParkedYet(t: WmbusTelegram): Promise<WmbusReading[]> {
    const fresh: WmbusReading[] = [];
    for (const r of t.readings) {
      const w = this.window(r);
      const near = await parkedReadValues(
        this.ctx.store.db,
        storedMeterId(t.meterId),
        byUnitChannel(r.unit),
        r.at - w,
        r.at + w,
      );
      if (!near.some((v) => sameValue(v, r.value))) fresh.push(r);
    }
    return fresh;
  }

  /** A current value may be heard again a little later; a history value has its own fixed time. */
  private window(r: WmbusReading): number {
    return r.history ? 0 : this.ctx.config.ami.wmbusmeters.sameReadingSeconds;
  }

  /** An unknown meter's readings wait in suspense, each to go to the register in its unit once billing knows the id. */
  private async park(meterId: string, readings: readonly WmbusReading[], now: string): Promise<void> {
    await parkRows(
      this.ctx.store.db,
      readings.map((r) => ({
        meter_ref: storedMeterId(meterId),
        channel: byUnitChannel(r.unit),
        kind: 'R',
        at: r.at,
        seconds: 0,
        value: r.value,
        quality: 'A',
        flags: null,
        unit: r.unit,
        constant: 1,
        stream: null,
        alt_refs: null,
        source: 'wmbusmeters',
        batch_id: null,
        parked_at: now,
      })),
    );
  }

  private async noteUnknown(topic: string, t: WmbusTelegram, now: string): Promise<void> {
    const db = this.ctx.store.db;
    if (await openExceptionFor(db, SOURCE, 'UNKNOWN_METER', t.meterId)) return;
    const what = [t.driver, t.media].filter(Boolean).join(' ');
    await recordException(
      db,
      {
        source: SOURCE,
        kind: 'UNKNOWN_METER',
        severity: 'warn',
        field: 'id',
        meterId: t.meterId,
        value: t.meterId,
        message:
          `wmbusmeters meter ${t.meterId}${what ? ` (${what})` : ''} on ${topic} is not a billing meter, radio id or ` +
          `serial; its reads are parked in suspense until billing knows the id (or a CSR claims it for a meter)`,
      },
      now,
    );
  }

  /** A quantity in a unit none of the meter's registers is in (a heat meter's volume): said once per meter while open. */
  private async noteNoRegister(t: WmbusTelegram, r: WmbusReading, meterId: string, now: string): Promise<void> {
    const db = this.ctx.store.db;
    if (await openExceptionFor(db, SOURCE, 'UNKNOWN_REGISTER', t.meterId)) return;
    await recordException(
      db,
      {
        source: SOURCE,
        kind: 'UNKNOWN_REGISTER',
        severity: 'warn',
        field: r.field,
        meterId: t.meterId,
        value: r.field,
        message:
          `wmbusmeters meter ${t.meterId} reports ${r.field} (${r.unit}), but billing meter ${meterId} has no ` +
          `register in a unit it converts to; ${r.field} is not stored`,
      },
      now,
    );
  }
}
