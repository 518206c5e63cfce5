/**
 * Meters that go quiet (issue 18, point 7). Every AMI import notes when each meter was first
 * and last heard, whatever the source. A meter that reported over more than a day and has not
 * been heard for `ami.silentAfterHours` is one SILENT_METER exception, raised once for that
 * silence, so a dead receiver, a failed radio or a removed meter is seen before billing day.
 * When the meter is heard again its exception is resolved, and a later silence is noted anew.
 */

import type { Knex } from 'knex';
import { markSilentNoted, noteMetersHeard, silentMetersToNote } from '../../infra/store/ami-repo.js';
import { insertExceptionRows, resolveOpenOfMeters } from '../../infra/store/exceptions-repo.js';
import { storedMeterId } from '../../core/meter-id.js';
import { isoAt } from '../../core/vee/types.js';

const KIND = 'SILENT_METER';
const PAGE = 1000;

/** Records the meters a batch heard, and resolves the silence of any that had gone quiet. */
export async function noteHeard(
  db: Knex,
  source: string,
  heard: ReadonlyMap<string, { firstAt: number; lastAt: number }>,
  at: { now: string; by: string },
): Promise<void> {
  if (heard.size === 0) return;
  const rows = [...heard].map(([meterId, h]) => ({ meterId, source: `ami-${source}`, ...h }));
  await noteMetersHeard(db, rows);
  await resolveOpenOfMeters(
    db,
    KIND,
    rows.map((r) => r.meterId),
    { resolution: `heard again (${at.by})`, by: 'system', at: at.now },
  );
}

/** Raises SILENT_METER for each meter quiet for `silentAfterHours`; returns how many it raised. */
export async function noteSilentMeters(
  db: Knex,
  opts: { now: Date; silentAfterHours: number; signal?: AbortSignal },
): Promise<{ silent: number }> {
  const nowSeconds = Math.floor(opts.now.getTime() / 1000);
  const before = nowSeconds - opts.silentAfterHours * 3600;
  const at = opts.now.toISOString();
  let silent = 0;
  for (;;) {
    if (opts.signal?.aborted) break;
    const page = await silentMetersToNote(db, before, PAGE);
    if (page.length === 0) break;
    await db.transaction(async (trx) => {
      await insertExceptionRows(
        trx,
        page.map((m) => {
          const hours = Math.floor((nowSeconds - Number(m.last_at)) / 3600);
          return {
            source: m.source.slice(0, 20),
            kind: KIND,
            severity: 'warn',
            meter_id: storedMeterId(m.meter_id),
            field: 'last heard',
            value: isoAt(Number(m.last_at)),
            message:
              `meter ${m.meter_id} has not been heard for ${hours} hours (last data ${isoAt(Number(m.last_at))}, ` +
              `by ${m.source}; it reported from ${isoAt(Number(m.first_at))}): check the meter's radio or the ` +
              `receiver or head-end that hears it (ami.silentAfterHours is ${opts.silentAfterHours})`,
            status: 'open',
            created_at: at,
          };
        }),
      );
      await markSilentNoted(
        trx,
        page.map((m) => m.meter_id),
        at,
      );
    });
    silent += page.length;
    if (page.length < PAGE) break;
  }
  return { silent };
}
