import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { DateTime } from 'luxon';
import { espiFeed, type EspiChannel } from '../../src/flows/ami/espi-writer.js';
import type { Interval } from '../../src/core/vee/types.js';

/**
 * Writes AMI test data: a plausible load shape per meter, and encoders for CMEP, NEM12 and
 * (through the product's writer) ESPI. `node dist/test/tools/ami-fixtures.js` regenerates the
 * committed fixtures in test/fixtures/ami; the bench and the memory test use the same encoders
 * to stream large files.
 */
export const ZONE = 'America/Chicago';

/** A deterministic residential shape: low at night, peaks at 7 a.m. and 7 p.m., in kWh per interval. */
export function usage(meterNo: number, startAt: number, seconds: number): number {
  const hour = DateTime.fromSeconds(startAt, { zone: ZONE }).hour;
  const shape = 0.3 + 0.5 * Math.exp(-((hour - 7) ** 2) / 4) + 0.9 * Math.exp(-((hour - 19) ** 2) / 6);
  const noise = ((Math.sin(startAt / 977 + meterNo) + 1) / 2) * 0.2;
  return Math.round((shape + noise) * (seconds / 900) * 1000) / 1000;
}

/** The intervals of local days [from, from + days), in UTC. */
export function dayIntervals(meterNo: number, from: string, days: number, seconds = 900): Interval[] {
  const start = DateTime.fromISO(from, { zone: ZONE }).toSeconds();
  const end = DateTime.fromISO(from, { zone: ZONE }).plus({ days }).toSeconds();
  const out: Interval[] = [];
  for (let t = start; t < end; t += seconds)
    out.push({ startAt: t, seconds, value: usage(meterNo, t, seconds), quality: 'A', flags: null });
  return out;
}

/** Splits intervals into local days (for one CMEP line or ESPI block per day). */
export function byLocalDay(intervals: readonly Interval[]): Interval[][] {
  const days = new Map<string, Interval[]>();
  for (const iv of intervals) {
    const d = DateTime.fromSeconds(iv.startAt, { zone: ZONE }).toISODate()!;
    days.set(d, [...(days.get(d) ?? []), iv]);
  }
  return [...days.values()];
}

const stamp = (epoch: number) => DateTime.fromSeconds(epoch, { zone: 'UTC' }).toFormat('yyyyLLddHHmm');

/** One MEPMD01 line: timestamps (interval end, UTC) written where the run is not contiguous. */
export function cmepLine(
  meterId: string,
  unit: string,
  intervals: readonly Interval[],
  opts: { constant?: number; created?: string } = {},
): string {
  const seconds = intervals[0]?.seconds ?? 900;
  const hours = String(Math.floor(seconds / 3600)).padStart(2, '0');
  const interval = `0000${hours}${String((seconds / 60) % 60).padStart(2, '0')}`;
  const head = [
    'MEPMD01',
    '19970819',
    'HEADEND',
    '',
    'FIELDGATE',
    '',
    opts.created ?? '202611230600',
    meterId,
    'OK',
    'E',
    unit,
    String(opts.constant ?? 1),
    interval,
    String(intervals.length),
  ];
  const parts: string[] = [];
  let prev: number | null = null;
  for (const iv of intervals) {
    const end = iv.startAt + iv.seconds;
    parts.push(
      prev !== null && end === prev + seconds ? '' : stamp(end),
      iv.quality === 'E' ? 'E' : 'A',
      String(iv.value),
    );
    prev = end;
  }
  return [...head, ...parts].join(',');
}

/** A CMEP register-read line (interval 00000000). */
export function cmepRegisterLine(
  meterId: string,
  unit: string,
  reads: readonly { at: number; value: number }[],
): string {
  const head = [
    'MEPMD01',
    '19970819',
    'HEADEND',
    '',
    'FIELDGATE',
    '',
    '202611230600',
    meterId,
    'OK',
    'W',
    unit,
    '1',
    '00000000',
    String(reads.length),
  ];
  return [...head, ...reads.flatMap((r) => [stamp(r.at), 'A', String(r.value)])].join(',');
}

/** NEM12 days for one NMI (30-minute intervals unless given), market time. */
export function nem12(nmi: string, serial: string, days: NemDay[], minutes = 30): string[] {
  return [
    '100,NEM12,202611230600,MDP1,FIELDGATE',
    ...nem12Stream({ nmi, serial, suffix: 'E1', uom: 'KWH', minutes }, days),
  ];
}

interface NemDay {
  date: string;
  values: (number | string)[];
  quality?: string;
  events?: string[];
}

