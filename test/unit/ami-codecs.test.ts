import { describe, expect, it } from 'vitest';
import { parseCmepLine } from '../../adapters/ami-files/cmep.js';
import { EspiParser } from '../../adapters/ami-files/espi.js';
import { Nem12Parser } from '../../adapters/ami-files/nem12.js';
import { parseRtlamr } from '../../adapters/ami-mqtt/rtlamr.js';
import type { AmiSink, ParseIssue, SourceChannel } from '../../adapters/ami-records.js';
import type { Interval } from '../../src/core/vee/types.js';

function collect() {
  const out = {
    intervals: [] as (Interval & { ch: SourceChannel })[],
    registers: [] as { ch: SourceChannel; at: number; value: number }[],
    issues: [] as ParseIssue[],
  };
  const sink: AmiSink = {
    interval: (ch, iv) => out.intervals.push({ ...iv, ch }),
    register: (ch, at, value) => out.registers.push({ ch, at, value }),
    issue: (i) => out.issues.push(i),
  };
  return { out, sink };
}
const HEAD = 'MEPMD01,19970819,HE,,FG,,202611230600';

describe('CMEP', () => {
  it('counts empty timestamps on in absolute time, through a local fall-back hour', () => {
    const { out, sink } = collect();
    // 01:00 local on 2026-11-01 in Chicago comes twice; five 15-minute readings ending 00:15…01:15 (CDT), then on.
    parseCmepLine(
      `${HEAD},M1,OK,E,KWH,1,00000015,6,202611010015,A,1,,A,2,,A,3,,A,4,,E,5,,A,6`,
      1,
      { zone: 'America/Chicago', timestampMarks: 'end' },
      sink,
    );
    expect(out.issues).toEqual([]);
    const starts = out.intervals.map((i) => i.startAt);
    expect(starts.map((s, k) => (k ? s - starts[k - 1]! : 0))).toEqual([0, 900, 900, 900, 900, 900]);
    expect(new Date(starts[0]! * 1000).toISOString()).toBe('2026-11-01T05:00:00.000Z');
    expect(out.intervals[4]).toMatchObject({ quality: 'E', flags: 'SRC:E' });
  });

  it('applies the calculation constant and reads register lines', () => {
    const { out, sink } = collect();
    parseCmepLine(
      `${HEAD},M1,OK,E,KWH,40,00000100,1,202606010100,A,0.5`,
      1,
      { zone: 'UTC', timestampMarks: 'end' },
      sink,
    );
    parseCmepLine(
      `${HEAD},M1,OK,W,GAL,1,00000000,2,202606010000,A,100,202606020000,A,150`,
      2,
      { zone: 'UTC', timestampMarks: 'end' },
      sink,
    );
    expect(out.intervals[0]).toMatchObject({ value: 20, seconds: 3600, startAt: Date.UTC(2026, 5, 1) / 1000 });
    expect(out.registers.map((r) => r.value)).toEqual([100, 150]);
  });

  it('names the field: a short header, a bad interval, a count that does not match, an unplaceable reading', () => {
    const { out, sink } = collect();
    parseCmepLine('MEPMD01,19970819,HE', 1, { zone: 'UTC', timestampMarks: 'end' }, sink);
    parseCmepLine(`${HEAD},M1,OK,E,KWH,1,01000000,1,202606010100,A,1`, 2, { zone: 'UTC', timestampMarks: 'end' }, sink);
    parseCmepLine(
      `${HEAD},M1,OK,E,KWH,1,00000015,3,202606010100,A,1,,A,2`,
      3,
      { zone: 'UTC', timestampMarks: 'end' },
      sink,
    );
    parseCmepLine(`${HEAD},M1,OK,E,KWH,1,00000015,1,,A,1`, 4, { zone: 'UTC', timestampMarks: 'end' }, sink);
    expect(out.issues.map((i) => [i.line, i.field])).toEqual([
      [1, 'count'],
      [2, 'interval'],
      [3, 'count'],
      [4, 'reading 1 timestamp'],
    ]);
    expect(out.intervals).toHaveLength(2); // line 3's two complete readings
  });
});

