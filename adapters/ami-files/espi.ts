import { SaxesParser, type SaxesTagPlain } from 'saxes';
import type { Interval } from '../../src/core/vee/types.js';
import { detach, SourceRefused, sourceFlag, type AmiSink, type SourceChannel } from '../ami-records.js';

/**
 * Green Button ESPI (NAESB REQ.21) Atom feeds, parsed as a stream: constant memory whatever the
 * file size. Entries link UsagePoint → MeterReading → ReadingType and IntervalBlock by their
 * hrefs (…/UsagePoint/{id}/MeterReading/{id}/IntervalBlock/{id}, …/ReadingType/{id}); only
 * those small maps are kept. A ReadingType must come before the blocks that use it, as Green
 * Button files write them. A DOCTYPE is refused outright (entity expansion, external entities).
 */

/** ESPI UnitSymbolKind codes → units. */
export const ESPI_UOM: Record<string, string> = {
  '72': 'WH',
  '169': 'THERM',
  '119': 'CF',
  '128': 'GAL',
  '42': 'M3',
  '38': 'W',
};
/** ESPI QualityOfReading codes that fieldgate reads as estimated, and the flag each carries. */
export const ESPI_ESTIMATED: Record<string, string> = {
  '7': 'EDITED',
  '8': 'EST:HISTORY',
  '9': 'EST:LINEAR',
  '11': 'DERIVED',
  '12': 'PROJECTED',
};
export const ESPI_QUESTIONABLE = '10';

interface ReadingType {
  uom: string;
  power: number;
  intervalLength: number;
  flowDirection: string;
}

interface Reading {
  start: string;
  duration: string;
  value: string;
  qualities: string[];
  error: string | null;
  line: number;
}

const LEAVES = new Set([
  'title',
  'id',
  'start',
  'duration',
  'value',
  'quality',
  'uom',
  'powerOfTenMultiplier',
  'intervalLength',
  'flowDirection',
]);

/** The names a UsagePoint goes by, for matching it to a billing meter. */
export type EspiMeterName = 'title' | 'id' | 'href';

/** The default order: the title a utility writes (often the meter number), the entry's mRID, the href's id. */
export const DEFAULT_ESPI_MATCH: readonly EspiMeterName[] = ['title', 'id', 'href'];

export class EspiParser {
  private readonly sax = new SaxesParser({ position: true });
  /** Each UsagePoint's names, by the id its href gives it, in the order they are tried. */
  private readonly usagePointNames = new Map<string, string[]>();
  private readonly meterReadingTypes = new Map<string, string>();
  private readonly readingTypes = new Map<string, ReadingType>();
  private links: { rel: string; href: string }[] = [];
  private title = '';
  /** The Atom entry's own id (urn:uuid:…, the resource's mRID). */
  private entryId = '';
  private kind = '';
  private rt: ReadingType | null = null;
  private channel: SourceChannel | null = null;
  private power = 0;
  private block = '';
  private blockSkipped = false;
  private reading: Reading | null = null;
  private readonly spare: Reading = { start: '', duration: '', value: '', qualities: [], error: null, line: 0 };
  private readingNo = 0;

  /** The line the parser has reached (saxes's, plus the lines the fast lane read itself). */
  get line(): number {
    return this.sax.line + this.lineOffset;
  }
  /** Text held back: an IntervalReading cut by the chunk's end, for the fast lane to read whole. */
  private carry = '';
  /** Newlines in text the fast lane read itself, which saxes never saw. */
  private lineOffset = 0;
  /** Inside a usable IntervalBlock's body, with saxes between two tags: the fast lane may read. */
  private blockBody = false;
  private blockFast = false;
  private tags: PlainTags | null = null;
  private saxBetweenTags = true;
  private leaf = '';
  private text = '';
  private refused: SourceRefused | null = null;

  constructor(
    private readonly sink: AmiSink,
    private readonly matchBy: readonly EspiMeterName[] = DEFAULT_ESPI_MATCH,
  ) {
    const sax = this.sax;
    sax.on('doctype', () => {
      this.refused = new SourceRefused(
        'DOCTYPE refused: ESPI files need no DTD, and entity expansion (billion laughs) or external entities (XXE) ' +
          'are not allowed',
        sax.line,
      );
      throw this.refused;
    });
    sax.on('opentag', (tag) => this.open(tag as SaxesTagPlain));
    sax.on('text', (t) => {
      if (this.leaf) this.text += t;
    });
    sax.on('closetag', (tag) => this.close(localName(tag.name)));
    sax.on('error', (err) => this.xmlError(err.message));
  }

