/**
 * The suspense area (issue 18, point 2). An AMI import keeps the data of a meter billing does
 * not know in `ami_suspense`, as the source gave it, instead of dropping it. When billing
 * learns the meter (a new meter, a radio id filled in), or a CSR claims the source's name for a
 * meter (`fieldgate ami claim`), the parked data goes through the same import as a file: VEE,
 * intervals stored, daily reads derived and queued for billing. Intervals and billing reads are
 * keyed, so a pass cut off half-way and run again stores and sends each exactly once.
 */

import { createHash, randomUUID } from 'node:crypto';
import type { SourceChannel } from '../../../adapters/ami-records.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import { resolveOpenOfMeters } from '../../infra/store/exceptions-repo.js';
import {
  claimsList,
  dropRun,
  parkedNames,
  parkedOfRun,
  recordClaim,
  takeParked,
} from '../../infra/store/suspense-repo.js';
import type { AmiSuspenseRow } from '../../infra/store/tables.js';
import { importAmiBatch, type AmiImportContext } from './import-ami.js';
import { MeterDirectory } from './meter-directory.js';

export interface SuspenseResult {
  /** Names whose data was imported. */
  matched: { ref: string; meterId: string; intervals: number; reads: number; batchId: number }[];
  /** Names still unknown, with what they hold. */
  waiting: number;
}

const PAGE = 5000;

/** Imports the parked data of every name (or of `refs`) that billing, or a claim, now knows. */
export async function reprocessSuspense(
  ctx: AmiImportContext,
  opts: { refs?: readonly string[]; actor: string; signal?: AbortSignal },
): Promise<SuspenseResult> {
  const directory = await MeterDirectory.load(ctx.billing, await claimsList(ctx.db));
  const result: SuspenseResult = { matched: [], waiting: 0 };
  for (const name of await parkedNames(ctx.db, { refs: opts.refs, limit: 10_000 })) {
    if (opts.signal?.aborted) break;
    const refs = [name.meter_ref, ...(name.alt_refs ? name.alt_refs.split(',') : [])];
    const meterId = directory.meterOf(refs);
    if (!meterId) {
      result.waiting++;
      continue;
    }
    const runId = randomUUID();
    await takeParked(ctx.db, name.meter_ref, runId);
    const counts = { intervals: 0, reads: 0 };
    const imported = await importAmiBatch(
      { ...ctx, directory },
      {
        source: 'suspense',
        name: `suspense ${name.meter_ref}`,
        sha256: createHash('sha256').update(`suspense:${runId}`).digest('hex'),
        actor: opts.actor,
      },
      async (feed) => {
        const channels = new Map<string, SourceChannel>();
        for (let offset = 0; ; offset += PAGE) {
          const rows = await parkedOfRun(ctx.db, runId, offset, PAGE);
          for (const row of rows) {
            const ch = channelOf(row, channels);
            if (row.kind === 'I') {
              counts.intervals++;
              feed.interval(
                ch,
                {
                  startAt: Number(row.at),
                  seconds: row.seconds,
                  value: row.value,
                  quality: row.quality === 'E' ? 'E' : 'A',
                  flags: row.flags,
                },
                0,
              );
            } else {
              counts.reads++;
              feed.register(ch, Number(row.at), row.value, 0);
            }
            await feed.flushIfFull();
          }
          if (rows.length < PAGE) break;
        }
      },
    );
    await dropRun(ctx.db, runId);
    const at = ctx.clock().toISOString();
    await resolveOpenOfMeters(ctx.db, 'UNKNOWN_METER', [name.meter_ref], {
      resolution:
        `matched to billing meter ${meterId}: ${counts.intervals} parked intervals and ${counts.reads} register ` +
        `reads imported (batch ${imported.batchId})`,
      by: opts.actor,
      at,
    });
    ctx.log.info('AMI suspense imported', {
      module: 'ami',
      ref: name.meter_ref,
      meter: meterId,
      batch: imported.batchId,
      ...counts,
      stored: imported.stored,
    });
    result.matched.push({ ref: name.meter_ref, meterId, ...counts, batchId: imported.batchId });
  }
  return result;
}

/**
 * A CSR names the meter a source's name belongs to (`fieldgate ami claim X9999999 E0000042`):
 * recorded, so later data under that name matches too, and the parked data imported now.
 */
export async function claimMeter(
  ctx: AmiImportContext,
  claim: { ref: string; meterId: string; by: string },
): Promise<SuspenseResult> {
  const directory = await MeterDirectory.load(ctx.billing);
  if (directory.meterOf([claim.meterId]) !== claim.meterId) throw new NotFoundError('billing meter', claim.meterId);
  const owner = directory.meterOf([claim.ref]);
  if (owner && owner !== claim.meterId)
    throw new ConflictError('EXISTS', `'${claim.ref}' already names billing meter ${owner}; it cannot be claimed`, {
      record: claim.ref,
      field: 'source id',
    });
  await recordClaim(ctx.db, { ...claim, at: ctx.clock().toISOString() });
  return reprocessSuspense(ctx, { refs: [claim.ref], actor: claim.by });
}

/** One SourceChannel per distinct stream of a run, as the import's series buffer expects. */
function channelOf(row: AmiSuspenseRow, channels: Map<string, SourceChannel>): SourceChannel {
  const seconds = row.kind === 'I' ? row.seconds : 0;
  const key = `${row.channel}|${seconds}|${row.unit}|${row.constant}|${row.stream}`;
  let ch = channels.get(key);
  if (!ch) {
    ch = {
      meterRef: row.meter_ref,
      altRefs: row.alt_refs ? row.alt_refs.split(',') : [],
      channel: row.channel,
      stream: row.stream ?? undefined,
      unit: row.unit,
      seconds,
      constant: row.constant,
    };
    channels.set(key, ch);
  }
  return ch;
}
