import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { AppError } from '../../errors.js';
import { LedgerService } from '../../flows/prebill/ledger-service.js';
import { findReport, REPORT_NAMES, toCsv } from '../../flows/reports/reports.js';
import type { CliKit } from './dock-cli.js';
import { formatTable } from './output.js';

/** `fieldgate report <name> [--param key=value …] --format csv|json|table [--out file]`. */
export function registerReportCommand(program: Command, kit: CliKit): void {
  program
    .command('report <name>')
    .description(`print a report: ${REPORT_NAMES.join(', ')}`)
    .option(
      '--param <key=value...>',
      'report parameters, e.g. --param cycle=2026-11 (see the report list in docs/console.md)',
    )
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'csv', 'json']).default('table'))
    .option('--out <file>', 'write to a file instead of stdout')
    .action(
      async (name: string, opts: { param?: string[]; format: 'table' | 'csv' | 'json'; out?: string }, cmd: Command) =>
        kit.withContext(cmd, async (ctx) => {
          const report = findReport(name);
          if (!report)
            throw new AppError('USAGE', `no report named ${name} (there are: ${REPORT_NAMES.join(', ')})`, {
              field: 'name',
            });
          const raw: Record<string, string> = {};
          for (const p of opts.param ?? []) {
            const eq = p.indexOf('=');
            if (eq < 1) throw new AppError('USAGE', `--param ${p}: expected key=value`, { field: 'param' });
            raw[p.slice(0, eq)] = p.slice(eq + 1);
          }
          const parsed = report.params.strict().safeParse(raw);
          if (!parsed.success) {
            const issue = parsed.error.issues[0]!;
            throw new AppError('USAGE', `--param ${issue.path.join('.') || '(unknown)'}: ${issue.message}`, {
              field: String(issue.path[0] ?? 'param'),
            });
          }
          const table = await report.run({ ctx, ledger: new LedgerService(ctx, 0, 0) }, parsed.data);
          const text =
            opts.format === 'csv'
              ? toCsv(table)
              : opts.format === 'json'
                ? `${JSON.stringify({ report: name, params: parsed.data, ...table }, null, 2)}\n`
                : `${formatTable(table.rows.map((r) => Object.fromEntries(table.columns.map((c) => [c, r[c]]))))}\n`;
          if (opts.out) {
            await writeFile(opts.out, text);
            console.error(`${table.rows.length} row(s) written to ${opts.out}`);
          } else process.stdout.write(text);
        }),
    );
}
