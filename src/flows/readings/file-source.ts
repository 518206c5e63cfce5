import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../errors.js';
import { streamLines } from '../../infra/io/line-splitter.js';

/** A readings file read as a stream: its hash first (the idempotency key), then its lines. */
export interface LineSource {
  name: string;
  sha256: string;
  lines: AsyncIterable<string>;
}

export async function fileLineSource(file: string): Promise<LineSource> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new AppError('NOT_A_FILE', `${file} is not a file`);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('FILE_NOT_FOUND', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      status: 404,
    });
  }
  const hash = createHash('sha256');
  for await (const part of createReadStream(file)) hash.update(part as Buffer);
  return {
    name: path.basename(file),
    sha256: hash.digest('hex'),
    lines: linesOf(createReadStream(file, { encoding: 'latin1' })),
  };
}

/**
 * A readings line is a fixed-width record of a few hundred characters: past this, a line is
 * not a record, and only its head is kept (the layout check then refuses it by its length).
 */
export const MAX_READING_LINE = 4096;

/**
 * Lines of a text stream (CRLF or LF), pulled as the consumer asks, linear in the stream's size.
 * Not readline: a readline Interface emits lines as soon as it exists, and lines emitted before
 * its async iterator is attached are lost — a delay before reading (a database round trip)
 * silently dropped lines.
 */
export function linesOf(
  stream: AsyncIterable<string | Buffer> | Iterable<string | Buffer>,
  maxLength = MAX_READING_LINE,
): AsyncGenerator<string> {
  return streamLines(stream, maxLength, 'latin1');
}

/** The same for bytes already in memory (a dock upload, an HTTP body). */
export function bufferLineSource(name: string, bytes: Buffer): LineSource {
  return { name, sha256: createHash('sha256').update(bytes).digest('hex'), lines: linesOf(piecesOf(bytes)) };
}

/** A buffer as 64 KiB views, so its lines are split (and capped) as a stream's are. */
function* piecesOf(bytes: Buffer): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += 1 << 16) yield bytes.subarray(at, at + (1 << 16));
}
