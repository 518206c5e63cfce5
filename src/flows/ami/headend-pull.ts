/**
 * Pulls a head-end's interval and register exports page by page into the store. Each page is
 * one import batch keyed by its content, and the cursor is saved only after the page is
 * committed: a restart resumes at the page it stopped on, and a page fetched twice is stored
 * once. When the head-end says there is no next page, the cursor stays on the last page, so
 * the next pull sees what was added to it.
 */

import { createHash } from 'node:crypto';
import { HeadEndClient, type HeadEndOptions } from '../../../adapters/ami-headend/client.js';
import { feedPage, type HeadEndKind } from '../../../adapters/ami-headend/records.js';
import { importAmiBatch, type AmiImportContext } from './import-ami.js';
import { getCursor, setCursor } from '../../infra/store/ami-repo.js';

export { getCursor } from '../../infra/store/ami-repo.js';

export interface PullCounts {
  pages: number;
  items: number;
  stored: number;
  exceptions: number;
  duplicatePages: number;
}

export async function pullHeadEnd(
  ctx: AmiImportContext,
  opts: HeadEndOptions & { paths: Record<HeadEndKind, string>; maxPages: number },
  signal?: AbortSignal,
  client = new HeadEndClient(opts),
): Promise<PullCounts> {
  const counts: PullCounts = { pages: 0, items: 0, stored: 0, exceptions: 0, duplicatePages: 0 };
  for (const kind of ['registers', 'intervals'] as const) {
    const name = `headend:${kind}`;
    for (let n = 0; n < opts.maxPages && !signal?.aborted; n++) {
      const cursor = await getCursor(ctx.db, name);
      const page = await client.page(opts.paths[kind], cursor, signal);
      const where = `head-end ${kind} page after cursor ${cursor ?? '(start)'}`;
      const result = await importAmiBatch(
        ctx,
        {
          source: 'headend',
          name: where.slice(0, 255),
          sha256: createHash('sha256').update(`${kind}\n${page.body}`).digest('hex'),
          actor: 'pull-headend',
        },
        async (feed) => {
          feedPage(kind, page.items, feed);
          await feed.flushIfFull();
        },
      );
      counts.pages++;
      counts.items += page.items.length;
      counts.stored += result.stored + result.registerReads;
      counts.exceptions += result.exceptions;
      if (result.alreadyImported) counts.duplicatePages++;
      if (page.nextCursor === null || page.nextCursor === cursor) break;
      await setCursor(ctx.db, name, page.nextCursor, ctx.clock().toISOString());
    }
  }
  return counts;
}
