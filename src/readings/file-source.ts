import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.js';

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
    throw new AppError('FILE_NOT_FOUND', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { status: 404 });
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
 * Lines of a text stream (CRLF or LF), pulled as the consumer asks. Not readline: a readline
 * Interface emits lines as soon as it exists, and lines emitted before its async iterator is
 * attached are lost — a delay before reading (a database round trip) silently dropped lines.
 */
export async function* linesOf(stream: AsyncIterable<string | Buffer>): AsyncGenerator<string> {
  let rest = '';
  for await (const part of stream) {
    const text = rest + (typeof part === 'string' ? part : part.toString('latin1'));
    const lines = text.split('\n');
    rest = lines.pop()!;
    for (const line of lines) yield line.endsWith('\r') ? line.slice(0, -1) : line;
  }
  if (rest !== '') yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}

/** The same for bytes already in memory (a dock upload, an HTTP body). */
export function bufferLineSource(name: string, bytes: Buffer): LineSource {
  const text = bytes.toString('latin1');
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return {
    name,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    lines: (async function* () {
      yield* lines;
    })(),
  };
}