describe('ESPI', () => {
  const feed = (body: string) =>
    `<feed xmlns="http://www.w3.org/2005/Atom">` +
    `<entry><link rel="self" href="/x/UsagePoint/7"/><title>M7</title><content><UsagePoint ` +
    `xmlns="http://naesb.org/espi"/></content></entry>` +
    `<entry><link rel="self" href="/x/UsagePoint/7/MeterReading/1"/><link rel="related" ` +
    `href="/x/ReadingType/3"/><content><MeterReading xmlns="http://naesb.org/espi"/></content></entry>` +
    `<entry><link rel="self" href="/x/ReadingType/3"/><content><ReadingType ` +
    `xmlns="http://naesb.org/espi"><intervalLength>3600</intervalLength>` +
    `<powerOfTenMultiplier>-1</powerOfTenMultiplier><uom>72</uom></ReadingType></content></entry>` +
    body +
    `</feed>`;
  const block = (readings: string) =>
    `<entry><link rel="self" href="/x/UsagePoint/7/MeterReading/1/IntervalBlock/1"/><content><IntervalBlock ` +
    `xmlns="http://naesb.org/espi">${readings}</IntervalBlock></content></entry>`;
  const reading = (start: number, value: string, q = '') =>
    `<IntervalReading>${q ? `<ReadingQuality><quality>${q}</quality></ReadingQuality>` : ''}<timePeriod>` +
    `<duration>3600</duration><start>${start}</start></timePeriod><value>${value}</value></IntervalReading>`;

  it('links blocks to their usage point and reading type, applies the multiplier, maps quality codes', () => {
    const { out, sink } = collect();
    const p = new EspiParser(sink);
    const xml = feed(block(reading(3600, '1234') + reading(7200, '10', '9') + reading(10800, '5', '10')));
    // Fed in small pieces: a stream splits anywhere.
    for (let i = 0; i < xml.length; i += 37) p.write(xml.slice(i, i + 37));
    p.end();
    expect(out.issues).toEqual([]);
    expect(out.intervals.map((i) => [i.ch.meterRef, i.ch.unit, i.startAt, i.value, i.quality, i.flags])).toEqual([
      ['M7', 'WH', 3600, 123.4, 'A', null],
      ['M7', 'WH', 7200, 1, 'E', 'EST:LINEAR'],
      ['M7', 'WH', 10800, 0.5, 'A', 'SPIKE'],
    ]);
  });

  it('skips a block whose reading type is not known yet, and a reading with a bad value, naming them', () => {
    const { out, sink } = collect();
    const p = new EspiParser(sink);
    p.write(`<feed xmlns="http://www.w3.org/2005/Atom">${block(reading(3600, '1'))}</feed>`);
    p.end();
    expect(out.issues[0]).toMatchObject({ field: 'ReadingType' });
    const second = collect();
    const q = new EspiParser(second.sink);
    q.write(feed(block(reading(3600, '1.5') + reading(7200, '2'))));
    q.end();
    expect(second.out.issues.map((i) => [i.record, i.field])).toEqual([
      ['IntervalBlock /x/UsagePoint/7/MeterReading/1/IntervalBlock/1, IntervalReading 1', 'value'],
    ]);
    expect(second.out.intervals).toHaveLength(1);
  });
});

describe('NEM12', () => {
  it(
    'refuses a 200 with an unusual interval length once for its stream, ' + 'and a 300 with the wrong number of values',
    () => {
      const { out, sink } = collect();
      const p = new Nem12Parser(sink);
      for (const line of [
        '100,NEM12,202611230600,A,B',
        '200,NMI1,E1,E1,E1,N1,S1,KWH,20,',
        '300,20260801,1,2,A',
        '200,NMI1,E1,E1,E1,N1,S1,KWH,30,',
        '300,20260801,1,2,A',
        '900',
      ])
        p.line(line);
      p.end();
      expect(out.issues.map((i) => [i.line, i.field])).toEqual([
        [2, 'IntervalLength'],
        [5, 'IntervalValue'],
      ]);
      expect(out.issues[0]!.message).toMatch(/not '20'; 1 interval day\(s\) of it were not stored/);
      expect(out.issues[1]!.message).toBe(
        'the 200 record (line 4) says 30-minute intervals (48 a day); this 300 record of 20260801 has 2 values',
      );
    },
  );
});

