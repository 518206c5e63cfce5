import { z } from 'zod';
import type { AmiSink, SourceChannel } from '../ami-records.js';
import { detach } from '../ami-records.js';

/**
 * The items of the default head-end export (docs/ami.md), checked one by one: a bad item is an
 * issue naming its place and field, and the items around it still count. Extra fields are
 * ignored, as head-ends add their own.
 */
const iso = z
  .string()
  .refine(
    (s) => !Number.isNaN(Date.parse(s)) && /[zZ]|[+-]\d\d:?\d\d$/.test(s),
    'expected an ISO 8601 time with a zone, such as 2026-11-23T06:00:00Z',
  );
const meter = z.string().trim().min(1).max(40);

export const intervalItem = z.object({
  meterId: meter,
  channel: z.number().int().min(1).max(99).default(1),
  unit: z.string().trim().min(1).max(10),
  intervalSeconds: z.number().int().min(60).max(86_400),
  start: iso,
  value: z.number().finite(),
  quality: z.enum(['A', 'E']).default('A'),
});

export const registerItem = z.object({
  meterId: meter,
  channel: z.number().int().min(1).max(99).default(1),
  unit: z.string().trim().min(1).max(10),
  readAt: iso,
  value: z.number().finite(),
});

export type HeadEndKind = 'intervals' | 'registers';

/** Feeds one page's items to a sink; returns how many were good. */
export function feedPage(kind: HeadEndKind, items: readonly unknown[], sink: AmiSink): number {
  let good = 0;
  items.forEach((raw, i) => {
    const record = `item ${i + 1}`;
    const parsed = (kind === 'intervals' ? intervalItem : registerItem).safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.') || '(item)';
      sink.issue({
        record,
        line: i + 1,
        field,
        message: issue.message,
        value: JSON.stringify(raw)?.slice(0, 100),
        kind: 'BAD_RECORD',
      });
      return;
    }
    good++;
    if (kind === 'intervals') {
      const it = parsed.data as z.infer<typeof intervalItem>;
      const ch: SourceChannel = {
        meterRef: detach(it.meterId),
        channel: it.channel,
        unit: detach(it.unit),
        seconds: it.intervalSeconds,
        constant: 1,
      };
      sink.interval(
        ch,
        {
          startAt: Date.parse(it.start) / 1000,
          seconds: it.intervalSeconds,
          value: it.value,
          quality: it.quality,
          flags: null,
        },
        i + 1,
      );
    } else {
      const it = parsed.data as z.infer<typeof registerItem>;
      sink.register(
        { meterRef: detach(it.meterId), channel: it.channel, unit: detach(it.unit), seconds: 0, constant: 1 },
        Date.parse(it.readAt) / 1000,
        it.value,
        i + 1,
      );
    }
  });
  return good;
}
