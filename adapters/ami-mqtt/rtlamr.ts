/**
 * rtlamr's JSON (one message per radio read from an SDR: drive-by or a fixed receiver):
 *   {"Time":"2026-11-23T06:00:00.1-06:00","Type":"SCM"|"SCM+"|"IDM"|"R900","Message":{…}}
 * The endpoint id and consumption sit in Message under names that differ by type. IDM also
 * carries 47 five-minute differential intervals, newest first, ending at the read. Pure.
 */

import { z } from 'zod';

export interface RadioRead {
  type: 'SCM' | 'SCM+' | 'IDM' | 'R900';
  endpointId: string;
  /** When the receiver heard it (epoch seconds). */
  readAt: number;
  /** The register, in the meter's own units. */
  consumption: number;
  /** IDM only: five-minute intervals, oldest first. */
  intervals?: { startAt: number; seconds: number; value: number }[];
}

export type RadioParse = { ok: true; read: RadioRead } | { ok: false; field: string; message: string };

const uint = z.number().int().min(0);
const envelope = z.object({
  Time: z
    .string()
    .refine(
      (s) => !Number.isNaN(Date.parse(s)) && /([zZ]|[+-]\d\d:?\d\d)$/.test(s),
      'expected an RFC 3339 time with its offset',
    ),
  Type: z.enum(['SCM', 'SCM+', 'IDM', 'R900']),
  Message: z.record(z.string(), z.unknown()),
});
const messages = {
  SCM: z.object({ ID: uint, Consumption: uint }),
  'SCM+': z.object({ EndpointID: uint, Consumption: uint }),
  R900: z.object({ ID: uint, Consumption: uint }),
  IDM: z.object({
    ERTSerialNumber: uint,
    LastConsumptionCount: uint,
    DifferentialConsumptionIntervals: z.array(uint).max(64).optional(),
  }),
};

const IDM_INTERVAL = 300;

/**
 * `window` (epoch seconds) bounds the read time: a receiver's clock gone wrong, or a forged
 * message, must not store intervals dated years away (year −271821 was stored before).
 */
export function parseRtlamr(
  payload: string,
  window: { from: number; to: number } = { from: 946_684_800, to: 4_102_444_800 },
): RadioParse {
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch (err) {
    return { ok: false, field: '(json)', message: `not JSON: ${(err as Error).message}` };
  }
  const env = envelope.safeParse(json);
  if (!env.success) return fail(env.error.issues[0]!);
  const { Time, Type, Message } = env.data;
  const readAt = Math.floor(Date.parse(Time) / 1000);
  if (readAt < window.from || readAt > window.to) {
    const when = readAt < window.from ? 'before' : 'after';
    return {
      ok: false,
      field: 'Time',
      message:
        `${Time} is ${when} the window of accepted read times (${isoSeconds(window.from)} to ` +
        `${isoSeconds(window.to)}, ami.rtlamr)`,
    };
  }
  const m = messages[Type].safeParse(Message);
  if (!m.success) return fail(m.error.issues[0]!, 'Message.');
  if (Type === 'IDM') {
    const idm = m.data as z.infer<(typeof messages)['IDM']>;
    // The newest interval ends at the last five-minute boundary before the read.
    const end = Math.floor(readAt / IDM_INTERVAL) * IDM_INTERVAL;
    const diffs = idm.DifferentialConsumptionIntervals ?? [];
    const intervals = diffs
      .map((value, k) => ({ startAt: end - (k + 1) * IDM_INTERVAL, seconds: IDM_INTERVAL, value }))
      .reverse();
    return {
      ok: true,
      read: {
        type: Type,
        endpointId: String(idm.ERTSerialNumber),
        readAt,
        consumption: idm.LastConsumptionCount,
        intervals,
      },
    };
  }
  const d = m.data as { ID?: number; EndpointID?: number; Consumption: number };
  return {
    ok: true,
    read: { type: Type, endpointId: String(d.ID ?? d.EndpointID), readAt, consumption: d.Consumption },
  };
}

function isoSeconds(s: number): string {
  return new Date(s * 1000).toISOString().replace('.000Z', 'Z');
}

function fail(issue: z.core.$ZodIssue, prefix = ''): RadioParse {
  return { ok: false, field: `${prefix}${issue.path.join('.')}` || '(message)', message: issue.message };
}