  write(chunk: string): void {
    if (this.refused) throw this.refused;
    const text = this.carry + chunk;
    this.carry = '';
    this.scan(text);
  }

  end(): void {
    if (this.refused) throw this.refused;
    if (this.carry) this.toSax(this.carry);
    this.carry = '';
    this.ending = true;
    this.sax.close();
  }

  private toSax(text: string): void {
    if (text.length === 0) return;
    // A comment or CDATA inside a block: saxes reads the rest of that block (its '>' may not end a tag).
    if (this.blockBody && text.includes('<!')) this.blockFast = false;
    this.sax.write(text);
    if (this.refused) throw this.refused;
    this.saxBetweenTags = text.charCodeAt(text.length - 1) === 62; // '>'
  }

  /**
   * Most of an ESPI file is IntervalReadings in the body of an IntervalBlock. saxes reads
   * everything else; the body's readings that have the plain shape Green Button files write
   * (ReadingQuality*, timePeriod, value; no comments, entities or attributes) are read here by
   * position, two to three times faster, into the same checks (emitReading). Anything else in a
   * body goes to saxes as it is, so both read the same file the same way.
   */
  private scan(text: string): void {
    let i = 0;
    while (i < text.length) {
      if (this.blockBody && this.blockFast && this.saxBetweenTags && !this.reading) {
        const r = this.fastLane(text, i);
        if (r.carry) {
          this.carry = text.slice(r.to);
          return;
        }
        i = r.to;
        if (r.slowTo > i) {
          this.toSax(text.slice(i, r.slowTo));
          i = r.slowTo;
        }
        continue;
      }
      // saxes reads up to the end of the next IntervalBlock's open tag, or all of it.
      BLOCK_OPEN.lastIndex = i;
      const m = BLOCK_OPEN.exec(text);
      const to = m ? m.index + m[0].length : text.length;
      this.toSax(text.slice(i, to));
      i = to;
    }
  }

  /** Reads whole plain readings from `from`; says where it stopped and how far saxes should read. */
  private fastLane(text: string, from: number): { to: number; slowTo: number; carry?: boolean } {
    const t = this.tags!;
    const open = t.readingOpen;
    const close = t.readingClose;
    let i = from;
    for (;;) {
      let j = i;
      let lines = 0;
      for (; j < text.length; j++) {
        const c = text.charCodeAt(j);
        if (c === 10) lines++;
        else if (c !== 32 && c !== 9 && c !== 13) break;
      }
      if (j === text.length) {
        this.lineOffset += lines;
        return { to: j, slowTo: j };
      }
      if (!text.startsWith(open, j)) {
        if (text.length - j < open.length && open.startsWith(text.slice(j))) return { to: i, slowTo: i, carry: true };
        // Not a reading (the block's interval, its end, another element): saxes reads up to the next reading.
        const next = text.indexOf(open, j);
        return { to: i, slowTo: next < 0 ? text.length : next };
      }
      const end = text.indexOf(close, j);
      if (end < 0) {
        // Cut by the chunk's end: read whole with the next chunk (a reading is small; a huge one is saxes's).
        if (text.length - j < 1 << 16) return { to: i, slowTo: i, carry: true };
        return { to: i, slowTo: text.length };
      }
      const after = end + close.length;
      if (!this.plainReading(text, j + open.length, end, t, this.sax.line + this.lineOffset + lines)) {
        return { to: i, slowTo: after };
      }
      this.lineOffset += lines + countNewlines(text, j, after);
      i = after;
    }
  }

