import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { AmiFormat, AmiImportResult } from '../../flows/ami/import-ami.js';
import { heapRetryWarning, runAmiImport } from '../../flows/ami/import-runner.js';
import type { CliKit } from './dock-cli.js';
import { importOutcome } from '../../flows/ami/describe.js';
import { AppError, errorMessage } from '../../errors.js';
import { formatTable } from './output.js';

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
        const outcomes: FileOutcome[] = [];
        for (const file of files) {
          try {
            await access(file, constants.R_OK);
            const result = await runAmiImport(ctx.config, file, {
              format: opts.format,
              actor: 'cli',
              onHeapRetry: heapRetryWarning(ctx.log, file),
            });
            const { ok, reason } = importOutcome(result);
            outcomes.push({ file, state: ok ? 'done' : 'failed', reason, result });
          } catch (err) {
            if (!isFileProblem(err)) throw err;
            const why = err instanceof AppError ? err.message : `cannot read ${file}: ${errorMessage(err)}`;
            outcomes.push({ file, state: 'failed', reason: why, result: null });
          }
        }
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