describe('NEM12 records cut short', () => {
  it('names a 300 record with every value but no quality method, and reads on', () => {
    const { out, sink } = collect();
    const p = new Nem12Parser(sink);
    const values = Array.from({ length: 48 }, () => '0.5').join(',');
    for (const line of [
      '100,NEM12,202611230600,A,B',
      '200,NMI1,E1,E1,E1,N1,S1,KWH,30,',
      `300,20260801,${values}`,
      `300,20260802,${values},A,,,20261123060000,`,
      '900',
    ])
      p.line(line);
    p.end();
    expect(out.issues.map((i) => [i.line, i.field, i.message])).toEqual([
      [3, 'QualityMethod', 'the 300 record of 20260801 has no quality method after its values'],
    ]);
    expect(out.intervals).toHaveLength(48);
  });
});

describe('rtlamr', () => {
  const msg = (type: string, message: Record<string, unknown>, time = '2026-11-23T06:00:00-06:00') =>
    JSON.stringify({ Time: time, Offset: 0, Length: 0, Type: type, Message: message });

  it('finds the endpoint and consumption under each type’s own names', () => {
    expect(
      parseRtlamr(
        msg('SCM+', {
          FrameSync: 5795,
          ProtocolID: 30,
          EndpointType: 156,
          EndpointID: 1234,
          Consumption: 99,
          Tamper: 0,
          PacketCRC: 1,
        }),
      ),
    ).toEqual({
      ok: true,
      read: { type: 'SCM+', endpointId: '1234', readAt: Date.parse('2026-11-23T12:00:00Z') / 1000, consumption: 99 },
    });
    expect(
      parseRtlamr(
        msg('R900', { ID: 77, Unkn1: 163, NoUse: 0, BackFlow: 0, Consumption: 5, Unkn3: 0, Leak: 0, LeakNow: 0 }),
      ),
    ).toMatchObject({ ok: true, read: { endpointId: '77', consumption: 5 } });
  });

  it('names what is wrong: not JSON, an unknown type, a missing field, a time without its offset', () => {
    expect(parseRtlamr('{')).toMatchObject({ ok: false, field: '(json)' });
    expect(parseRtlamr(msg('XYZ', {}))).toMatchObject({ ok: false, field: 'Type' });
    expect(parseRtlamr(msg('SCM', { ID: 1 }))).toMatchObject({ ok: false, field: 'Message.Consumption' });
    expect(parseRtlamr(msg('SCM', { ID: 1, Consumption: 2 }, '2026-11-23T06:00:00'))).toMatchObject({
      ok: false,
      field: 'Time',
    });
    expect(parseRtlamr(msg('SCM', { ID: -1, Consumption: 2 }))).toMatchObject({ ok: false, field: 'Message.ID' });
  });

  describe('the fast lane for plain IntervalReadings', () => {
    /** A feed with the espi: prefix; `blockAttr` on each IntervalBlock turns the fast lane off (saxes reads it all). */
    const espiFeedText = (readings: string[], opts: { blockAttr?: boolean; pretty?: boolean } = {}) => {
      const nl = opts.pretty ? '\n    ' : '';
      const body = readings.map((r) => (opts.pretty ? r.replace(/></g, `>${nl}<`) : r)).join(opts.pretty ? '\n' : '');
      return (
        `<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">\n` +
        `<entry><link rel="self" href="/x/UsagePoint/7"/><title>M7</title><content><espi:UsagePoint/></content></entry>\n` +
        `<entry><link rel="self" href="/x/UsagePoint/7/MeterReading/1"/><link rel="related" href="/x/ReadingType/3"/>` +
        `<content><espi:MeterReading/></content></entry>\n` +
        `<entry><link rel="self" href="/x/ReadingType/3"/><content><espi:ReadingType><espi:intervalLength>900` +
        `</espi:intervalLength><espi:powerOfTenMultiplier>-3</espi:powerOfTenMultiplier><espi:uom>72</espi:uom>` +
        `</espi:ReadingType></content></entry>\n` +
        `<entry><link rel="self" href="/x/UsagePoint/7/MeterReading/1/IntervalBlock/1"/><content>` +
        `<espi:IntervalBlock${opts.blockAttr ? ' xmlns:espi="http://naesb.org/espi"' : ''}><espi:interval>` +
        `<espi:duration>86400</espi:duration><espi:start>0</espi:start></espi:interval>${body}` +
        `</espi:IntervalBlock></content></entry>\n</feed>\n`
      );
    };
    const r = (start: string, value: string, extra = '') =>
      `<espi:IntervalReading>${extra}<espi:timePeriod><espi:duration>900</espi:duration><espi:start>${start}` +
      `</espi:start></espi:timePeriod><espi:value>${value}</espi:value></espi:IntervalReading>`;
    const q = (code: string) => `<espi:ReadingQuality><espi:quality>${code}</espi:quality></espi:ReadingQuality>`;
    // The odd cases the fast lane must leave to saxes, or read exactly as saxes would.
    const readings = [
      r('900', '1250'),
      r('1800', '1250', q('9')),
      r('2700', '75', q('10') + q('17')),
      r('3600', '1.5'),
      r('x', '20'),
      `<espi:IntervalReading><espi:cost>5</espi:cost><espi:timePeriod><espi:duration>900</espi:duration>` +
        `<espi:start>4500</espi:start></espi:timePeriod><espi:value>30</espi:value></espi:IntervalReading>`,
      `<!-- a meter technician's note --><espi:IntervalReading><espi:timePeriod><espi:start>5400</espi:start>` +
        `<espi:duration>900</espi:duration></espi:timePeriod><espi:value>40</espi:value></espi:IntervalReading>`,
      r('6300', '&#52;5'),
      r('7200', ' 50 '),
      r('8100', '\u00a060'),
    ];
    const parse = (text: string, cut: number) => {
      const { out, sink } = collect();
      const lines: number[] = [];
      const p = new EspiParser({
        ...sink,
        interval: (ch, iv, line) => (lines.push(line), sink.interval(ch, iv, line)),
      });
      for (let i = 0; i < text.length; i += cut) p.write(text.slice(i, i + cut));
      p.end();
      return { intervals: out.intervals, issues: out.issues, lines };
    };

    it('reads every reading as saxes alone does, values, qualities, issues and lines, at any chunk size', () => {
      const slow = parse(espiFeedText(readings, { blockAttr: true }), 1 << 16);
      expect(slow.intervals.map((i) => [i.startAt, i.value, i.quality, i.flags])).toEqual([
        [900, 1.25, 'A', null],
        [1800, 1.25, 'E', 'EST:LINEAR'],
        [2700, 0.075, 'A', 'SPIKE'],
        [4500, 0.03, 'A', null],
        [5400, 0.04, 'A', null],
        [6300, 0.045, 'A', null],
        [7200, 0.05, 'A', null],
        [8100, 0.06, 'A', null],
      ]);
      expect(slow.issues.map((i) => [i.record, i.field])).toEqual([
        ['IntervalBlock /x/UsagePoint/7/MeterReading/1/IntervalBlock/1, IntervalReading 4', 'value'],
        ['IntervalBlock /x/UsagePoint/7/MeterReading/1/IntervalBlock/1, IntervalReading 5', 'timePeriod.start'],
      ]);
      for (const cut of [1, 7, 64, 333, 1 << 16]) {
        expect(parse(espiFeedText(readings), cut), `chunks of ${cut}`).toEqual(slow);
        const pretty = parse(espiFeedText(readings, { pretty: true }), cut);
        const slowPretty = parse(espiFeedText(readings, { pretty: true, blockAttr: true }), cut);
        expect(pretty, `pretty, chunks of ${cut}`).toEqual(slowPretty);
        expect(pretty.intervals).toEqual(slow.intervals);
      }
    });

    it('says where a file cut off inside a reading ends, keeping the readings before it', () => {
      const text = espiFeedText(readings.slice(0, 3));
      const cutAt = text.indexOf('<espi:value>75');
      const { intervals, issues } = parse(text.slice(0, cutAt), 50);
      expect(intervals.map((i) => i.startAt)).toEqual([900, 1800]);
      expect(issues).toEqual([expect.objectContaining({ kind: 'TRUNCATED', field: 'file' })]);
    });
  });
});
