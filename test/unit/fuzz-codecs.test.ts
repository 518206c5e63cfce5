import { PassThrough } from 'node:stream';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCmepLine } from '../../adapters/ami-files/cmep.js';
import { EspiParser } from '../../adapters/ami-files/espi.js';
import { Nem12Parser } from '../../adapters/ami-files/nem12.js';
import { SourceRefused, type AmiSink, type ParseIssue } from '../../adapters/ami-records.js';
import { parseRtlamr } from '../../adapters/ami-mqtt/rtlamr.js';
import {
  decodeBody,
  encodeBody,
  encodeFrame,
  FrameError,
  FrameType,
  type Frame,
  type FrameTypeCode,
} from '../../adapters/handheld-serial/codec/frame.js';
import { decodeMessage, encodeMessage, MessageError } from '../../adapters/handheld-serial/codec/messages.js';
import { slipEncode, slipUnescape, END } from '../../adapters/handheld-serial/codec/slip.js';
import { SlipFrameParser, type ParsedItem } from '../../adapters/handheld-serial/codec/slip-parser.js';
import { decodeLine, encodeLine } from '../../src/core/fixed-width/codec.js';
import { type FieldDef, type Layout } from '../../src/core/fixed-width/layout.js';
import { loadLayout } from '../../src/infra/config/layouts.js';

