import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { GatewayContext } from '../context.js';
import { buildRouteFile, type RouteFileBuild } from './export-route.js';

/**
 * The route file of a load command, built from billing once and kept by command id until the
 * device confirmed it. A load interrupted by a reset or a pulled cable then resumes on the very
 * same bytes (the device's READY fromOffset only makes sense for the file it holds part of),
 * even if billing changed in between.
 */
export class LoadFiles {
  constructor(readonly dir: string) {}

  async prepare(ctx: GatewayContext, commandId: number, routeCode: string): Promise<RouteFileBuild> {
    const base = path.join(this.dir, `load-${commandId}`);
    try {
      const meta = JSON.parse(await readFile(`${base}.json`, 'utf8')) as Omit<RouteFileBuild, 'content'>;
      const content = await readFile(`${base}.dat`);
      if (content.length > 0) return { ...meta, content };
    } catch {
      // Not built yet (or half written before a crash): build it now.
    }
    const built = await buildRouteFile(ctx, routeCode);
    await mkdir(this.dir, { recursive: true });
    const { content, ...meta } = built;
    await writeFile(`${base}.dat.tmp`, content);
    await writeFile(`${base}.json`, JSON.stringify(meta));
    await rename(`${base}.dat.tmp`, `${base}.dat`);
    return built;
  }

  async discard(commandId: number): Promise<void> {
    const base = path.join(this.dir, `load-${commandId}`);
    await Promise.all([rm(`${base}.dat`, { force: true }), rm(`${base}.json`, { force: true })]);
  }
}
