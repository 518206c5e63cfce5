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
});