  /** One reading of the plain shape between `from` and `to`, emitted; false (nothing done) for any other shape. */
  private plainReading(text: string, from: number, to: number, t: PlainTags, line: number): boolean {
    const r = this.spare;
    r.qualities.length = 0;
    r.error = null;
    let pos = skipSpace(text, from, to);
    while (text.startsWith(t.qualityOpen, pos)) {
      const q = leafAt(text, pos + t.qualityOpen.length, to, t.qualityClose);
      if (q < 0) return false;
      r.qualities.push(trimmedSlice(text, pos + t.qualityOpen.length, q));
      pos = skipSpace(text, q + t.qualityClose.length, to);
    }
    if (!text.startsWith(t.periodOpen, pos)) return false;
    pos = skipSpace(text, pos + t.periodOpen.length, to);
    let start: string | null = null;
    let duration: string | null = null;
    for (let k = 0; k < 2; k++) {
      if (start === null && text.startsWith(t.startOpen, pos)) {
        const e = leafAt(text, pos + t.startOpen.length, to, t.startClose);
        if (e < 0) return false;
        start = trimmedSlice(text, pos + t.startOpen.length, e);
        pos = skipSpace(text, e + t.startClose.length, to);
      } else if (duration === null && text.startsWith(t.durationOpen, pos)) {
        const e = leafAt(text, pos + t.durationOpen.length, to, t.durationClose);
        if (e < 0) return false;
        duration = trimmedSlice(text, pos + t.durationOpen.length, e);
        pos = skipSpace(text, e + t.durationClose.length, to);
      } else return false;
    }
    if (!text.startsWith(t.periodClose, pos)) return false;
    pos = skipSpace(text, pos + t.periodClose.length, to);
    if (!text.startsWith(t.valueOpen, pos)) return false;
    const v = leafAt(text, pos + t.valueOpen.length, to, t.valueClose);
    if (v < 0 || skipSpace(text, v + t.valueClose.length, to) !== to) return false;
    this.readingNo++;
    r.start = start!;
    r.duration = duration!;
    r.value = trimmedSlice(text, pos + t.valueOpen.length, v);
    r.line = line;
    this.reading = r;
    this.emitReading();
    this.reading = null;
    return true;
  }

  private ending = false;
  private reportedTruncation = false;

  private open(tag: SaxesTagPlain): void {
    const name = localName(tag.name);
    if (LEAVES.has(name)) {
      this.leaf = name;
      this.text = '';
      return;
    }
    switch (name) {
      case 'entry':
        this.links = [];
        this.title = '';
        this.entryId = '';
        this.kind = '';
        return;
      case 'link':
        this.links.push({ rel: String(tag.attributes.rel ?? ''), href: String(tag.attributes.href ?? '') });
        return;
      case 'UsagePoint':
      case 'MeterReading':
        this.kind = name;
        return;
      case 'ReadingType':
        this.kind = name;
        this.rt = { uom: '', power: 0, intervalLength: 0, flowDirection: '1' };
        return;
      case 'IntervalBlock':
        this.kind = name;
        this.startBlock();
        this.blockBody = true;
        this.blockFast = !this.blockSkipped && this.channel !== null && Object.keys(tag.attributes).length === 0;
        this.tags = plainTags(prefixOf(tag.name));
        return;
      case 'IntervalReading':
        // One object reused for every reading: a 300 MB file has millions of them.
        this.readingNo++;
        this.reading = this.spare;
        this.reading.start = this.reading.duration = this.reading.value = '';
        this.reading.qualities.length = 0;
        this.reading.error = null;
        this.reading.line = this.line;
        return;
    }
  }

  private close(name: string): void {
    if (this.leaf === name) {
      this.leaf = '';
      this.assign(name, this.text.trim());
      return;
    }
    switch (name) {
      case 'IntervalReading':
        this.emitReading();
        this.reading = null;
        return;
      case 'IntervalBlock':
        this.blockBody = false;
        return;
      case 'entry':
        this.endEntry();
        return;
    }
  }

  private assign(name: string, text: string): void {
    const r = this.reading;
    if (r) {
      if (name === 'start') r.start = text;
      else if (name === 'duration') r.duration = text;
      else if (name === 'value') r.value = text;
      else if (name === 'quality') r.qualities.push(text);
      return;
    }
    if (this.kind === 'ReadingType' && this.rt) {
      if (name === 'uom') this.rt.uom = text;
      else if (name === 'powerOfTenMultiplier') this.rt.power = Number(text);
      else if (name === 'intervalLength') this.rt.intervalLength = Number(text);
      else if (name === 'flowDirection') this.rt.flowDirection = text;
      return;
    }
    // Atom does not order an entry's children: its title and id may come after the content.
    if (name === 'title') this.title = text;
    else if (name === 'id') this.entryId = text;
  }

  private endEntry(): void {
    const self = this.links.find((l) => l.rel === 'self')?.href ?? '';
    if (this.kind === 'UsagePoint') {
      const id = segmentAfter(self, 'UsagePoint');
      if (id) this.usagePointNames.set(detach(id), this.namesOf(id));
    } else if (this.kind === 'MeterReading') {
      const key = meterReadingKey(self);
      const related = this.links.find((l) => l.rel === 'related' && l.href.includes('ReadingType/'));
      if (key && related) this.meterReadingTypes.set(detach(key), detach(segmentAfter(related.href, 'ReadingType')!));
    } else if (this.kind === 'ReadingType' && this.rt) {
      const id = segmentAfter(self, 'ReadingType');
      if (id)
        this.readingTypes.set(detach(id), {
          ...this.rt,
          uom: detach(this.rt.uom),
          flowDirection: detach(this.rt.flowDirection),
        });
      this.rt = null;
    }
    this.kind = '';
    this.channel = null;
  }

