import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { AmiFormat, AmiImportResult } from '../../flows/ami/import-ami.js';
import { heapRetryWarning, importLanes, runAmiImport } from '../../flows/ami/import-runner.js';
import { inTurn } from '../../core/in-turn.js';
import type { CliKit } from './dock-cli.js';
import { importOutcome } from '../../flows/ami/describe.js';
import { AppError, errorMessage } from '../../errors.js';
import { formatTable } from './output.js';
import { z } from 'zod';
import { claimMeter, reprocessSuspense } from '../../flows/ami/suspense.js';
import { parkedNames } from '../../infra/store/suspense-repo.js';
import { METER_ID_MAX } from '../../core/meter-id.js';
import { isoAt } from '../../core/vee/types.js';

/** `fieldgate ami import <file…>`: AMI files by hand, the same import the drop folder runs. */
export function registerAmiCommands(program: Command, kit: CliKit): void {
  const ami = program.command('ami').description('AMI interval data: CMEP, Green Button ESPI and NEM12 files');
  ami
    .command('import <files...>')
    .description(
      'import AMI files: VEE, intervals stored, daily reads queued for billing; the same file twice changes nothing',
    )
    .addOption(
      new Option('--format <format>', 'the format (default: from the file)').choices(['cmep', 'espi', 'nem12']),
    )
    .option('--json', 'print JSON')
    .action(async (files: string[], opts: { format?: AmiFormat; json?: boolean }, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        // Every file, whatever became of the one before: a night's folder is not stopped by one bad file.
        // Files are imported side by side (ami.parallelImports); the outcomes are listed in the files' order.
        const outcomes: FileOutcome[] = [];
        await inTurn(files, importLanes(ctx.config), async (file, i) => {
          try {
            await access(file, constants.R_OK);
            const result = await runAmiImport(ctx.config, file, {
              format: opts.format,
              actor: 'cli',
              onHeapRetry: heapRetryWarning(ctx.log, file),
            });
            const { ok, reason } = importOutcome(result);
            outcomes[i] = { file, state: ok ? 'done' : 'failed', reason, result };
          } catch (err) {
            if (!isFileProblem(err)) throw err;
            const why = err instanceof AppError ? err.message : `cannot read ${file}: ${errorMessage(err)}`;
            outcomes[i] = { file, state: 'failed', reason: why, result: null };
          }
        });
        if (outcomes.some((o) => o.state === 'failed')) kit.fail();
        kit.print(Boolean(opts.json), outcomes.length === 1 ? outcomes[0] : outcomes, () =>
          [
            ...outcomes.map((o) => o.reason),
            '',
            formatTable(
              outcomes.map((o) => ({
                file: path.basename(o.file),
                format: o.result?.format ?? '-',
                received: o.result?.received ?? 0,
                stored: o.result?.stored ?? 0,
                exceptions: o.result?.exceptions ?? 0,
                state: o.state,
              })),
            ),
          ].join('\n'),
        );
      }),
    );

  ami
    .command('suspense')
    .description('list the names of meters billing does not know yet, whose AMI data waits in suspense')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        const names = await parkedNames(ctx.store.db, { limit: 10_000 });
        kit.print(Boolean(opts.json), names, () =>
          names.length === 0
            ? 'nothing in suspense'
            : formatTable(
                names.map((n) => ({
                  'source id': n.meter_ref,
                  'also named': n.alt_refs ?? '',
                  source: n.source,
                  intervals: n.intervals,
                  reads: n.reads,
                  from: isoAt(n.first_at),
                  to: isoAt(n.last_at),
                })),
              ),
        );
      }),
    );

  ami
    .command('claim <source-id> <meter>')
    .description(
      "name the billing meter a source's meter id belongs to: its parked data is imported now, and later data matches",
    )
    .option('--json', 'print JSON')
    .action(async (ref: string, meterId: string, opts: { json?: boolean }, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        const source = z.string().min(1).max(METER_ID_MAX).parse(ref);
        const meter = z.string().min(1).max(METER_ID_MAX).parse(meterId);
        const result = await claimMeter({ ...ctx, db: ctx.store.db }, { ref: source, meterId: meter, by: 'cli' });
        kit.print(Boolean(opts.json), result, () => {
          const m = result.matched[0];
          return m
            ? `${source} is now billing meter ${m.meterId}: ${m.intervals} parked intervals and ${m.reads} register ` +
                `reads imported (batch ${m.batchId})`
            : `${source} is now billing meter ${meter}; nothing of it was in suspense`;
        });
      }),
    );

  ami
    .command('reprocess')
    .description('import the suspense data of every meter billing now knows (the reprocess-suspense job, now)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        const result = await reprocessSuspense({ ...ctx, db: ctx.store.db }, { actor: 'cli' });
        kit.print(
          Boolean(opts.json),
          result,
          () => `${result.matched.length} name(s) matched and imported; ${result.waiting} still unknown to billing`,
        );
      }),
    );
}

interface FileOutcome {
  file: string;
  state: 'done' | 'failed';
  reason: string;
  result: AmiImportResult | null;
}

/** What is wrong with one file (not AMI, not there, not readable), as against the store or billing being down. */
function isFileProblem(err: unknown): boolean {
  if (err instanceof AppError) return err.code === 'AMI_FORMAT';
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR';
}
