/**
 * An AMI file read from disk: its format told from its first bytes, its sha256 (the batch key),
 * and its records streamed through the format's codec into an import run, with the file's own
 * bounds (line length, a run of text without markup) checked as it goes.
 */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { parseCmepLine } from '../../../adapters/ami-files/cmep.js';
import { EspiParser } from '../../../adapters/ami-files/espi.js';
import { Nem12Parser } from '../../../adapters/ami-files/nem12.js';
import { SourceRefused, type AmiSink } from '../../../adapters/ami-records.js';
import { AppError } from '../../errors.js';
import type { Config } from '../../infra/config/schema.js';
import { LineSplitter, tooLongMessage } from '../../infra/io/line-splitter.js';

export type AmiFormat = 'cmep' | 'espi' | 'nem12';

/** What a file is read into: the codec's records, a commit when enough wait, and problems of the file itself. */
export interface AmiFileRun extends AmiSink {
  flushIfFull(): Promise<void>;
  fileProblem(p: FileProblem): void;
}

/** A problem with the file itself: a line past the cap, a refused document. */
export interface FileProblem {
  kind: 'LINE_TOO_LONG' | 'REFUSED';
  line: number;
  field: string;
  value: string | null;
  message: string;
}

/** Streams a file's records into the run (64 KiB at a time), committing whenever enough are waiting. */
export async function readAmiFile(run: AmiFileRun, file: string, format: AmiFormat, ami: Config['ami']): Promise<void> {
  // 64 KiB: larger strings go straight to V8's old space and pile up there between full collections.
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 16 });
  try {
    if (format === 'espi') {
      const parser = new EspiParser(run, ami.espi.matchBy);
      const markup = new MarkupRun(ami.maxLineLength.espi, () => parser.line);
      for await (const chunk of stream) {
        // Text between tags is buffered whole by the XML parser: a run past the cap is refused before it is.
        markup.check(chunk as string);
        parser.write(chunk as string);
        await run.flushIfFull();
      }
      parser.end();
    } else {
      const nem12 = format === 'nem12' ? new Nem12Parser(run, ami.nem12.zone, ami.nem12.suffixRegisters) : null;
      const maxLength = nem12 ? ami.maxLineLength.nem12 : ami.maxLineLength.cmep;
      const lines = new LineSplitter(maxLength, {
        line: (text, lineNo) => (nem12 ? nem12.line(text) : parseCmepLine(text, lineNo, ami.cmep, run)),
        tooLong: (lineNo, length) => {
          if (nem12) nem12.skipLine();
          const field = `ami.maxLineLength.${format}`;
          run.fileProblem({
            kind: 'LINE_TOO_LONG',
            line: lineNo,
            field,
            value: String(length),
            message: `${tooLongMessage(lineNo, length, maxLength)} (${field})`,
          });
        },
      });
      for await (const chunk of stream) {
        lines.push(chunk as string);
        await run.flushIfFull();
      }
      lines.end();
      nem12?.end();
    }
  } catch (err) {
    if (!(err instanceof SourceRefused)) throw err;
    run.fileProblem({
      kind: 'REFUSED',
      line: err.line,
      field: 'DOCTYPE',
      value: null,
      message: `line ${err.line}: ${err.message}`,
    });
  }
}

export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The format from the file's first bytes: '<' is ESPI XML, MEPMD01 is CMEP, 100,NEM12 is NEM12. */
export async function sniffFormat(file: string): Promise<AmiFormat> {
  const fh = await open(file, 'r');
  let head: string;
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(512), 0, 512, 0);
    head = buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .trimStart();
    if (head.startsWith('<')) return 'espi';
    if (head.startsWith('MEPMD01')) return 'cmep';
    if (/^100,NEM12/.test(head)) return 'nem12';
  } finally {
    await fh.close();
  }
  throw new AppError(
    'AMI_FORMAT',
    `${path.basename(file)}: not CMEP (MEPMD01), Green Button ESPI XML or NEM12: ${whyNotAmi(head)}`,
    { record: path.basename(file), field: 'format' },
  );
}

/** Why a file's first bytes are none of the formats, for the person who dropped it. */
function whyNotAmi(head: string): string {
  if (head === '') return 'the file is empty (or only white space)';
  const first = head.split(/\r?\n/, 1)[0]!;
  const shown = JSON.stringify(first.length > 40 ? `${first.slice(0, 40)}…` : first);
  if (/^\d{3},/.test(first)) return `it starts with ${shown}, but a NEM12 file starts with a 100,NEM12 header record`;
  if (first.startsWith('MEPMD')) return `it starts with ${shown}; CMEP records start with MEPMD01`;
  return `it starts with ${shown}`;
}

/**
 * The longest run of characters with no '<' or '>' in an XML stream, checked chunk by chunk in
 * linear time: past `max`, the file is refused (a text node or tag that long is not ESPI).
 */
class MarkupRun {
  /** Characters since the last '<'. */
  private run = 0;

  constructor(
    private readonly max: number,
    /** The line the XML parser has reached (the refusal names it). */
    private readonly line: () => number,
  ) {}

  /**
   * One indexOf each way per chunk while the cap is at least a chunk long (the default is 16 of
   * them): a run longer than the cap must then span chunks. A per-tag scan cost ESPI imports a
   * quarter of their speed.
   */
  check(chunk: string): void {
    const first = chunk.indexOf('<');
    if (first < 0) {
      this.run += chunk.length;
    } else {
      const before = this.run + first;
      const inner = chunk.length > this.max ? this.longestRun(chunk) : 0;
      this.run = chunk.length - 1 - chunk.lastIndexOf('<');
      if (before > this.max || inner > this.max) this.run = Math.max(before, inner);
    }
    if (this.run > this.max) {
      throw new SourceRefused(
        `more than ${this.max.toLocaleString('en-US')} characters without markup (ami.maxLineLength.espi): not a ` +
          `Green Button document`,
        this.line(),
      );
    }
  }

  /** The longest run between '<' in a chunk (only when the cap is shorter than a chunk). */
  private longestRun(chunk: string): number {
    let longest = 0;
    for (let from = 0, at = chunk.indexOf('<'); at >= 0; from = at + 1, at = chunk.indexOf('<', from))
      longest = Math.max(longest, at - from);
    return longest;
  }
}