/** One NEM12 data stream: its 200 record (NMI, suffix, serial, unit, interval length) and its days. */
export function nem12Stream(
  s: { nmi: string; serial: string; suffix: string; uom: string; minutes: number | string },
  days: NemDay[],
): string[] {
  const lines = [`200,${s.nmi},${s.suffix},${s.suffix},${s.suffix},N1,${s.serial},${s.uom},${s.minutes},`];
  for (const d of days) {
    lines.push(`300,${d.date.replace(/-/g, '')},${d.values.join(',')},${d.quality ?? 'A'},,,20261123060000,`);
    for (const e of d.events ?? []) lines.push(e);
  }
  return lines;
}

/** `n` interval values, each `step` apart from a base: easy totals to assert on. */
const values = (n: number, base: number, step = 0) =>
  Array.from({ length: n }, (_, i) => (base + (i % 4) * step).toFixed(3));

export function espiText(points: { channel: EspiChannel; intervals: Interval[] }[]): string {
  return [
    ...espiFeed(
      points.map((p) => ({ channel: p.channel, blocks: byLocalDay(p.intervals) })),
      { updated: '2026-11-23T06:00:00Z' },
    ),
  ].join('');
}

function writeFixtures(dir: string): void {
  const w = (name: string, text: string) => writeFileSync(path.join(dir, name), text);
  // CMEP around both DST changes in Chicago. E0000003 by meter id; E0000004 by its radio id.
  const spring = dayIntervals(3, '2026-03-07', 3);
  const gapStart = DateTime.fromISO('2026-03-09T10:00', { zone: ZONE }).toSeconds();
  const withGap = spring.filter((iv) => iv.startAt < gapStart || iv.startAt >= gapStart + 3 * 900);
  const fall = dayIntervals(3, '2026-10-31', 3);
  const radio = dayIntervals(4, '2026-03-07', 3);
  const spikeAt = DateTime.fromISO('2026-03-09T03:00', { zone: ZONE }).toSeconds();
  for (const iv of radio) if (iv.startAt === spikeAt) iv.value = 25;
  const cmep = [
    ...byLocalDay(withGap).map((d) => cmepLine('E0000003', 'KWH', d)),
    ...byLocalDay(fall).map((d) => cmepLine('E0000003', 'KWH', d)),
    ...byLocalDay(radio).map((d) => cmepLine('66839855', 'KWH', d)),
    cmepLine('X9999999', 'KWH', dayIntervals(9, '2026-03-07', 1)),
    cmepLine('E0000011', 'KWH', dayIntervals(11, '2026-03-07', 1)).replace(/,A,([\d.]+),,A,/, ',A,1O.5,,A,'),
  ];
  w('cmep-dst.csv', `${cmep.join('\r\n')}\r\n`);

  // Register reads on a 4-dial gas meter rolling over, with intervals that add up, and a water
  // meter whose intervals do not match its register.
  const t0 = DateTime.fromISO('2026-06-01', { zone: ZONE }).toSeconds();
  const gas = Array.from({ length: 96 }, (_, i) => ({
    startAt: t0 + i * 900,
    seconds: 900,
    value: 0.25,
    quality: 'A' as const,
    flags: null,
  }));
  const water = Array.from({ length: 96 }, (_, i) => ({
    startAt: t0 + i * 900,
    seconds: 900,
    value: 2,
    quality: 'A' as const,
    flags: null,
  }));
  w(
    'cmep-registers.csv',
    [
      cmepRegisterLine('G0000010', 'THERM', [
        { at: t0, value: 9990 },
        { at: t0 + 86_400, value: 14 },
      ]),
      cmepLine('G0000010', 'THERM', gas),
      cmepRegisterLine('W0000001', 'GAL', [
        { at: t0, value: 1000 },
        { at: t0 + 86_400, value: 1500 },
      ]),
      cmepLine('W0000001', 'GAL', water),
    ].join('\n') + '\n',
  );

  // ESPI: fifteen days for E0000011 with a 3-hour gap on the last (estimated from the days before).
  const espiDays = dayIntervals(11, '2026-07-06', 15);
  const hole = DateTime.fromISO('2026-07-20T13:00', { zone: ZONE }).toSeconds();
  const espi = espiText([
    {
      channel: { meterId: 'E0000011', channel: 1, unit: 'KWH', seconds: 900 },
      intervals: espiDays.filter((iv) => iv.startAt < hole || iv.startAt >= hole + 12 * 900),
    },
  ]);
  w('espi-gap.xml', espi);
  const small = espiText([
    {
      channel: { meterId: 'E0000015', channel: 1, unit: 'KWH', seconds: 900 },
      intervals: dayIntervals(15, '2026-07-06', 2),
    },
  ]);
  let nth = 0;
  w(
    'espi-bad-entity.xml',
    small.replace(/<espi:value>(\d+)<\/espi:value>/g, (m) => (++nth === 10 ? '<espi:value>1&bogus;2</espi:value>' : m)),
  );
  const cut = small.indexOf('<espi:IntervalReading>', small.indexOf('IntervalBlock/2') + 2000);
  w('espi-truncated.xml', small.slice(0, cut + 40));
  w(
    'espi-billion-laughs.xml',
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n <!ENTITY lol2 ' +
      '"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n <!ENTITY lol3 ' +
      '"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n]>\n<feed ' +
      'xmlns="http://www.w3.org/2005/Atom"><title>&lol3;</title></feed>\n',
  );
  w(
    'espi-xxe.xml',
    '<?xml version="1.0"?>\n<!DOCTYPE feed [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n<feed ' +
      'xmlns="http://www.w3.org/2005/Atom"><title>&xxe;</title></feed>\n',
  );

  // NEM12 names an NMI; its meter serial field carries the billing meter id (E0000015).
  const half = (_date: string) => Array.from({ length: 48 }, (_, i) => (0.2 + (i % 12) * 0.05).toFixed(3));
  const nem = nem12('4102000015', 'E0000015', [
    { date: '2026-08-01', values: half('2026-08-01') },
    {
      date: '2026-08-02',
      values: half('2026-08-02'),
      quality: 'V',
      events: ['400,1,20,A,,', '400,21,24,E52,,', '400,25,48,A,,'],
    },
  ]);
  w('nem12-basic.csv', [...nem, '900'].join('\n') + '\n');
  // Several data streams of one NMI (E0000015, with registers 2 and 3 added by the test): E1 on
  // register 1, B1 (export, 15-minute) on 2, Q1 (kVArh, 5-minute) on 3; E2 names no register;
  // K1 (kVArh) is mapped by the test to register 1, which counts kWh; B1 of E0000019 has no register 2.
  const day1 = { date: '2026-08-01' };
  w(
    'nem12-streams.csv',
    [
      '100,NEM12,202611230600,MDP1,FIELDGATE',
      ...nem12Stream({ nmi: '4102000015', serial: 'E0000015', suffix: 'E1', uom: 'KWH', minutes: 30 }, [
        { ...day1, values: values(48, 0.5) },
        { date: '2026-08-02', values: values(48, 0.25) },
      ]),
      ...nem12Stream({ nmi: '4102000015', serial: 'E0000015', suffix: 'B1', uom: 'KWH', minutes: 15 }, [
        { ...day1, values: values(96, 0.1) },
      ]),
      ...nem12Stream({ nmi: '4102000015', serial: 'E0000015', suffix: 'Q1', uom: 'KVARH', minutes: 5 }, [
        { ...day1, values: values(288, 0.02) },
      ]),
      ...nem12Stream({ nmi: '4102000015', serial: 'E0000015', suffix: 'E2', uom: 'KWH', minutes: 30 }, [
        { ...day1, values: values(48, 0.3) },
      ]),
      ...nem12Stream({ nmi: '4102000015', serial: 'E0000015', suffix: 'K1', uom: 'KVARH', minutes: 30 }, [
        { ...day1, values: values(48, 0.01) },
      ]),
      ...nem12Stream({ nmi: '4102000019', serial: 'E0000019', suffix: 'B1', uom: 'KWH', minutes: 30 }, [
        { ...day1, values: values(48, 0.1) },
      ]),
      '900',
    ].join('\n') + '\n',
  );
  // What NEM12 allows and what it does not, one case per stream; the file ends on a whole record, with no 900.
  w(
    'nem12-checks.csv',
    [
      '100,NEM12,202611230600,MDP1,FIELDGATE',
      // A length NEM12 does not allow: one exception for the stream and its two days.
      ...nem12Stream({ nmi: '4102000015', serial: 'E0000015', suffix: 'E1', uom: 'KWH', minutes: 10 }, [
        { ...day1, values: values(144, 0.1) },
        { date: '2026-08-02', values: values(144, 0.1) },
      ]),
      // 15-minute intervals, but a day of 48 values; the next day is whole.
      ...nem12Stream({ nmi: '4102000019', serial: 'E0000019', suffix: 'E1', uom: 'KWH', minutes: 15 }, [
        { ...day1, values: values(48, 0.2) },
        { date: '2026-08-02', values: values(96, 0.2) },
      ]),
      // A V day whose 400 records cover intervals 1-40 of 48, 5-8 of them null data (N); then a day all N.
      ...nem12Stream({ nmi: '4102000025', serial: 'E0000025', suffix: 'E1', uom: 'KWH', minutes: 30 }, [
        {
          ...day1,
          values: values(48, 0.5),
          quality: 'V',
          events: ['400,1,4,A,,', '400,5,8,N,,', '400,9,40,E52,,'],
        },
        { date: '2026-08-02', values: values(48, 0), quality: 'N' },
      ]),
    ].join('\n') + '\n',
  );
  w(
    'nem12-bad-900.csv',
    [...nem, '900,EXTRA,DATA', '300,20260803,' + half('').join(',') + ',A,,,20261123060000,'].join('\n') + '\n',
  );
}

if (process.argv[1]?.endsWith('ami-fixtures.js')) writeFixtures(path.resolve(process.argv[2] ?? 'test/fixtures/ami'));
