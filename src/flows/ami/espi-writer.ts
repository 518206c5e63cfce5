/**
 * Green Button ESPI Atom feed writer, as a generator of text chunks so a year of a large
 * account streams out without being held. One UsagePoint per meter register, one MeterReading
 * and ReadingType each, and an IntervalBlock per run of intervals (a local day, usually).
 * Values are written as whole numbers with a powerOfTenMultiplier, so six decimals of the
 * register's unit survive (kWh as mWh: uom 72 Wh × 10^-3).
 */

import type { Interval } from '../../core/vee/types.js';

export interface EspiChannel {
  meterId: string;
  channel: number;
  /** The register's unit: KWH, GAL, CF, THERM. */
  unit: string;
  seconds: number;
}

const UOM: Record<string, { code: number; power: number; scale: number; commodity: number; kind: number }> = {
  KWH: { code: 72, power: -3, scale: 1e6, commodity: 1, kind: 0 },
  GAL: { code: 128, power: -6, scale: 1e6, commodity: 7, kind: 2 },
  CF: { code: 119, power: -6, scale: 1e6, commodity: 7, kind: 2 },
  THERM: { code: 169, power: -6, scale: 1e6, commodity: 4, kind: 1 },
};

/** Estimation methods and flags → ESPI QualityOfReading codes (the reader maps them back). */
function qualityCodes(iv: Interval): number[] {
  const flags = iv.flags ?? '';
  const codes: number[] = [];
  if (flags.includes('EST:LINEAR')) codes.push(9);
  else if (flags.includes('EST:HISTORY')) codes.push(8);
  else if (flags.includes('EDITED')) codes.push(7);
  else if (iv.quality === 'E') codes.push(8);
  if (flags.includes('SPIKE')) codes.push(10);
  return codes;
}

/** A register's UsagePoint id in the feed's links: meter id and register. */
export const usagePointId = (c: { meterId: string; channel: number }) =>
  `${encodeURIComponent(c.meterId)}-${c.channel}`;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Which resources of the feed to write (Connect My Data serves them one kind at a time). */
export type EspiPart = 'UsagePoint' | 'MeterReading' | 'ReadingType' | 'IntervalBlock';

export interface EspiFeedOptions {
  /** The subscription the resources' links name (a Connect My Data grant; 1 for a customer's download). */
  subscriptionId?: number;
  /** Only these kinds of entry (all when absent). */
  parts?: readonly EspiPart[];
}

export function* espiFeed(
  points: Iterable<{ channel: EspiChannel; blocks: Iterable<Interval[]> }>,
  opts: { updated: string; title?: string } & EspiFeedOptions,
): Generator<string> {
  const wanted = (part: EspiPart) => !opts.parts || opts.parts.includes(part);
  yield (
    '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" ' +
    'xmlns:espi="http://naesb.org/espi">\n'
  );
  yield (
    `<id>urn:fieldgate:usage:${esc(opts.updated)}</id>` +
    `<title>${esc(opts.title ?? 'fieldgate usage export')}</title><updated>${esc(opts.updated)}</updated>\n`
  );
  let n = 0;
  for (const { channel, blocks } of points) {
    n++;
    const u = UOM[channel.unit];
    if (!u) throw new RangeError(`unit ${channel.unit} cannot be written as ESPI`);
    const up = `/espi/1_1/resource/Subscription/${opts.subscriptionId ?? 1}/UsagePoint/${usagePointId(channel)}`;
    const rt = `/espi/1_1/resource/ReadingType/${n}`;
    const entry = (self: string, body: string, extra = '', title = '') =>
      `<entry><id>urn:fieldgate:${esc(self)}</id><link rel="self" ` +
      `href="${esc(self)}"/>${extra}${title ? `<title>${esc(title)}</title>` : ''}<content>${body}</content>` +
      `<updated>${esc(opts.updated)}</updated></entry>\n`;
    if (wanted('UsagePoint'))
      yield entry(
        up,
        `<espi:UsagePoint><espi:ServiceCategory><espi:kind>${u.kind}</espi:kind></espi:ServiceCategory>` +
          `</espi:UsagePoint>`,
        '',
        channel.meterId,
      );
    if (wanted('MeterReading'))
      yield entry(`${up}/MeterReading/1`, '<espi:MeterReading/>', `<link rel="related" href="${esc(rt)}"/>`);
    if (wanted('ReadingType'))
      yield entry(
        rt,
        `<espi:ReadingType><espi:accumulationBehaviour>4</espi:accumulationBehaviour>` +
          `<espi:commodity>${u.commodity}</espi:commodity>` +
          `<espi:flowDirection>${channel.channel === 2 ? 19 : 1}</espi:flowDirection>` +
          `<espi:intervalLength>${channel.seconds}</espi:intervalLength>` +
          `<espi:kind>12</espi:kind><espi:powerOfTenMultiplier>${u.power}</espi:powerOfTenMultiplier>` +
          `<espi:uom>${u.code}</espi:uom></espi:ReadingType>`,
      );
    let b = 0;
    if (!wanted('IntervalBlock')) continue;
    for (const block of blocks) {
      if (block.length === 0) continue;
      b++;
      const first = block[0]!.startAt;
      const last = block[block.length - 1]!;
      let body =
        `<espi:IntervalBlock><espi:interval>` +
        `<espi:duration>${last.startAt + last.seconds - first}</espi:duration><espi:start>${first}</espi:start>` +
        `</espi:interval>`;
      for (const iv of block) {
        const q = qualityCodes(iv)
          .map((c) => `<espi:ReadingQuality><espi:quality>${c}</espi:quality></espi:ReadingQuality>`)
          .join('');
        body +=
          `<espi:IntervalReading>${q}<espi:timePeriod><espi:duration>${iv.seconds}</espi:duration>` +
          `<espi:start>${iv.startAt}</espi:start></espi:timePeriod>` +
          `<espi:value>${Math.round(iv.value * u.scale)}</espi:value></espi:IntervalReading>`;
      }
      yield entry(
        `${up}/MeterReading/1/IntervalBlock/${b}`,
        `${body}</espi:IntervalBlock>`,
        `<link rel="up" href="${esc(up)}/MeterReading/1/IntervalBlock"/>`,
      );
    }
  }
  yield '</feed>\n';
}
