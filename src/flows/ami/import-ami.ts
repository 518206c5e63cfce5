import path from 'node:path';
import type { Knex } from 'knex';
import type { AmiRegisterReadsInsert } from '../../infra/store/tables.js';
import type { AmiSink, ParseIssue, SourceChannel } from '../../../adapters/ami-records.js';
import { fileSha256, readAmiFile, sniffFormat, type AmiFileRun, type AmiFormat, type FileProblem } from './ami-file.js';
import type { Billing } from '../../infra/billing/billing.js';
import type { Config } from '../../infra/config/schema.js';
import { historicalProfile } from '../../core/vee/profile.js';
import { checkMultiplier, checkUnit } from '../../core/vee/rules/units.js';
import { checkRegisterFits } from '../../core/vee/rules/register-advance.js';
import type { Interval, VeeFinding } from '../../core/vee/types.js';
import { isoAt, round6, sameValue } from '../../core/vee/types.js';
import { validateSeries } from '../../core/vee/validate-series.js';
import { dailyTotals } from '../../core/vee/rules/daily.js';
import type { Logger } from '../../infra/log/logger.js';
import { DayLedger } from './day-ledger.js';
import { insertRegisterReads, registerIntervals, storedActualsWithBatch } from '../../infra/store/ami-repo.js';
import { beginKeyedBatch, markBatchFailed, setBatchCounts } from '../../infra/store/import-batches-repo.js';
import { deriveDailyReads } from './daily-reads.js';
import { ExceptionLog } from './exception-log.js';
import { intervalWriter, type IntervalRun } from '../../infra/store/interval-writer.js';
import { BillingMeterLookup, isByUnitChannel, type AmiRegister, type MeterLookup } from './meter-directory.js';
import { noteHeard } from './silent-meters.js';
import { claimsList, parkRows, type ParkedRow } from '../../infra/store/suspense-repo.js';
import { storedMeterId } from '../../core/meter-id.js';
import { SeriesBuffer, seriesKey, type BufferedSeries } from './series-buffer.js';

export type { AmiFormat } from './ami-file.js';
/** Where a batch came from: a file format, or a live source (head-end API pages, rtlamr radio reads). */
export type AmiSource = AmiFormat | 'headend' | 'rtlamr' | 'wmbusmeters' | 'suspense' | 'demo';

export interface AmiImportContext {
  db: Knex;
  billing: Billing;
  config: Config;
  log: Logger;
  clock: () => Date;
  /** A directory already loaded (the live radio sources keep one); else billing is asked per part of the file. */
  directory?: MeterLookup;
}

export interface AmiImportResult {
  file: string;
  format: AmiSource;
  batchId: number;
  alreadyImported: boolean;
  /** Intervals the file delivered, intervals stored (new or replacing an estimate), estimated by VEE. */
  received: number;
  stored: number;
  estimated: number;
  registerReads: number;
  unknownMeters: number;
  dailyReads: number;
  exceptions: number;
  exceptionsByKind: Record<string, number>;
  seconds: number;
}

/**
 * Imports one AMI file (CMEP, Green Button ESPI or NEM12) as one idempotent batch:
 * stream → codec → VEE per meter channel → store in large transactions → daily reads derived
 * and queued for billing. The batch key is the file's sha256, so the same file imported again
 * changes nothing; an import cut off half-way resumes, and the interval key makes the rows it
 * had stored harmless. Bad records, unknown meters and VEE findings become exceptions naming
 * the file, record and field; they never stop the good data around them.
 */
export async function importAmiFile(
  ctx: AmiImportContext,
  file: string,
  opts: { format?: AmiFormat; actor?: string } = {},
): Promise<AmiImportResult> {
  const format = opts.format ?? (await sniffFormat(file));
  const batch = { source: format, name: path.basename(file), sha256: await fileSha256(file), actor: opts.actor };
  return importAmiBatch(ctx, batch, (run) => readAmiFile(run, file, format, ctx.config.ami));
}

/** What a producer feeds an import: records, and a chance to commit when enough are waiting. */
export interface AmiFeed extends AmiSink {
  flushIfFull(): Promise<void>;
}

