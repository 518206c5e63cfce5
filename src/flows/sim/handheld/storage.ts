/**
 * A simulated hand-held's flash: per route, the route file (whole, or the prefix of an
 * interrupted load), its description, and the readings file once the route was read. Kept on
 * disk so a restarted simulator still holds what a real device would. Writes are synced: a
 * device that says LOAD_OK or still holds readings must survive being switched off.
 */

import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

export interface RouteMeta {
  route: string;
  cycle: string;
  records: number;
  bytes: number;
  layout: string;
  sha256: string;
  complete: boolean;
}

export const EMPTY_SHA256 = createHash('sha256').digest('hex');

export class HandheldStorage {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private file(route: string, ext: string): string {
    return path.join(this.dir, `${route.replace(/[^A-Za-z0-9_.-]/g, '_')}.${ext}`);
  }

  routes(): RouteMeta[] {
    return readdirSync(this.dir)
      .filter((n) => n.endsWith('.meta.json'))
      .map((n) => JSON.parse(readFileSync(path.join(this.dir, n), 'utf8')) as RouteMeta)
      .sort((a, b) => a.route.localeCompare(b.route));
  }

  meta(route: string): RouteMeta | undefined {
    try {
      return JSON.parse(readFileSync(this.file(route, 'meta.json'), 'utf8')) as RouteMeta;
    } catch {
      return undefined;
    }
  }

  /** Bytes held of this very route file from an interrupted load (0 when none or another file). */
  partialBytes(route: string, sha256: string): number {
    const meta = this.meta(route);
    if (!meta || meta.complete || meta.sha256 !== sha256) return 0;
    try {
      return statSync(this.file(route, 'route')).size;
    } catch {
      return 0;
    }
  }

  beginLoad(meta: Omit<RouteMeta, 'complete'>, fromOffset: number): void {
    if (fromOffset === 0) writeFileSync(this.file(meta.route, 'route'), Buffer.alloc(0));
    this.writeMeta({ ...meta, complete: false });
  }

  writeChunk(route: string, offset: number, bytes: Buffer): void {
    const fd = openSync(this.file(route, 'route'), 'r+');
    try {
      writeSync(fd, bytes, 0, bytes.length, offset);
    } finally {
      closeSync(fd);
    }
  }

  routeFile(route: string): Buffer {
    return readFileSync(this.file(route, 'route'));
  }

  completeLoad(route: string): void {
    const meta = this.meta(route);
    if (meta) this.writeMeta({ ...meta, complete: true });
  }

  readings(route: string): Buffer | null {
    try {
      return readFileSync(this.file(route, 'read'));
    } catch {
      return null;
    }
  }

  writeReadings(route: string, content: Buffer): void {
    this.writeSynced(this.file(route, 'read'), content);
  }

  /** CLEAR: the route and its readings are gone from the device. */
  remove(route: string): void {
    for (const ext of ['route', 'read', 'meta.json']) rmSync(this.file(route, ext), { force: true });
  }

  private writeMeta(meta: RouteMeta): void {
    this.writeSynced(this.file(meta.route, 'meta.json'), Buffer.from(JSON.stringify(meta)));
  }

  private writeSynced(file: string, content: Buffer): void {
    const tmp = `${file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  }
}