/**
 * Property tests of every codec and parser: what is encoded decodes to the same thing, and no
 * input, however wrong, throws anything but the codec's own typed error or hangs. A fixed
 * number of cases per property (FUZZ_RUNS, 300 unless set); a failure prints the seed and the
 * shrunk input, and `FUZZ_SEED=<seed>` replays it.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const params = { numRuns: RUNS, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) };
const TYPES = Object.values(FrameType) as FrameTypeCode[];

const frameArb = fc.record({
  type: fc.constantFrom(...TYPES),
  seq: fc.integer({ min: 0, max: 0xffff }),
  payload: fc.uint8Array({ maxLength: 1024 }).map((b) => Buffer.from(b)),
}) as fc.Arbitrary<Frame>;

const sameFrame = (a: Frame, b: Frame) =>
  a.type === b.type && a.seq === b.seq && Buffer.compare(a.payload, b.payload) === 0;

describe('SLIP and FDP/1 frames', () => {
  it('SLIP: unescaping an encoded body gives it back, and no END is left inside', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (body) => {
        const wire = slipEncode(body);
        const inner = wire.subarray(1, -1);
        expect(inner.includes(END)).toBe(false);
        expect(Buffer.compare(slipUnescape(inner)!, Buffer.from(body))).toBe(0);
      }),
      params,
    );
  });

  it('a frame decodes to itself; any single changed byte is caught (CRC or length), never accepted', () => {
    fc.assert(
      fc.property(frameArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (frame, where, flip) => {
        const body = encodeBody(frame);
        const back = decodeBody(body, 8192);
        expect(back instanceof FrameError ? back.message : sameFrame(back, frame)).toBe(true);
        const hurt = Buffer.from(body);
        const at = where % hurt.length;
        hurt[at] = hurt[at]! ^ flip;
        expect(decodeBody(hurt, 8192)).toBeInstanceOf(FrameError);
      }),
      params,
    );
  });

  it('any bytes at all decode to a frame or a FrameError, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 8192 }), (bytes, max) => {
        const r = decodeBody(bytes, max);
        expect(r instanceof FrameError || (typeof r === 'object' && 'type' in r)).toBe(true);
      }),
      params,
    );
  });

  it('the stream parser finds every frame however the bytes are cut, and after any garbage', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(frameArb, { minLength: 1, maxLength: 6 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 8 }),
        async (frames, garbage, cuts) => {
          // Garbage, then an END to resynchronise on, then the frames.
          const wire = Buffer.concat([Buffer.from(garbage), Buffer.from([END]), ...frames.map(encodeFrame)]);
          const parser = new SlipFrameParser({ maxFrame: 8192 });
          const got: ParsedItem[] = [];
          parser.on('data', (item: ParsedItem) => got.push(item));
          const input = new PassThrough();
          input.pipe(parser);
          for (let at = 0, k = 0; at < wire.length; k++) {
            const size = cuts[k % cuts.length]!;
            input.write(wire.subarray(at, at + size));
            at += size;
          }
          input.end();
          await new Promise((resolve) => parser.on('end', resolve).resume());
          const decoded = got.filter((g): g is { frame: Frame } => 'frame' in g).map((g) => g.frame);
          // Garbage may itself look like a frame only if it carries a good CRC; the real frames are the last ones, in
          // order.
          const tail = decoded.slice(-frames.length);
          expect(tail.length).toBe(frames.length);
          tail.forEach((f, i) => expect(sameFrame(f, frames[i]!)).toBe(true));
          for (const g of got) if ('error' in g) expect(g.error).toBeInstanceOf(FrameError);
        },
      ),
      { ...params, numRuns: Math.max(20, Math.round(RUNS / 3)) },
    );
  });

  it('JSON message payloads: a valid message round-trips; anything else is a MessageError', () => {
    const loadBegin = fc.record({
      route: fc.stringMatching(/^[A-Z0-9]{1,10}$/),
      cycle: fc.stringMatching(/^\d{4}-\d{2}$/),
      records: fc.nat(),
      bytes: fc.nat(),
      layout: fc.constantFrom('route-v1', 'sensus-autoread'),
      sha256: fc.stringMatching(/^[0-9a-f]{64}$/),
    });
    fc.assert(
      fc.property(loadBegin, (m) => {
        expect(decodeMessage(FrameType.LOAD_BEGIN, encodeMessage(FrameType.LOAD_BEGIN, m))).toEqual(m);
      }),
      params,
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          fc.json().map((j) => Buffer.from(j)),
        ),
        (payload) => {
          try {
            decodeMessage(FrameType.HELLO, payload);
          } catch (err) {
            expect(err).toBeInstanceOf(MessageError);
          }
        },
      ),
      params,
    );
  });
});

describe('fixed-width layouts', () => {
  const layouts = ['route-v1', 'read-v1'].map((name) => loadLayout(path.resolve('config/layouts'), name));
  const printable = (min: number, max: number) =>
    fc
      .string({
        unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .-#/,'.split('')),
        minLength: min,
        maxLength: max,
      })
      .map((s) => s.trim())
      .filter((s) => s.length >= min);
  const dateTime = fc
    .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true })
    .map((d) => d.toISOString().replace(/\D/g, '').slice(0, 14));
  function fieldArb(f: FieldDef): fc.Arbitrary<string | number | null> {
    const value: fc.Arbitrary<string | number> =
      f.type === 'integer'
        ? fc.integer({ min: 0, max: Math.min(Number.MAX_SAFE_INTEGER, 10 ** f.length - 1) })
        : f.type === 'decimal'
          ? fc
              .integer({ min: -(10 ** (f.length - 3)) + 1, max: 10 ** (f.length - 3) - 1 })
              .map((n) => n / 1e6)
              .filter((n) => !Object.is(n, -0) && String(n).length <= f.length)
          : f.type === 'datetime'
            ? dateTime
            : f.type === 'enum'
              ? fc.constantFrom(...f.values!)
              : f.type === 'flag'
                ? fc.constantFrom('Y', 'N')
                : printable(f.required ? 1 : 0, f.length);
    return f.required ? value : fc.option(value, { nil: null });
  }
  const recordArb = (layout: Layout) =>
    fc.record(Object.fromEntries(layout.fields.map((f) => [f.name, fieldArb(f)]))) as fc.Arbitrary<
      Record<string, string | number | null>
    >;

  for (const layout of layouts) {
    it(`${layout.name}: a record encodes to one line of the right length and decodes to itself`, () => {
      fc.assert(
        fc.property(recordArb(layout), (record) => {
          const line = encodeLine(layout, record);
          expect(line).toHaveLength(layout.lineLength);
          const back = decodeLine(layout, line, 1);
          expect(back.errors).toEqual([]);
          const expected = Object.fromEntries(Object.entries(record).map(([k, v]) => [k, v === '' ? null : v]));
          expect(back.record).toEqual(expected);
        }),
        params,
      );
    });
  }

  // Finding: the encoder wrote 1e-7 as "1e-7", which the decoder (any fixed-width reader) refuses,
  // so a GPS coordinate next to 0 made the gateway's own file unreadable.
  it('decimal fields: a tiny or huge number is written as plain digits or refused, never with an exponent', () => {
    const layout = layouts[1]!;
    const base = { sequence: 1, account: 'A1', meter_id: 'M1', register: 1 };
    fc.assert(
      fc.property(
        fc
          .oneof(fc.double({ min: -1e-5, max: 1e-5, noNaN: true }), fc.double({ noNaN: true, noDefaultInfinity: true }))
          .filter((n) => !Object.is(n, -0)),
        (lat) => {
          let line: string;
          try {
            line = encodeLine(layout, { ...base, lat });
          } catch (err) {
            expect((err as Error).message).toMatch(/lat/);
            return;
          }
          const back = decodeLine(layout, line, 1);
          expect(back.errors).toEqual([]);
          expect(back.record.lat).toBe(lat);
        },
      ),
      params,
    );
    expect(decodeLine(layout, encodeLine(layout, { ...base, lat: 1e-7, lon: -5e-7 }), 1).record).toMatchObject({
      lat: 1e-7,
      lon: -5e-7,
    });
  });

  it('any line decodes to values and field errors naming line and field, never a throw', () => {
    fc.assert(
      fc.property(fc.constantFrom(...layouts), fc.string({ maxLength: 200 }), (layout, text) => {
        const out = decodeLine(
          layout,
          text
            .padEnd(text.length % 3 === 0 ? layout.lineLength : 0)
            .slice(0, text.length % 3 === 0 ? layout.lineLength : undefined),
          7,
        );
        for (const e of out.errors)
          expect(e).toMatchObject({ line: 7, field: expect.any(String), reason: expect.any(String) });
      }),
      params,
    );
  });
});

function sink() {
  const issues: ParseIssue[] = [];
  const values: number[] = [];
  const s: AmiSink = {
    interval: (_ch, iv) => void values.push(iv.value),
    register: () => undefined,
    issue: (i) => issues.push(i),
  };
  return { s, issues, values };
}
const namesRecordAndField = (i: ParseIssue) =>
  expect(i).toMatchObject({ record: expect.any(String), field: expect.any(String), message: expect.any(String) });

describe('AMI formats', () => {
  const HEAD = 'MEPMD01,19970819,HE,,FG,,202611230600,M1,OK,E,KWH,1,00000015';
  it('CMEP: intervals written in a record read back with their values; any line is read or named, never thrown', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 999_999 }), { minLength: 1, maxLength: 96 }), (values) => {
        const { s, issues, values: read } = sink();
        // The first reading carries its time; the rest count on, as head-ends write them.
        const triples = values.map((v, i) => `${i === 0 ? '202606010015' : ''},A,${v / 1000}`);
        parseCmepLine(`${HEAD},${values.length},${triples.join(',')}`, 1, { zone: 'UTC', timestampMarks: 'end' }, s);
        expect(issues).toEqual([]);
        expect(read).toEqual(values.map((v) => v / 1000));
      }),
      params,
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc
            .array(fc.oneof(fc.string({ maxLength: 14 }), fc.integer().map(String)), { maxLength: 30 })
            .map((f) => `${HEAD},${f.join(',')}`),
        ),
        (line) => {
          const { s, issues } = sink();
          parseCmepLine(line, 3, { zone: 'America/Chicago', timestampMarks: 'end' }, s);
          issues.forEach(namesRecordAndField);
        },
      ),
      params,
    );
  });

  it('ESPI: any document, cut anywhere, is read, named or refused (SourceRefused), never thrown otherwise', () => {
    const piece = fc.oneof(
      fc.constantFrom(
        '<feed>',
        '</feed>',
        '<entry>',
        '</entry>',
        '<IntervalBlock>',
        '</IntervalBlock>',
        '<IntervalReading>',
        '</IntervalReading>',
        '<value>',
        '</value>',
        '<start>',
        '</start>',
        '<duration>900</duration>',
        '<link rel="self" href="/x/ReadingType/1"/>',
        '<ReadingType><uom>72</uom><powerOfTenMultiplier>0</powerOfTenMultiplier></ReadingType>',
        '&amp;',
        '&bogus;',
        '<![CDATA[x]]>',
        '<!DOCTYPE x>',
      ),
      fc.string({ maxLength: 20 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.integer({ min: 1, max: 50 }), (pieces, cut) => {
        const { s, issues } = sink();
        const parser = new EspiParser(s);
        const doc = pieces.join('');
        try {
          for (let i = 0; i < doc.length; i += cut) parser.write(doc.slice(i, i + cut));
          parser.end();
        } catch (err) {
          expect(err).toBeInstanceOf(SourceRefused);
        }
        issues.forEach(namesRecordAndField);
      }),
      params,
    );
  });

  it('NEM12: any sequence of records is read or named, never thrown', () => {
    const record = fc.oneof(
      fc.constantFrom(
        '100,NEM12,202611230600,MDP1,RETAILER',
        '900',
        '200,NMI0000001,E1,E1,E1,N1,M1,KWH,30,',
        '500,O,S01,202611230600,',
      ),
      fc
        .array(
          fc.oneof(
            fc.constantFrom('300', '400', '20261122', 'A', 'V', 'E52', ''),
            fc.float({ noNaN: true }).map(String),
            fc.string({ maxLength: 8 }),
          ),
          { maxLength: 60 },
        )
        .map((f) => f.join(',')),
    );
    fc.assert(
      fc.property(fc.array(record, { maxLength: 12 }), (lines) => {
        const { s, issues } = sink();
        const parser = new Nem12Parser(s);
        for (const l of lines) parser.line(l);
        parser.end();
        issues.forEach(namesRecordAndField);
      }),
      params,
    );
  });

  it('rtlamr: any payload is a read or a refusal naming its field, never a throw', () => {
    const message = fc.record({
      Time: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.string(),
      ),
      Type: fc.constantFrom('SCM', 'SCM+', 'IDM', 'R900', 'X'),
      Message: fc.dictionary(
        fc.constantFrom(
          'ID',
          'EndpointID',
          'Consumption',
          'LastConsumptionCount',
          'DifferentialConsumptionIntervals',
          'Type',
          'EndpointType',
        ),
        fc.oneof(fc.integer(), fc.string(), fc.array(fc.integer(), { maxLength: 50 }), fc.constant(null)),
      ),
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.json(),
          message.map((m) => JSON.stringify(m)),
        ),
        (payload) => {
          const r = parseRtlamr(payload);
          if (!r.ok) expect(r).toMatchObject({ field: expect.any(String), message: expect.any(String) });
        },
      ),
      params,
    );
  });
});