  /** A UsagePoint's names in the configured order: its title, its entry id (with and without urn:uuid:), its href id. */
  private namesOf(hrefId: string): string[] {
    const names: string[] = [];
    for (const by of this.matchBy) {
      if (by === 'title' && this.title) names.push(this.title);
      else if (by === 'id' && this.entryId) names.push(this.entryId, this.entryId.replace(/^urn:uuid:/i, ''));
      else if (by === 'href') names.push(hrefId);
    }
    return [...new Set(names.map(detach))].filter((n) => n !== '');
  }

  private startBlock(): void {
    this.readingNo = 0;
    this.channel = null;
    this.blockSkipped = false;
    const href = this.links.find((l) => l.rel === 'self')?.href ?? this.links.find((l) => l.rel === 'up')?.href ?? '';
    this.block = href || `IntervalBlock at line ${this.line}`;
    const mrKey = meterReadingKey(href);
    const upId = segmentAfter(href, 'UsagePoint');
    const rtId = mrKey ? this.meterReadingTypes.get(mrKey) : undefined;
    const rt = rtId ? this.readingTypes.get(rtId) : undefined;
    if (!upId || !rt) {
      this.blockSkipped = true;
      this.sink.issue({
        record: `IntervalBlock ${this.block}`,
        line: this.line,
        field: upId ? 'ReadingType' : 'link',
        message: upId
          ? 'no ReadingType known for this block (it must come before its IntervalBlocks); block skipped'
          : 'block has no self or up link naming its UsagePoint; block skipped',
        kind: 'BAD_RECORD',
      });
      return;
    }
    const unit = ESPI_UOM[rt.uom];
    if (!unit) {
      this.blockSkipped = true;
      this.sink.issue({
        record: `ReadingType ${rtId}`,
        line: this.line,
        field: 'uom',
        value: rt.uom,
        message: 'unit code not known (72 Wh, 169 therm, 119 ft³, 128 gal, 42 m³)',
        kind: 'BAD_RECORD',
      });
      return;
    }
    this.power = rt.power;
    // A block before its UsagePoint entry (or with none) is known only by its href's id.
    const [meterRef, ...altRefs] = this.usagePointNames.get(upId) ?? [upId];
    this.channel = {
      meterRef: meterRef!,
      altRefs,
      channel: rt.flowDirection === '19' ? 2 : 1,
      unit,
      seconds: rt.intervalLength,
      constant: 1,
    };
  }

  private emitReading(): void {
    const r = this.reading!;
    if (this.blockSkipped || !this.channel) return;
    // The record's name is made only for an issue: building it for every reading cost a fifth of the parse.
    const bad = (field: string, message: string, value?: string) =>
      this.sink.issue({ record: this.where(), line: r.line, field, message, value, kind: 'BAD_RECORD' });
    if (r.error) return bad('value', `${r.error}; reading skipped`, r.value);
    const start = Number(r.start);
    const duration = Number(r.duration);
    if (!r.start || !Number.isInteger(start)) return bad('timePeriod.start', 'expected epoch seconds', r.start);
    if (!r.duration || !Number.isInteger(duration) || duration <= 0)
      return bad('timePeriod.duration', 'expected seconds > 0', r.duration);
    if (!/^-?\d+$/.test(r.value)) return bad('value', 'expected a whole number', r.value);
    let quality: Interval['quality'] = 'A';
    let flags: string | null = null;
    for (const q of r.qualities) {
      const est = ESPI_ESTIMATED[q];
      if (est) quality = 'E';
      const flag =
        est ??
        (q === ESPI_QUESTIONABLE
          ? 'SPIKE'
          : q === '0' || q === '17' || q === '18' || q === '19'
            ? null
            : sourceFlag(q));
      if (flag) flags = flags ? `${flags},${flag}` : flag;
    }
    const raw = Number(r.value);
    const value = this.power === 0 ? raw : this.power < 0 ? raw / 10 ** -this.power : raw * 10 ** this.power;
    this.sink.interval(this.channel, { startAt: start, seconds: duration, value, quality, flags }, r.line);
  }

