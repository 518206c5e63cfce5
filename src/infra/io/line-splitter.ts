/**
 * Splits streamed text into lines (LF or CRLF) in time linear in its size, with a cap on a
 * line's length. Each chunk is scanned once from where it starts: the rest of an unfinished
 * line is kept as parts, never re-joined and re-scanned with the next chunk (that was quadratic:
 * a 200 MB file with no newline hung the drop folder). A line longer than the cap is not held:
 * it is counted to its end, reported once with its number and length, and the lines after it
 * are read as usual. Pure: no I/O.
 */

export interface LineSink {
  line(text: string, lineNo: number): void;
  /**
   * A line longer than the cap, skipped; `length` counts every character of it, CR included,
   * and `head` is its first `maxLength` characters (all that was kept).
   */
  tooLong(lineNo: number, length: number, head: string): void;
}

export class LineSplitter {
  private parts: string[] = [];
  private length = 0;
  private skipping = false;
  private lineNo = 0;

  constructor(
    readonly maxLength: number,
    private readonly sink: LineSink,
  ) {
    if (!Number.isInteger(maxLength) || maxLength < 1)
      throw new TypeError(`maxLength must be a positive integer, not ${maxLength}`);
  }

  /** Lines completed so far. */
  get lines(): number {
    return this.lineNo;
  }

  push(chunk: string): void {
    let from = 0;
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', from)) {
      this.take(chunk, from, nl);
      this.endLine();
      from = nl + 1;
    }
    this.take(chunk, from, chunk.length);
  }

  /** The last line, when the text does not end with a newline. */
  end(): void {
    if (this.length > 0) this.endLine();
  }

  private take(chunk: string, from: number, to: number): void {
    const n = to - from;
    if (n === 0) return;
    this.length += n;
    if (this.skipping) return;
    const part = from === 0 && to === chunk.length ? chunk : chunk.slice(from, to);
    if (this.length > this.maxLength + 1) {
      // +1: the CR of a CRLF line does not count against the cap. Only the head is kept.
      this.skipping = true;
      this.parts.push(part);
      this.parts = [this.parts.join('').slice(0, this.maxLength)];
      return;
    }
    this.parts.push(part);
  }

  private endLine(): void {
    this.lineNo++;
    const length = this.length;
    const parts = this.parts;
    const skipped = this.skipping;
    this.parts = [];
    this.length = 0;
    this.skipping = false;
    const raw = parts.length === 1 ? parts[0]! : parts.join('');
    if (skipped) return this.sink.tooLong(this.lineNo, length, raw);
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.length > this.maxLength) return this.sink.tooLong(this.lineNo, length, text.slice(0, this.maxLength));
    this.sink.line(text, this.lineNo);
  }
}

/**
 * The same as an async generator over a stream, for consumers that pull a line at a time and
 * check each line's layout themselves (fixed-width readings): a line over the cap is given as
 * its head, which the layout check then refuses by its length, naming the line.
 */
export async function* streamLines(
  stream: AsyncIterable<string | Buffer> | Iterable<string | Buffer>,
  maxLength: number,
  encoding: BufferEncoding = 'latin1',
): AsyncGenerator<string> {
  const ready: string[] = [];
  const splitter = new LineSplitter(maxLength, {
    line: (text) => void ready.push(text),
    tooLong: (_no, _length, head) => void ready.push(head),
  });
  for await (const part of stream) {
    splitter.push(typeof part === 'string' ? part : part.toString(encoding));
    yield* ready.splice(0);
  }
  splitter.end();
  yield* ready.splice(0);
}

/** The message of a line over the cap, for exceptions and logs. */
export function tooLongMessage(lineNo: number, length: number, maxLength: number): string {
  return (
    `line ${lineNo} is ${length.toLocaleString('en-US')} characters long; at most ` +
    `${maxLength.toLocaleString('en-US')} are read, so it was skipped`
  );
}