/**
 * One idempotent AMI batch from any source: `produce` feeds records; VEE, storage, derived
 * reads and exceptions are the same for all. The key is (source, sha256 of the content).
 */
export async function importAmiBatch(
  ctx: AmiImportContext,
  batch: { source: AmiSource; name: string; sha256: string; actor?: string },
  produce: (feed: AmiImportRun) => Promise<void>,
): Promise<AmiImportResult> {
  const started = Date.now();
  const now = () => ctx.clock().toISOString();
  const { batchId, done } = await beginBatch(ctx.db, {
    format: batch.source,
    sha256: batch.sha256,
    name: batch.name,
    actor: batch.actor ?? 'system',
    now: now(),
  });
  const base = { file: batch.name, format: batch.source, batchId, exceptionsByKind: {}, seconds: 0 };
  if (done) {
    return {
      ...base,
      alreadyImported: true,
      received: 0,
      stored: 0,
      estimated: 0,
      registerReads: 0,
      unknownMeters: 0,
      dailyReads: 0,
      exceptions: 0,
      seconds: (Date.now() - started) / 1000,
    };
  }
  const run = new AmiImportRun(
    ctx,
    batch.name,
    batch.source,
    batchId,
    ctx.directory ?? new BillingMeterLookup(ctx.billing, await claimsList(ctx.db)),
  );
  let result;
  try {
    await produce(run);
    await run.flushAll();
    result = await run.finish();
  } catch (err) {
    // Not left 'running' for ever: the batch list shows it failed, and the same source resumes it.
    await markBatchFailed(ctx.db, batchId).catch(() => undefined);
    throw err;
  }
  ctx.log.info('AMI batch imported', {
    module: 'ami',
    name: batch.name,
    source: batch.source,
    batch: batchId,
    ...result,
  });
  return { ...base, ...result, alreadyImported: false, seconds: (Date.now() - started) / 1000 };
}

export class AmiImportRun implements AmiFeed, AmiFileRun {
  private readonly buffer = new SeriesBuffer();
  private readonly writer;
  private readonly exceptions: ExceptionLog;
  private readonly ledger = new DayLedger();
  /** Register reads as fed, matched to billing when their part is flushed (the names are looked up then). */
  private pendingReads: { ch: SourceChannel; readAt: number; value: number; line: number }[] = [];
  /** The source channels whose matching raised findings (a unit, a multiplier): raised once, however often matched. */
  private readonly reportedMatches = new Set<string>();
  /** The last stored interval of each series (with its register), so a gap across a flush is still seen. */
  private readonly tails = new Map<string, { register: string; last: Interval }>();
  private dailyReads = 0;
  /** Each meter's first and last data in this batch (epoch seconds), for silent-meter watch. */
  private readonly heard = new Map<string, { firstAt: number; lastAt: number }>();
  /** Unknown meters' data waiting for the next write, to be parked in suspense. */
  private parked: ParkedRow[] = [];
  /** Findings raised in this run, by meter, rule and time: each is raised once. */
  private readonly seenFindings = new Set<string>();
  /** Findings per meter and rule: the first few are listed, the rest counted. */
  private readonly findingTally = new Map<
    string,
    { shown: number; more: number; severity: VeeFinding['severity']; last: number | undefined }
  >();
  private readonly resolved = new Map<string, { reg: AmiRegister; factor: number } | null>();
  private readonly unknown = new Map<string, Unstored & { altRefs: string[] }>();
  /** Channels of known meters with no such register in billing, by meter and register: reported once each. */
  private readonly missingRegisters = new Map<string, Unstored & { ch: SourceChannel }>();
  /** Register reads waiting for the next write, and the registers that had any (for the sum check). */
  private registerRows: AmiRegisterReadsInsert[] = [];
  private readonly withRegisterReads = new Set<string>();
  private counts = { received: 0, stored: 0, estimated: 0, registerReads: 0 };
  private readonly zone: string;

