import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { bufferLineSource, fileLineSource, linesOf } from '../../src/flows/readings/file-source.js';

const collect = async (it: AsyncIterable<string>) => {
  const out: string[] = [];
  for await (const l of it) out.push(l);
  return out;
};

describe('readings file sources', () => {
  // Regression: with readline, lines emitted while the importer awaited a database round trip were lost.
  it('loses no line when the consumer starts reading late (regression: readline dropped lines)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fg-src-'));
    const file = path.join(dir, 'r.txt');
    writeFileSync(file, Array.from({ length: 50_000 }, (_, i) => `line ${i}`).join('\r\n') + '\r\n');
    const src = await fileLineSource(file);
    await new Promise((r) => setTimeout(r, 100));
    const lines = await collect(src.lines);
    expect(lines).toHaveLength(50_000);
    expect(lines[49_999]).toBe('line 49999');
    expect(src.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('splits CRLF and LF across chunk boundaries and keeps a last line without terminator', async () => {
    const chunks = ['ab', 'c\r', '\nde\n', 'f\r\ng'];
    expect(await collect(linesOf(Readable.from(chunks)))).toEqual(['abc', 'de', 'f', 'g']);
  });

  it('hashes in-memory bytes the same as the file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fg-src-'));
    const file = path.join(dir, 'r.txt');
    writeFileSync(file, 'a\r\nb\r\n');
    expect(bufferLineSource('r', Buffer.from('a\r\nb\r\n')).sha256).toBe((await fileLineSource(file)).sha256);
  });

  it('says which file cannot be read', async () => {
    await expect(fileLineSource('/no/such/file.txt')).rejects.toThrow(/cannot read \/no\/such\/file.txt: ENOENT/);
  });
});