  private xmlError(message: string): void {
    const clean = message.replace(/^\d+:\d+: /, '');
    if (this.ending) {
      // Unclosed tags at the end: the file was cut off. One issue, naming where it stopped.
      if (this.reportedTruncation) return;
      this.reportedTruncation = true;
      const where = this.where();
      this.sink.issue({
        record: where,
        line: this.line,
        field: 'file',
        message: `file ends inside ${where}: truncated; the readings before it are kept`,
        kind: 'TRUNCATED',
      });
      return;
    }
    if (this.reading) {
      this.reading.error ??= `XML error: ${clean}`;
      return;
    }
    this.sink.issue({
      record: this.kind ? `${this.kind} ${this.block}` : `line ${this.line}`,
      line: this.line,
      field: 'xml',
      message: `XML error: ${clean}`,
      kind: 'BAD_RECORD',
    });
  }

  private where(): string {
    return this.reading
      ? `IntervalBlock ${this.block}, IntervalReading ${this.readingNo}`
      : this.kind
        ? `${this.kind} ${this.block}`
        : 'feed';
  }
}

/** An IntervalBlock's open tag, any prefix (the fast lane reads what saxes has not). */
const BLOCK_OPEN = /<(?:[A-Za-z_][\w.-]*:)?IntervalBlock\s*>/g;

/** The tags of a plain IntervalReading with one prefix, made once per prefix. */
interface PlainTags {
  readingOpen: string;
  readingClose: string;
  qualityOpen: string;
  qualityClose: string;
  periodOpen: string;
  periodClose: string;
  startOpen: string;
  startClose: string;
  durationOpen: string;
  durationClose: string;
  valueOpen: string;
  valueClose: string;
}
const tagSets = new Map<string, PlainTags>();
function plainTags(p: string): PlainTags {
  let t = tagSets.get(p);
  if (!t) {
    t = {
      readingOpen: `<${p}IntervalReading>`,
      readingClose: `</${p}IntervalReading>`,
      qualityOpen: `<${p}ReadingQuality><${p}quality>`,
      qualityClose: `</${p}quality></${p}ReadingQuality>`,
      periodOpen: `<${p}timePeriod>`,
      periodClose: `</${p}timePeriod>`,
      startOpen: `<${p}start>`,
      startClose: `</${p}start>`,
      durationOpen: `<${p}duration>`,
      durationClose: `</${p}duration>`,
      valueOpen: `<${p}value>`,
      valueClose: `</${p}value>`,
    };
    if (tagSets.size < 16) tagSets.set(p, t);
  }
  return t;
}

/** Where a leaf's closing tag starts, when its text (from `from`) is plain: no markup and no entity. */
function leafAt(text: string, from: number, to: number, close: string): number {
  const lt = text.indexOf('<', from);
  if (lt < 0 || lt >= to || !text.startsWith(close, lt)) return -1;
  // Within the leaf only: indexOf('&') would run on through the rest of the chunk for every leaf.
  for (let i = from; i < lt; i++) if (text.charCodeAt(i) === 38) return -1;
  return lt;
}

function prefixOf(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? '' : name.slice(0, i + 1);
}

function skipSpace(text: string, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    i++;
  }
  return i;
}

/** text[from, to) without the white space around it (what saxes's text, trimmed, would be). */
function trimmedSlice(text: string, from: number, to: number): string {
  let a = from;
  let b = to;
  while (a < b && isSpace(text.charCodeAt(a))) a++;
  while (b > a && isSpace(text.charCodeAt(b - 1))) b--;
  // Other white space (a no-break space) is String.trim's to judge, as saxes's text is.
  if (a < b && (text.charCodeAt(a) > 127 || text.charCodeAt(b - 1) > 127)) return text.slice(a, b).trim();
  return text.slice(a, b);
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

function countNewlines(text: string, from: number, to: number): number {
  // Within [from, to) only: indexOf would run on to the end of a long line for every reading.
  let n = 0;
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

function localName(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(i + 1);
}

function segmentAfter(href: string, word: string): string | null {
  const i = href.indexOf(`${word}/`);
  if (i < 0) return null;
  const rest = href.slice(i + word.length + 1);
  const end = rest.indexOf('/');
  return end < 0 ? rest : rest.slice(0, end);
}

function meterReadingKey(href: string): string | null {
  const up = segmentAfter(href, 'UsagePoint');
  const mr = segmentAfter(href, 'MeterReading');
  return up && mr ? `${up}/${mr}` : null;
}
