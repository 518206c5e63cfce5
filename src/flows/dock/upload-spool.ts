import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/**
 * Readings files arriving from hand-helds, kept on disk as they arrive so an interrupted unload
 * (cable pulled, gateway killed) resumes from the bytes already here. DATA chunks arrive in
 * order, so a file's size is exactly the prefix received: that size is the resume offset. One
 * file per device, route and the hash the device announced; deleted once the device cleared.
 */
export class UploadSpool {
  constructor(readonly dir: string) {}

  pathOf(deviceId: string, route: string, sha256: string): string {
    return path.join(this.dir, safe(deviceId), `${safe(route)}-${sha256.slice(0, 16)}.read`);
  }

  /** Bytes kept from an earlier, interrupted unload of exactly this file (0 if none). */
  async keptBytes(deviceId: string, route: string, sha256: string): Promise<number> {
    try {
      return (await stat(this.pathOf(deviceId, route, sha256))).size;
    } catch {
      return 0;
    }
  }

  /** Opens the file for an unload from `fromOffset`, dropping anything after it. */
  async open(deviceId: string, route: string, sha256: string, fromOffset: number): Promise<SpoolFile> {
    const file = this.pathOf(deviceId, route, sha256);
    await mkdir(path.dirname(file), { recursive: true });
    // Not 'a': on Linux, positional writes to a file opened for append land at its end.
    await (await open(file, 'a')).close();
    const handle = await open(file, 'r+');
    await handle.truncate(fromOffset);
    return new SpoolFile(file, handle, fromOffset);
  }

  /** Removes every kept file of this device and route (after CLEARED, or a file that failed its hash). */
  async discard(deviceId: string, route: string): Promise<void> {
    const dir = path.join(this.dir, safe(deviceId));
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(
      names.filter((n) => n.startsWith(`${safe(route)}-`)).map((n) => rm(path.join(dir, n), { force: true })),
    );
  }
}

export class SpoolFile {
  constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    public bytes: number,
  ) {}

  async write(offset: number, chunk: Buffer): Promise<void> {
    await this.handle.write(chunk, 0, chunk.length, offset);
    this.bytes = Math.max(this.bytes, offset + chunk.length);
  }

  /** Flushes to disk before the file is trusted (hashed and stored). */
  async close(): Promise<void> {
    await this.handle.sync().catch(() => undefined);
    await this.handle.close();
  }
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const part of createReadStream(file)) hash.update(part as Buffer);
  return hash.digest('hex');
}

/** Device ids and route codes become file names: keep them to safe characters. */
const safe = (name: string) => name.replace(/[^A-Za-z0-9_.-]/g, '_');