  constructor(
    private readonly ctx: AmiImportContext,
    private readonly fileName: string,
    private readonly source: AmiSource,
    private readonly batchId: number,
    private readonly directory: MeterLookup,
  ) {
    this.writer = intervalWriter(ctx.db);
    this.exceptions = new ExceptionLog(`ami-${source}`, batchId, ctx.config.ami.maxExceptionsPerFile);
    this.zone = ctx.config.timeZone;
  }

  interval(ch: SourceChannel, iv: Interval, line: number): void {
    this.counts.received++;
    this.buffer.add(ch, iv, line);
  }

  register(ch: SourceChannel, readAt: number, value: number, line: number): void {
    this.pendingReads.push({ ch, readAt, value, line });
  }

  /** A register read, matched to billing (the flush prepared its names). */
  private registerRead(ch: SourceChannel, readAt: number, value: number, line: number): string | null {
    const target = this.resolve(ch, line);
    if (!target) {
      const u = this.unstored(ch);
      if (u) u.reads++;
      if (this.unknown.has(ch.meterRef)) this.park(ch, 'R', readAt, 0, value, 'A', null);
      return null;
    }
    const scaled = value * target.factor;
    const misfit = checkRegisterFits(scaled, target.reg.dials, readAt);
    if (misfit) {
      this.finding(misfit, target.reg.meterId, line);
      return null;
    }
    this.counts.registerReads++;
    this.heardAt(target.reg.meterId, readAt, readAt);
    this.registerRows.push({
      meter_id: target.reg.meterId,
      channel: target.reg.registerNo,
      read_at: readAt,
      value: scaled,
      source: this.source,
      batch_id: this.batchId,
    });
    const key = `${target.reg.meterId}|${target.reg.registerNo}`;
    this.withRegisterReads.add(key);
    return key;
  }

  issue(i: ParseIssue): void {
    this.exceptions.add({
      kind: i.kind ?? 'BAD_RECORD',
      severity: i.severity ?? 'error',
      line: i.line || null,
      meterId: null,
      field: i.field,
      value: i.value ?? null,
      message: `${this.fileName} ${i.record}, ${i.field}: ${i.message}`,
    });
  }

  async flushIfFull(): Promise<void> {
    if (this.buffer.size + this.pendingReads.length >= this.ctx.config.ami.flushIntervals) await this.flush();
  }

  /** Everything fed so far, validated and committed. */
  async flushAll(): Promise<void> {
    await this.flush(true);
  }

  /** A problem with the file itself (a line past the cap, a refused document), for the CSR's queue. */
  fileProblem(p: FileProblem): void {
    this.exceptions.add({ ...p, severity: 'error', meterId: null, message: `${this.fileName} ${p.message}` });
  }

  async finish(): Promise<Omit<AmiImportResult, 'file' | 'format' | 'batchId' | 'alreadyImported' | 'seconds'>> {
    const db = this.ctx.db;
    const now = this.ctx.clock().toISOString();
    for (const [ref, u] of this.unknown) {
      this.exceptions.add({
        kind: 'UNKNOWN_METER',
        severity: 'error',
        line: u.line,
        meterId: ref,
        field: 'meter',
        value: ref,
        message:
          `${this.fileName} line ${u.line}, meter: '${ref}'${alsoNamed(u.altRefs)} is not a billing meter id, ` +
          `radio id or serial; its ${unstoredData(u)} are parked in suspense until billing knows the meter (or ` +
          `\`fieldgate ami claim ${ref} <meter>\` names it)`,
      });
    }
    for (const m of this.missingRegisters.values()) {
      const stream = m.ch.stream ? ` (stream ${m.ch.stream})` : '';
      const register = isByUnitChannel(m.ch.channel) && m.ch.unit !== null ? `in ${m.ch.unit}` : String(m.ch.channel);
      this.exceptions.add({
        kind: 'UNKNOWN_REGISTER',
        severity: 'error',
        line: m.line,
        meterId: m.ch.meterRef,
        field: 'channel',
        value: String(m.ch.channel),
        message:
          `${this.fileName} line ${m.line}, channel: meter '${m.ch.meterRef}' has no register ${register}${stream} ` +
          `in billing; its ${unstoredData(m)} were not stored`,
      });
    }
    await this.settle(new Set());
    this.summariseFindings();
    await this.exceptions.flush(db, now, true);
    await setBatchCounts(db, this.batchId, {
      state: 'done',
      lines: this.counts.received,
      stored: this.counts.stored,
      rejected: this.rejected(),
      held: 0,
      skipped: [...this.unknown.values()].reduce((s, u) => s + u.intervals, 0),
    });
    return {
      ...this.counts,
      unknownMeters: this.unknown.size,
      dailyReads: this.dailyReads,
      exceptions: this.exceptions.total,
      exceptionsByKind: Object.fromEntries(this.exceptions.byKind),
    };
  }

