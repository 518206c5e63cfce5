import { Option, type Command } from 'commander';
import type { AmiFormat, AmiImportResult } from '../ami/import-ami.js';
import { heapRetryWarning, runAmiImport } from '../ami/import-runner.js';
import type { CliKit } from './dock-cli.js';
import { describeImport } from '../ami/describe.js';

/** `fieldgate ami import <file…>`: AMI files by hand, the same import the drop folder runs. */
export function registerAmiCommands(program: Command, kit: CliKit): void {
  const ami = program.command('ami').description('AMI interval data: CMEP, Green Button ESPI and NEM12 files');
  ami
    .command('import <files...>')
    .description('import AMI files: VEE, intervals stored, daily reads queued for billing; the same file twice changes nothing')
    .addOption(new Option('--format <format>', 'the format (default: from the file)').choices(['cmep', 'espi', 'nem12']))
    .option('--json', 'print JSON')
    .action(async (files: string[], opts: { format?: AmiFormat; json?: boolean }, cmd: Command) =>
      kit.withContext(cmd, async (ctx) => {
        const results: AmiImportResult[] = [];
        for (const file of files) results.push(await runAmiImport(ctx.config, file, { format: opts.format, actor: 'cli', onHeapRetry: heapRetryWarning(ctx.log, file) }));
        kit.print(Boolean(opts.json), results.length === 1 ? results[0] : results, () => results.map(describeImport).join('\n'));
      }),
    );
}
