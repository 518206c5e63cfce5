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

  /** The line the parser has reached. */
  get line(): number {
    return this.sax.line;
  }
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
    this.sax.write(chunk);
  }

  end(): void {
    if (this.refused) throw this.refused;
    this.ending = true;
    this.sax.close();
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
        return;
      case 'IntervalReading':
        // One object reused for every reading: a 300 MB file has millions of them.
        this.readingNo++;
        this.reading = this.spare;
        this.reading.start = this.reading.duration = this.reading.value = '';
        this.reading.qualities.length = 0;
        this.reading.error = null;
        this.reading.line = this.sax.line;
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
    this.block = href || `IntervalBlock at line ${this.sax.line}`;
    const mrKey = meterReadingKey(href);
    const upId = segmentAfter(href, 'UsagePoint');
    const rtId = mrKey ? this.meterReadingTypes.get(mrKey) : undefined;
    const rt = rtId ? this.readingTypes.get(rtId) : undefined;
    if (!upId || !rt) {
      this.blockSkipped = true;
      this.sink.issue({
        record: `IntervalBlock ${this.block}`,
        line: this.sax.line,
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
        line: this.sax.line,
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
    const record = this.where();
    const bad = (field: string, message: string, value?: string) =>
      this.sink.issue({ record, line: r.line, field, message, value, kind: 'BAD_RECORD' });
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
        line: this.sax.line,
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
      record: this.kind ? `${this.kind} ${this.block}` : `line ${this.sax.line}`,
      line: this.sax.line,
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