  /** Keeps a datum of an unknown meter, as the source gave it, for when billing knows the meter. */
  private park(
    ch: SourceChannel,
    kind: 'I' | 'R',
    at: number,
    seconds: number,
    value: number,
    quality: string,
    flags: string | null,
  ): void {
    this.parked.push({
      meter_ref: storedMeterId(ch.meterRef),
      channel: ch.channel,
      kind,
      at,
      seconds,
      value,
      quality,
      flags,
      unit: ch.unit,
      constant: ch.constant,
      stream: ch.stream ?? null,
      alt_refs: ch.altRefs?.length ? ch.altRefs.join(',').slice(0, 200) : null,
      source: this.source,
      batch_id: this.batchId,
      parked_at: this.ctx.clock().toISOString(),
    });
  }

  private heardAt(meterId: string, from: number, to: number): void {
    const h = this.heard.get(meterId);
    if (!h) this.heard.set(meterId, { firstAt: from, lastAt: to });
    else {
      if (from < h.firstAt) h.firstAt = from;
      if (to > h.lastAt) h.lastAt = to;
    }
  }

  /** One exception per meter and rule for the findings past the examples: how many, and until when. */
  private summariseFindings(): void {
    for (const [group, t] of this.findingTally) {
      if (t.more === 0) continue;
      const [meterId, rule] = group.split('|') as [string, string];
      const until = t.last === undefined ? '' : `, the last at ${isoAt(t.last)}`;
      this.exceptions.add({
        kind: rule,
        severity: t.severity,
        line: null,
        meterId,
        field: null,
        value: String(t.more),
        message:
          `${this.fileName}, meter ${meterId}: ${t.more.toLocaleString('en-US')} more ${rule} findings in this ` +
          `file${until} (the first ${t.shown} are listed on their own)`,
      });
    }
    this.findingTally.clear();
  }

  private rejected(): number {
    return this.exceptions.byKind.get('BAD_RECORD') ?? 0;
  }

  /**
   * Validates what the buffer holds and hands it to the writer. One write is kept in flight
   * while the next chunk is parsed and validated: PostgreSQL works in its own process, so the
   * two overlap. `final` waits for the last write.
   */
  private async flush(final = false): Promise<void> {
    const series = this.buffer.take();
    const reads = this.pendingReads;
    this.pendingReads = [];
    await this.directory.prepare(meterNames([...series.map((x) => x.channel), ...reads.map((r) => r.ch)]));
    const registers = new Set<string>();
    const readRegisters = new Set<string>();
    for (const r of reads) {
      const key = this.registerRead(r.ch, r.readAt, r.value, r.line);
      if (key) readRegisters.add(key);
    }
    for (const x of series) {
      const key = await this.processSeries(x);
      if (key) registers.add(key);
    }
    await this.waitForWrite();
    // Earlier parts are committed now: what they alone touched is settled (beside this part's write).
    const settling =
      this.ledger.size > this.ctx.config.ami.settleAfterRegisters
        ? this.settle(new Set([...registers, ...readRegisters]))
        : null;
    const rows = this.writer.pending;
    const runs = this.writer.pendingRuns();
    const registerRows = this.registerRows;
    this.registerRows = [];
    const parked = this.parked;
    this.parked = [];
    const write = this.writer.flush().then(async (changed) => {
      await insertRegisterReads(this.ctx.db, registerRows);
      await parkRows(this.ctx.db, parked);
      this.counts.stored += changed;
      // Rows that met stored rows kept those: the day totals of this write are not the stored ones.
      if (changed !== rows) {
        this.ledger.markDirty(registers);
        await this.noteConflicts(runs);
      }
      await this.exceptions.flush(this.ctx.db, this.ctx.clock().toISOString());
    });
    // Held with its outcome, so a failure surfaces at the next wait and is never unhandled.
    this.inflight = Promise.all([write, settling]).then(
      () => null,
      (err: unknown) => err,
    );
    if (final) await this.waitForWrite();
  }

  /**
   * The registers not in `keep` ("meter|register": those the part being written still touches)
   * are done with: their daily reads are derived and stored, their meters noted as heard, and
   * what the run held for them let go of. So a run holds state for the meters of a few parts,
   * however many meters the file has; a meter that comes back later in the file is read back from
   * the store for its days (its ledger is incomplete) and its derived reads are replaced.
   * What it lets go of is taken at once: the next part is validated while the store works.
   */
  private settle(keep: ReadonlySet<string>): Promise<void> {
    const registers = this.ledger.takeExcept(keep);
    const withRegisterReads = new Set<string>();
    for (const k of this.withRegisterReads)
      if (!keep.has(k)) {
        withRegisterReads.add(k);
        this.withRegisterReads.delete(k);
      }
    const keepMeters = new Set([...keep].map((k) => k.slice(0, k.lastIndexOf('|'))));
    const heard = new Map<string, { firstAt: number; lastAt: number }>();
    for (const [meterId, h] of this.heard)
      if (!keepMeters.has(meterId)) {
        heard.set(meterId, h);
        this.heard.delete(meterId);
      }
    for (const [k, t] of this.tails) if (!keep.has(t.register)) this.tails.delete(k);
    // Matching again costs a map lookup in the directory, which holds the next part's names.
    this.resolved.clear();
    return (async () => {
      const db = this.ctx.db;
      const now = this.ctx.clock().toISOString();
      const derived = await deriveDailyReads(db, registers, {
        zone: this.zone,
        vee: this.ctx.config.ami.vee,
        now,
        withRegisterReads,
        batchId: this.batchId,
      });
      for (const f of derived.findings) this.finding(f, f.meterId, null);
      this.dailyReads += derived.reads.length;
      await noteHeard(db, this.source, heard, { now, by: this.fileName });
    })();
  }

  private inflight: Promise<unknown> | null = null;

  /**
   * Actual intervals that an earlier batch stored with another value (a later radio message, a
   * corrected file): the stored ones were kept, and the CSR hears of it once per register and time.
   */
  private async noteConflicts(runs: readonly IntervalRun[]): Promise<void> {
    for (const run of runs) {
      const mine = run.intervals.filter((iv) => iv.quality === 'A');
      if (mine.length === 0) continue;
      const stored = new Map(
        (
          await storedActualsWithBatch(
            this.ctx.db,
            run.meterId,
            run.channel,
            mine[0]!.startAt,
            mine[mine.length - 1]!.startAt,
          )
        ).map((x) => [Number(x.start_at), x]),
      );
      const differing = mine.filter((iv) => {
        const s = stored.get(iv.startAt);
        return s !== undefined && Number(s.batch_id) !== this.batchId && !sameValue(s.value, iv.value);
      });
      if (differing.length === 0) continue;
      const first = differing[0]!;
      const was = stored.get(first.startAt)!;
      this.finding(
        {
          rule: 'INTERVAL_CONFLICT',
          severity: 'warn',
          at: first.startAt,
          field: 'value',
          value: first.value,
          message:
            `register ${run.channel}: ${differing.length} interval(s) differ from those batch ${was.batch_id} ` +
            `stored (the first: stored ${Number(was.value)}, now ${first.value}); the stored values were kept`,
        },
        run.meterId,
        null,
      );
    }
  }

  private async waitForWrite(): Promise<void> {
    const err = await this.inflight;
    this.inflight = null;
    if (err) throw err;
  }

  /** Validates one series and queues it for the writer; returns its register key, or null if not stored. */
  private async processSeries(s: BufferedSeries): Promise<string | null> {
    const target = this.resolve(s.channel, s.firstLine);
    if (!target) {
      const u = this.unstored(s.channel);
      if (u) u.intervals += s.intervals.length;
      if (this.unknown.has(s.channel.meterRef))
        for (const iv of s.intervals) this.park(s.channel, 'I', iv.startAt, iv.seconds, iv.value, iv.quality, iv.flags);
      return null;
    }
    const { reg, factor } = target;
    const key = seriesKey(s.channel);
    const input = factor === 1 ? s.intervals : s.intervals.map((iv) => ({ ...iv, value: round6(iv.value * factor) }));
    const tail = this.tails.get(key)?.last;
    if (tail) input.unshift(tail);
    input.sort((a, b) => a.startAt - b.startAt);
    const vee = this.ctx.config.ami.vee;
    const profile = needsHistory(input, s.channel.seconds, vee.maxLinearGapMinutes * 60)
      ? await this.history(reg, input)
      : undefined;
    const { intervals, findings, estimated } = validateSeries(input, s.channel.seconds, vee, profile);
    const fresh = tail && intervals[0]?.startAt === tail.startAt ? intervals.slice(1) : intervals;
    for (const f of findings) this.finding(f, reg.meterId, s.firstLine);
    if (fresh.length === 0) return null;
    this.counts.estimated += estimated;
    const last = fresh[fresh.length - 1]!;
    this.heardAt(reg.meterId, fresh[0]!.startAt, last.startAt + last.seconds);
    this.writer.add(reg.meterId, reg.registerNo, fresh, this.batchId);
    const register = `${reg.meterId}|${reg.registerNo}`;
    this.tails.set(key, { register, last: fresh[fresh.length - 1]! });
    this.ledger.add(reg, s.channel.seconds, dailyTotals(fresh, this.zone));
    return register;
  }

  /** Where a channel's data that cannot be stored is counted: its unknown meter, or its missing register. */
  private unstored(ch: SourceChannel): Unstored | undefined {
    return this.unknown.get(ch.meterRef) ?? this.missingRegisters.get(`${ch.meterRef}|${ch.channel}`);
  }

  /** The billing register a source channel maps to, with its unit factor; null (and noted) if none. */
  private resolve(ch: SourceChannel, line: number): { reg: AmiRegister; factor: number } | null {
    const key = seriesKey(ch);
    if (this.resolved.has(key)) return this.resolved.get(key)!;
    const refs = [ch.meterRef, ...(ch.altRefs ?? [])];
    const found =
      isByUnitChannel(ch.channel) && ch.unit !== null
        ? this.directory.findByUnit(refs, ch.unit)
        : this.directory.find(refs, ch.channel);
    let target: { reg: AmiRegister; factor: number } | null = null;
    if (!found.meterKnown) {
      if (!this.unknown.has(ch.meterRef))
        this.unknown.set(ch.meterRef, { intervals: 0, reads: 0, line, altRefs: ch.altRefs ?? [] });
    } else if (!found.register) {
      const k = `${ch.meterRef}|${ch.channel}`;
      if (!this.missingRegisters.has(k)) this.missingRegisters.set(k, { intervals: 0, reads: 0, line, ch });
    } else {
      const unit = ch.unit === null ? { factor: 1, findings: [] } : checkUnit(ch.unit, found.register.uom);
      const findings = [...unit.findings, ...checkMultiplier(ch.constant, found.register.multiplier)];
      if (findings.length > 0 && !this.reportedMatches.has(key)) {
        this.reportedMatches.add(key);
        for (const f of findings) this.finding(f, found.register.meterId, line);
      }
      if (unit.factor !== null) target = { reg: found.register, factor: unit.factor };
    }
    this.resolved.set(key, target);
    return target;
  }

  /**
   * A VEE finding for the CSR's queue: once per meter, rule and time (a later import that sees
   * the same day or register pair again raises nothing new), and past the first
   * `ami.findingsPerMeter` of one rule on one meter, counted into one summary at the end.
   */
  private finding(f: VeeFinding, meterId: string, line: number | null): void {
    const key = f.at === undefined ? null : `${f.rule}@${f.at}`;
    const group = `${meterId}|${f.rule}`;
    const tally = this.findingTally.get(group) ?? { shown: 0, more: 0, severity: f.severity, last: f.at };
    this.findingTally.set(group, tally);
    const listed = tally.shown < this.ctx.config.ami.findingsPerMeter;
    if (key) {
      // Only listed findings are remembered: a file with a finding on every interval holds no set of millions.
      const seen = `${meterId}|${key}`;
      if (this.seenFindings.has(seen)) return;
      if (listed) this.seenFindings.add(seen);
    }
    tally.last = f.at ?? tally.last;
    if (!listed) {
      tally.more++;
      return;
    }
    tally.shown++;
    const at = f.at === undefined ? '' : ` at ${isoAt(f.at)}`;
    this.exceptions.add({
      key,
      kind: f.rule,
      severity: f.severity,
      line,
      meterId,
      field: f.field ?? null,
      value: f.value === undefined ? null : String(f.value),
      message:
        `${this.fileName}${line ? ` line ${line}` : ''}, meter ${meterId}${at}, ${f.field ?? 'value'}: ` +
        `${f.message}`,
    });
  }

  /** Same-day-type history for a long gap: the store's intervals in the weeks before, and this run's. */
  private async history(reg: AmiRegister, input: readonly Interval[]) {
    const weeks = this.ctx.config.ami.vee.historyWeeks;
    const first = input[0]!.startAt;
    const stored = (
      await registerIntervals(this.ctx.db, reg.meterId, reg.registerNo, [first - weeks * 7 * 86_400, first], {
        actualOnly: true,
      })
    ).map((iv) => ({ ...iv, flags: null }));
    return historicalProfile([...stored, ...input], this.zone);
  }
}

/** The names a part's channels give their meters, for the directory to prepare. */
function meterNames(channels: readonly SourceChannel[]): Set<string> {
  const names = new Set<string>();
  for (const ch of channels) {
    names.add(ch.meterRef);
    for (const alt of ch.altRefs ?? []) names.add(alt);
  }
  return names;
}

/** Whether a sorted run has a gap longer than linear interpolation may fill. */
function needsHistory(sorted: readonly Interval[], seconds: number, maxLinearSeconds: number): boolean {
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i]!.startAt - sorted[i - 1]!.startAt > seconds + maxLinearSeconds) return true;
  return false;
}

async function beginBatch(
  db: Knex,
  b: { format: AmiSource; sha256: string; name: string; actor: string; now: string },
): Promise<{ batchId: number; done: boolean }> {
  // An import cut off half-way resumes: its intervals are keyed, so running it again adds only what is missing.
  return beginKeyedBatch(db, `ami:${b.format}:${b.sha256}`, {
    source: `ami-${b.format}`,
    file_name: b.name.slice(0, 255),
    sha256: b.sha256,
    actor: b.actor,
    lines: 0,
    stored: 0,
    rejected: 0,
    held: 0,
    skipped: 0,
    created_at: b.now,
    state: 'running',
  });
}

/** Data of a channel that was not stored: counted, for the exception that says so. */
interface Unstored {
  intervals: number;
  reads: number;
  line: number;
}

/** " (also named 'NEM1201009')": the other names a source gave an unknown meter, all of which were tried. */
function alsoNamed(refs: readonly string[] | undefined): string {
  return refs?.length ? ` (also named ${refs.map((r) => `'${r}'`).join(', ')})` : '';
}

/** What of an unknown meter's data was not stored: "96 intervals and 2 register reads", or "data". */
function unstoredData(u: { intervals: number; reads: number }): string {
  const parts = [u.intervals ? `${u.intervals} intervals` : '', u.reads ? `${u.reads} register reads` : ''];
  return parts.filter(Boolean).join(' and ') || 'data';
}
